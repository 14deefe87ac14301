"""A real openeo-dedl server (uvicorn in a subprocess) for end-to-end tests."""

from __future__ import annotations

import pytest

from tests.support.servers import running_server


@pytest.fixture(scope="session")
def server(tmp_path_factory, demo_catalog_dir):
    """Base URL of a running server on the embedded default with the small demo catalog."""
    with running_server(tmp_path_factory.mktemp("server"), demo_catalog_dir) as url:
        yield url


@pytest.fixture(scope="session")
def connection(server):
    import openeo

    return openeo.connect(server).authenticate_basic("demo", "demo")
