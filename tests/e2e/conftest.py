"""A real openeo-dedl server (uvicorn in a subprocess) for end-to-end tests."""

from __future__ import annotations

import json

import pytest

from tests.support.servers import running_server
from tests.support.users import USERS, login_url, user_configs

# The API versions the server speaks: 1.3 is what a client finds for the bare host.
API_VERSIONS = ("1.2.0", "1.3.0")


@pytest.fixture(scope="session")
def server(tmp_path_factory, demo_catalog_dir):
    """Base URL of a running server on the embedded default with the small demo catalog."""
    with running_server(tmp_path_factory.mktemp("server"), demo_catalog_dir) as url:
        yield url


@pytest.fixture(scope="session")
def connection(server):
    """The Python client logged in on the bare host: its discovery picks the newest version."""
    import openeo

    return openeo.connect(server).authenticate_basic("demo", "demo")


@pytest.fixture(scope="session", params=API_VERSIONS)
def versioned_connection(request, server):
    """The Python client logged in on each API version (1.3: the bare host's, discovered; 1.2:
    its prefix given), for the scenarios that run on every version."""
    import openeo

    if request.param == API_VERSIONS[-1]:
        con = request.getfixturevalue("connection")
    else:
        segment = ".".join(request.param.split(".")[:2])
        con = openeo.connect(f"{server}/openeo/{segment}").authenticate_basic("demo", "demo")
    assert con.capabilities().api_version() == request.param
    return con


@pytest.fixture(scope="session")
def exports_dir(tmp_path_factory):
    """The folder of the extensions server's workspace ``shared``."""
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="session")
def extensions_server(tmp_path_factory, demo_catalog_dir, exports_dir):
    """A server for the 1.3 extensions' tests, with the users alice and bob: a workspace
    ``shared`` (``exports_dir``); every user may ask for 1 worker per site, alice (the careful
    one) for 2."""
    workspaces = [{"id": "shared", "title": "Shared results", "url": str(exports_dir)}]
    with running_server(
        tmp_path_factory.mktemp("extensions"),
        demo_catalog_dir,
        OPENEO_DEDL_USERS=json.dumps([u.model_dump() for u in user_configs()]),
        OPENEO_DEDL_EXPORT_WORKSPACES=json.dumps(workspaces),
        OPENEO_DEDL_PROCESSING__MAX_WORKERS_PER_SITE="1",
        OPENEO_DEDL_PROCESSING__USER_MAX_WORKERS_PER_SITE=json.dumps({"alice": 2}),
    ) as url:
        yield url


@pytest.fixture(scope="session")
def alice(extensions_server):
    return login_url(extensions_server, "alice", USERS["alice"])


@pytest.fixture(scope="session")
def bob(extensions_server):
    return login_url(extensions_server, "bob", USERS["bob"])
