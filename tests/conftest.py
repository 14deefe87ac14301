"""Fixtures shared by all test packages."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import hypothesis  # noqa: F401 - imported before the limit changes, see below
import pytest

from openeo_dedl.config.sites import default_sites
from tests.postgres import (  # noqa: F401 - shared fixtures
    database_url,
    empty_database_url,
    module_database_url,
    postgres_server_url,
)
from tests.support.stac_api import demo_stac_api, stac_api  # noqa: F401 - shared fixtures

# openeo-pg-parser-networkx raises the recursion limit when imported. On CPython 3.11.7 a change
# of the limit after pytest started rewriting test modules breaks the rewriter ("AST constructor
# recursion depth mismatch"), so set the same limit before any test module is collected, and
# import hypothesis first: its pytest plugin would import (and rewrite) it late otherwise.
sys.setrecursionlimit(16385)

# The sites' local Dask clusters run their workers as threads in the tests (servers started
# here inherit it): a worker process per site and run cost ~4 s of CPU each to start, and on a
# busy 2-core machine their nannies timed out. Tests of what only worker processes show (a
# Dask worker killed, per-worker memory) configure their sites themselves, and the embedded
# default outside the tests keeps processes (config/sites.py).
os.environ.setdefault(
    "OPENEO_DEDL_SITES",
    json.dumps(
        [
            {
                **site.model_dump(exclude={"cluster"}),
                "cluster": {"kind": "local", "processes": False},
            }
            for site in default_sites()
        ]
    ),
)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="module")
def dask_worker_processes():
    """The embedded default's sites (Dask workers as processes) for a module whose tests look
    at those processes: ``pytestmark = pytest.mark.usefixtures("dask_worker_processes")``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OPENEO_DEDL_SITES", raising=False)
        yield


TEST_DEMO_CATALOG = REPO / "var" / "test-demo-catalog"


def _generate_test_demo_catalog() -> Path:
    from openeo_dedl.demo_data import generate_demo_catalog

    return generate_demo_catalog(TEST_DEMO_CATALOG, size="small").parent


def pytest_sessionstart(session):
    """The demo catalog is made before the test processes start (``-n 2``): two generating it
    at once would remove each other's unfinished copies."""
    if not hasattr(session.config, "workerinput"):
        _generate_test_demo_catalog()


@pytest.fixture(scope="session")
def demo_catalog_dir() -> Path:
    """The small demo catalog, generated once and reused across runs (it is deterministic)."""
    return _generate_test_demo_catalog()


@pytest.fixture(autouse=True)
def _no_leaked_dask_scheduler():
    """A distributed Client made the default in one test must not be another test's scheduler."""
    yield
    import dask

    dask.config.config.pop("scheduler", None)
    dask.config.config.pop("shuffle", None)
