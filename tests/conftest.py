"""Fixtures shared by all test packages."""

from __future__ import annotations

import sys
from pathlib import Path

import hypothesis  # noqa: F401 - imported before the limit changes, see below
import pytest

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

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def demo_catalog_dir() -> Path:
    """The small demo catalog, generated once and reused across runs (it is deterministic)."""
    from openeo_dedl.demo_data import generate_demo_catalog

    out = REPO / "var" / "test-demo-catalog"
    return generate_demo_catalog(out, size="small").parent


@pytest.fixture(autouse=True)
def _no_leaked_dask_scheduler():
    """A distributed Client made the default in one test must not be another test's scheduler."""
    yield
    import dask

    dask.config.config.pop("scheduler", None)
    dask.config.config.pop("shuffle", None)
