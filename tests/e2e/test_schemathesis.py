"""A bounded schemathesis run over the openEO API spec against a real server: no 5xx at all.

Every operation of the spec (those we do not offer included: they must be a 4xx too) gets
requests that fit its schema (positive) and that do not (negative), as the demo user. The run is
derandomized (the same requests each time, so a failure reproduces) and bounded by
``EXAMPLES`` per operation and mode (about a minute here). Each server error is collected, with the
curl command that reproduces it, and all of them are reported at the end.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
import yaml

from tests.conftest import SHARED
from tests.support.servers import start_server, stop_server

pytestmark = pytest.mark.e2e

SPEC_PATH = SHARED / "openeo-specs" / "openeo-api" / "openapi.yaml"
EXAMPLES = 10
# For the operations the server does not offer (not in its capabilities: 404 or 405 whatever
# the request), a few examples show that.
EXAMPLES_NOT_OFFERED = 3
# Far above any answer this run should see; a slow answer is reported, not waited for long.
REQUEST_TIMEOUT = 60


@pytest.fixture(scope="module")
def own_server(tmp_path_factory, demo_catalog_dir):
    """A server of its own: the run creates jobs, files and processes other tests must not see."""
    data_dir = tmp_path_factory.mktemp("schemathesis")
    proc, url, log_path = start_server(data_dir, demo_catalog_dir)
    yield url
    stop_server(proc)
    print(log_path.read_text()[-5000:])


def _schema(server: str):
    import schemathesis

    if not SPEC_PATH.exists():
        pytest.skip(f"openEO API spec not found at {SPEC_PATH} (../shared beside the repo)")
    # Through JSON: yaml turns the spec's example timestamps into datetimes.
    spec = json.loads(json.dumps(yaml.safe_load(SPEC_PATH.read_text()), default=str))
    spec["servers"] = [{"url": f"{server}/openeo/1.2"}]
    # Served at the server root, outside the versioned API (tests/e2e/test_openapi_compliance).
    del spec["paths"]["/.well-known/openeo"]
    return schemathesis.openapi.from_dict(spec)


def _server_errors(operation, mode, examples: int, base_url: str, session, headers) -> list[str]:
    """Run ``examples`` requests of ``operation`` in generation ``mode``; every one that got a
    server error (or no answer), with the curl command that reproduces it."""
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup

    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case) -> None:
        response = None
        try:
            response = case.call(
                base_url=base_url, session=session, headers=headers, timeout=REQUEST_TIMEOUT
            )
            case.validate_response(response, checks=[not_a_server_error])
        # A 5xx (schemathesis raises a FailureGroup, a BaseException), a reset connection, a
        # timeout: recorded, and the run goes on.
        except (FailureGroup, Exception) as exc:
            got = (
                f"{response.status_code} {response.text[:300]}"
                if response is not None
                else f"{type(exc).__name__}: {str(exc)[:300]}"
            )
            failures.append(f"{operation.label} ({mode.value}): {got}\n  {case.as_curl_command()}")

    call()
    return failures


def test_no_request_of_the_spec_gets_a_server_error(own_server):
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.core.errors import UnsupportedSchema

    schema = _schema(own_server)
    base_url = f"{own_server}/openeo/1.2"
    token = requests.get(f"{base_url}/credentials/basic", auth=("demo", "demo"), timeout=30)
    headers = {"Authorization": f"Bearer basic//{token.json()['access_token']}"}
    session = requests.Session()
    capabilities = requests.get(f"{base_url}/", timeout=30).json()
    offered = {(e["path"], m) for e in capabilities["endpoints"] for m in e["methods"]}
    failures: list[str] = []
    skipped: list[str] = []
    operations = 0
    started = time.monotonic()

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        offers = (operation.path, operation.method.upper()) in offered
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                failures += _server_errors(
                    operation,
                    mode,
                    EXAMPLES if offers else EXAMPLES_NOT_OFFERED,
                    base_url,
                    session,
                    headers,
                )
            except Unsatisfiable:
                # Negative requests of an operation without parameters or body: none exist.
                pass
            except UnsupportedSchema as exc:
                # A schema part schemathesis cannot invert (a `not` in negative mode).
                skipped.append(f"{operation.label} ({mode.value}): {exc}")

    elapsed = time.monotonic() - started
    print(f"schemathesis: {operations} operations in {elapsed:.0f} s; not generated: {skipped}")
    assert operations >= 35, "the spec has fewer operations than expected: loaded wrongly?"
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:30])
