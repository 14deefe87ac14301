"""An app on the real Backend with the basic users alice and bob, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from openeo_dedl.api.app import create_app
from openeo_dedl.config import Settings
from tests.api.conftest import check_spec, openapi, openapi_dict  # noqa: F401 - fixtures
from tests.files.conftest import login, two_users_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def settings(tmp_path_factory, demo_catalog_dir, module_database_url) -> Settings:
    """Each module on SQLite, then on PostgreSQL."""
    return two_users_settings(
        tmp_path_factory.mktemp("udps"),
        demo_catalog_dir=demo_catalog_dir,
        database_url=module_database_url,
    )


@pytest.fixture(scope="module")
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def alice(client) -> dict[str, str]:
    return login(client, "alice")


@pytest.fixture(scope="module")
def bob(client) -> dict[str, str]:
    return login(client, "bob")
