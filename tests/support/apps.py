"""Fixtures of an app on the real Backend with the users ``alice`` and ``bob``, per test
module, on SQLite and then on PostgreSQL (``module_database_url``). A conftest imports them:
``from tests.support.apps import alice, bob, client, settings``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():
    # Starlette prefers httpx2 for its TestClient; httpx works and is what we have.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from openeo_dedl.api.app import create_app
from openeo_dedl.config import Settings
from tests.support.users import login, two_users_settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory, demo_catalog_dir, module_database_url) -> Settings:
    return two_users_settings(
        tmp_path_factory.mktemp("data"),
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
