"""Fixtures of the OIDC tests: a real test provider and an app that trusts it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from openeo_dedl.api.app import create_app
from openeo_dedl.config import Settings
from tests.api.conftest import (  # noqa: F401 - fixtures used here
    StubBackend,
    check_spec,
    openapi,
    openapi_dict,
    stub,
    stub_client,
    stub_settings,
)
from tests.auth_oidc.provider import Client, OidcTestProvider

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROVIDER_ID = "testidp"
# A subject with characters outside the user id pattern: the mapping must make it safe.
SUBJECT = "alice@example.org/ü"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcTestProvider]:
    idp = OidcTestProvider(clients={"robot": Client(secret="robot-secret", sub=SUBJECT)})
    idp.start()
    yield idp
    idp.stop()


def oidc_settings(
    tmp_path, provider: OidcTestProvider, database_url: str | None = None, **provider_overrides
) -> Settings:
    """Settings with the test provider (and a public default client) configured."""
    entry = {
        "id": PROVIDER_ID,
        "issuer": provider.issuer,
        "title": "Test IdP",
        "description": "The provider of the tests.",
        "scopes": ["openid", "profile"],
        "default_clients": [
            {
                "id": "web-editor",
                "grant_types": ["authorization_code+pkce", "refresh_token"],
                "redirect_urls": ["https://editor.openeo.org/"],
            }
        ],
        **provider_overrides,
    }
    return Settings(data_dir=tmp_path / "data", database_url=database_url, oidc_providers=[entry])


@pytest.fixture(scope="module")
def oidc_client(tmp_path_factory, provider) -> Iterator[TestClient]:
    settings = oidc_settings(tmp_path_factory.mktemp("oidc"), provider)
    app = create_app(settings, StubBackend(settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
