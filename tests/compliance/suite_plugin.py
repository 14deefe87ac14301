"""pytest plugin loaded into the openeo-test-suite run (``-p suite_plugin``), in its own venv.

It adapts the suite to an offline test run without changing what it checks:

- The ``general`` and ``processes.processing`` groups always log in with OIDC (they call
  ``Connection.authenticate_oidc()`` unconditionally). With ``OPENEO_AUTH_METHOD=basic`` (the
  option the suite's other groups honour) that call logs in with basic auth instead
  (``OPENEO_AUTH_BASIC_USERNAME`` / ``_PASSWORD``), and the tests use its bearer token.
- ``stac-validator`` downloads the STAC JSON schemas (and jsonschema resolves their ``$ref``s
  online). The schemas under ``STAC_SCHEMAS_DIR`` (a copy of https://schemas.stacspec.org) and
  the GeoJSON schemas bundled with pystac are used instead; a schema missing there is an error,
  as a download failure would be.
- ``expected_failures.json`` (next to this file) lists the tests expected to fail, with the
  reason: suite defects (``xfail`` strict: they must keep failing), features this backend lacks
  (``xfail``, may pass), and rules for processing tests recognised by their arguments.
- The suite's ``wait_job_statuses`` polls until every job has one of the wanted statuses or its
  timeout (up to 160 s) passes. Its batch job fails here (``expected_failures.json``), and a job
  in a final status (``finished``, ``canceled``, ``error``) changes only when it is started
  again, which the waiting test does not do: the wait then ends at once with the result of a
  timeout (``False``). The test goes on against the same job states, so it checks the same.

This module runs inside the suite's venv: standard library, pytest and the suite's own
dependencies only.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import time
from pathlib import Path

import pytest

STAC_HOST = "https://schemas.stacspec.org/"
EXPECTED_FAILURES = Path(__file__).with_name("expected_failures.json")
# Kinds of entries in expected_failures.json and whether their xfail is strict by default.
KINDS = {
    "suite_defects": True,
    "missing_features": False,
    "intentional_deviations": False,
    "offline": False,
}


def _stac_schemas_dir() -> Path:
    return Path(os.environ["STAC_SCHEMAS_DIR"])


def _local_schema(url: str) -> dict:
    if not url.startswith(STAC_HOST):
        raise ValueError(f"schema {url} is not available offline")
    path = _stac_schemas_dir() / "schemas.stacspec.org" / url[len(STAC_HOST) :].split("#")[0]
    return json.loads(path.read_text())


def _geojson_schemas() -> list[Path]:
    """The GeoJSON schemas (https://geojson.org/schema/Feature.json, Geometry.json) that
    pystac, one of the suite's dependencies, bundles: the STAC item schema refers to them."""
    import pystac

    return sorted((Path(pystac.__file__).parent / "validation/jsonschemas/geojson").glob("*.json"))


def _stac_registry():
    import jsonschema_specifications

    resources = []
    from referencing import Resource

    for path in [*sorted(_stac_schemas_dir().rglob("*.json")), *_geojson_schemas()]:
        contents = json.loads(path.read_text())
        uri = contents.get("$id", "").split("#")[0]
        if uri:
            resources.append((uri, Resource.from_contents(contents)))
    return jsonschema_specifications.REGISTRY.with_resources(resources)


def _patch_stac_validator() -> None:
    from jsonschema.validators import validator_for
    from stac_validator import validate as stac_validate

    registry = _stac_registry()

    def custom_validator(self) -> None:
        schema = _local_schema(self.schema)
        cls = validator_for(schema)
        cls(schema, registry=registry).validate(self.stac_content)

    stac_validate.StacValidate.custom_validator = custom_validator


def _patch_oidc_login() -> None:
    import openeo

    def authenticate_oidc(self, *args, **kwargs):
        return self.authenticate_basic(
            username=os.environ["OPENEO_AUTH_BASIC_USERNAME"],
            password=os.environ["OPENEO_AUTH_BASIC_PASSWORD"],
        )

    openeo.Connection.authenticate_oidc = authenticate_oidc


# Job statuses that stay as they are until the job is started again (openEO API, job status).
FINAL_JOB_STATUSES = frozenset({"finished", "canceled", "error"})


def _patch_job_wait() -> None:
    from openeo_test_suite.lib import compliance_util

    def wait_job_statuses(base_url, bearer_token, job_ids, job_statuses, timeout=10):
        # As the suite's (same polling, same result), but a job in a final status that is not
        # wanted cannot reach one that is: waiting out the timeout would change nothing.
        end_time = time.time() + timeout
        while time.time() < end_time:
            statuses = [
                compliance_util.get_batch_job_status(
                    base_url=base_url, bearer_token=bearer_token, job_id=job_id
                )
                for job_id in job_ids
            ]
            if all(status in job_statuses for status in statuses):
                return True
            if any(s in FINAL_JOB_STATUSES and s not in job_statuses for s in statuses):
                return False
            time.sleep(1)
        return False

    # post_start_jobs calls it by its module name, the tests as conformance_util.<name>.
    compliance_util.wait_job_statuses = wait_job_statuses


def pytest_configure(config: pytest.Config) -> None:
    _patch_job_wait()
    if os.environ.get("STAC_SCHEMAS_DIR"):
        _patch_stac_validator()
    if os.environ.get("OPENEO_AUTH_METHOD") == "basic":
        _patch_oidc_login()


def _expected_failures() -> dict:
    return json.loads(EXPECTED_FAILURES.read_text())


def _has_non_json_number(value) -> bool:
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, dict):
        return any(_has_non_json_number(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_json_number(v) for v in value)
    return False


def _has_bare_flat_graph(arguments: dict) -> bool:
    """A callback given as {"node": {"process_id": ...}} instead of {"process_graph": {...}}."""
    return any(
        isinstance(v, dict)
        and "process_graph" not in v
        and any(isinstance(n, dict) and "process_id" in n for n in v.values())
        for v in arguments.values()
    )


def _comparable(value):
    """NaN and infinities as strings, as expected_failures.json writes them."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return value


def _processing_reason(item: pytest.Item, expected: dict) -> str | None:
    """Why a processing test is expected to fail (a rule or a listed case), if it is."""
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("example") if callspec else None
    if not isinstance(example, dict):
        return None
    arguments = example.get("arguments", {})
    for case in expected["processing_cases"]:
        if case["process"] == callspec.params.get("process_id") and case[
            "arguments"
        ] == _comparable(arguments):
            return case["reason"]
    rule = _rule(example, arguments)
    return expected["rules"][rule] if rule else None


def _rule(example: dict, arguments: dict) -> str | None:
    """The rule in expected_failures.json that a processing test falls under, if any."""
    if _has_non_json_number(arguments):
        return "non_json_arguments"
    if "returns" in example and _has_non_json_number(example["returns"]):
        return "non_json_returns"
    if _has_bare_flat_graph(arguments):
        return "bare_flat_graph_callback"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    expected = _expected_failures()
    for item in items:
        # Node ids relative to the suite's package: "tests/general/test_compliance.py::..."
        nodeid = item.nodeid.split("openeo_test_suite/", 1)[-1]
        reason = _processing_reason(item, expected)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
            continue
        for kind, strict in KINDS.items():
            for entry in expected.get(kind, []):
                pattern = entry["test"]
                # Exact ids first: parametrised ids hold brackets, which fnmatch reads as sets.
                if nodeid == pattern or fnmatch.fnmatchcase(nodeid, pattern):
                    strict = entry.get("strict", strict)
                    item.add_marker(pytest.mark.xfail(reason=entry["reason"], strict=strict))
