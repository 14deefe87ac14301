"""The official openEO compliance suite (openeo-test-suite) against a real server.

One test per group of the suite: it runs in a subprocess (its own venv, see ``suite.py``) with a
junit-xml report and must show no unexpected failure. Expected failures (defects of the suite,
features this back-end lacks) are marked in ``expected_failures.json``; docs/compliance.md lists
them with the counts (``python -m tests.compliance.report``).
"""

from __future__ import annotations

import pytest

from tests.compliance.suite import GROUPS, SUITE_API, ensure_suite_venv, run_group
from tests.support.servers import start_server, stop_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def suite_server(tmp_path_factory, demo_catalog_dir):
    ensure_suite_venv()  # first use installs the suite; not part of any group's run
    data_dir = tmp_path_factory.mktemp("compliance-server")
    proc, url, log_path = start_server(data_dir, demo_catalog_dir)
    yield url + SUITE_API
    stop_server(proc)


@pytest.mark.parametrize("group", list(GROUPS))
def test_compliance_group(group, suite_server, tmp_path):
    result = run_group(group, suite_server, tmp_path)
    ran = sum(result.counts.values())
    assert ran > 0, f"{group}: the suite ran no tests\n{result.output}"
    assert result.counts["passed"] > 0, f"{group}: nothing passed\n{result.output}"
    details = "\n".join(f"  {name}: {message}" for name, message in result.failures)
    assert result.unexpected == 0, (
        f"{group}: {result.unexpected} unexpected failures {result.counts}\n{details}"
    )
