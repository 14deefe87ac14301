"""Fixtures shared by all test packages."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def demo_catalog_dir() -> Path:
    """The small demo catalog, generated once and reused across runs (it is deterministic)."""
    from openeo_dedl.demo_data import generate_demo_catalog

    out = REPO / "var" / "test-demo-catalog"
    return generate_demo_catalog(out, size="small").parent
