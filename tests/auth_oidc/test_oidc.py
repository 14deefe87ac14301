"""OpenID Connect login: providers listed per the spec, tokens checked against the real JWKS."""

from __future__ import annotations

import re
import time

import jwt
import pytest
import requests

from openeo_dedl.api.oidc import OidcVerifier, ProviderKeys, oidc_user_id
from openeo_dedl.config import Settings
from openeo_dedl.errors import OpenEOError
from tests.api.conftest import assert_openeo_error
from tests.auth_oidc.conftest import PROVIDER_ID, SUBJECT, oidc_settings
from tests.auth_oidc.provider import new_key

USER_ID_PATTERN = re.compile(r"^[\w\-\.~]+$")


def bearer(token: str, provider_id: str = PROVIDER_ID) -> dict[str, str]:
    return {"Authorization": f"Bearer oidc/{provider_id}/{token}"}


def test_providers_are_listed_per_the_spec(oidc_client, provider, check_spec):
    resp = check_spec(oidc_client.get("/openeo/1.2/credentials/oidc"))
    assert resp.status_code == 200
    (entry,) = resp.json()["providers"]
    assert entry["id"] == PROVIDER_ID
    assert entry["issuer"] == provider.issuer
    assert entry["scopes"] == ["openid", "profile"]
    assert entry["default_clients"] == [
        {
            "id": "web-editor",
            "grant_types": ["authorization_code+pkce", "refresh_token"],
            "redirect_urls": ["https://editor.openeo.org/"],
        }
    ]
    endpoints = oidc_client.get("/openeo/1.2/").json()["endpoints"]
    assert {"path": "/credentials/oidc", "methods": ["GET"]} in endpoints


def test_without_providers_there_is_no_oidc_endpoint(stub_client):
    assert_openeo_error(stub_client.get("/openeo/1.2/credentials/oidc"), 404, "NotFound")
    paths = {e["path"] for e in stub_client.get("/openeo/1.2/").json()["endpoints"]}
    assert "/credentials/oidc" not in paths


def test_a_valid_token_opens_me(oidc_client, provider):
    resp = oidc_client.get("/openeo/1.2/me", headers=bearer(provider.issue(SUBJECT)))
    assert resp.status_code == 200, resp.text
    user_id = resp.json()["user_id"]
    assert user_id == oidc_user_id(PROVIDER_ID, SUBJECT)
    assert USER_ID_PATTERN.match(user_id)
    assert user_id.startswith(f"{PROVIDER_ID}~alice~40example.org")


def test_token_from_the_token_endpoint_works(oidc_client, provider):
    token = requests.post(
        f"{provider.issuer}/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "robot",
            "client_secret": "robot-secret",
        },
        timeout=10,
    ).json()["access_token"]
    me = oidc_client.get("/openeo/1.2/me", headers=bearer(token))
    assert me.json()["user_id"] == oidc_user_id(PROVIDER_ID, SUBJECT)


def test_user_ids_are_distinct_and_safe():
    subjects = ["a", "A", "a~61", "a.b", "a/b", "a b", "../..", "ü", "", "x" * 200, "~"]
    ids = {oidc_user_id("p", s) for s in subjects}
    assert len(ids) == len(subjects)
    assert all(USER_ID_PATTERN.match(i) for i in ids)
    # Another provider's user with the same subject is another user.
    assert oidc_user_id("p", "a") != oidc_user_id("q", "a")


def _hs256_with_public_key(provider) -> str:
    # The classic algorithm confusion: HMAC "signed" with the provider's public key.
    from cryptography.hazmat.primitives import serialization

    pem = provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import hashlib
    import hmac as hmac_

    header = jwt.utils.base64url_encode(
        f'{{"alg":"HS256","typ":"JWT","kid":"{provider.kid}"}}'.encode()
    )
    body = jwt.utils.base64url_encode(
        f'{{"iss":"{provider.issuer}","sub":"x","exp":9999999999}}'.encode()
    )
    sig = jwt.utils.base64url_encode(hmac_.new(pem, header + b"." + body, hashlib.sha256).digest())
    return (header + b"." + body + b"." + sig).decode()


BAD_TOKENS = {
    "expired": lambda p: p.issue(SUBJECT, lifetime=-120),
    "wrong signature": lambda p: p.issue(SUBJECT, key=new_key()),
    "unknown key id": lambda p: p.issue(SUBJECT, key=new_key(), kid="not-a-kid"),
    "wrong issuer": lambda p: p.issue(SUBJECT, issuer="http://127.0.0.1:1/evil"),
    "no subject": lambda p: p.issue("", extra={"sub": ""}),
    "not yet valid": lambda p: p.issue(SUBJECT, extra={"nbf": 9999999999}),
    "alg none": lambda p: jwt.encode(
        {"iss": p.issuer, "sub": "x", "exp": 9999999999}, None, algorithm="none"
    ),
    "hs256 with public key": _hs256_with_public_key,
    "garbage": lambda p: "not-a-jwt",
    "tampered payload": lambda p: _tamper(p.issue(SUBJECT)),
}


def _tamper(token: str) -> str:
    header, _, sig = token.split(".")
    body = jwt.utils.base64url_encode(b'{"iss":"x","sub":"admin","exp":9999999999}').decode()
    return f"{header}.{body}.{sig}"


def test_a_plain_jwt_names_its_provider_by_issuer_on_api13(oidc_client, provider):
    plain = {"Authorization": f"Bearer {provider.issue(SUBJECT)}"}
    resp = oidc_client.get("/openeo/1.3/me", headers=plain)
    assert resp.status_code == 200, resp.text
    assert resp.json()["user_id"] == oidc_user_id(PROVIDER_ID, SUBJECT)
    # API 1.2 knows only the openEO token format.
    assert_openeo_error(
        oidc_client.get("/openeo/1.2/me", headers=plain), 403, "AuthenticationSchemeInvalid"
    )


# The openEO token format (API 1.2 and 1.3) and a plain JWT (1.3): refused alike.
FORMS = {"openeo": ("/openeo/1.2", bearer), "plain": ("/openeo/1.3", lambda t: {
    "Authorization": f"Bearer {t}"})}  # fmt: skip


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_tokens_are_refused(oidc_client, provider, case, form):
    token = BAD_TOKENS[case](provider)
    prefix, header = FORMS[form]
    body = assert_openeo_error(
        oidc_client.get(f"{prefix}/me", headers=header(token)), 403, "TokenInvalid"
    )
    assert token not in body["message"]


def test_unknown_provider_is_refused(oidc_client, provider):
    token = provider.issue(SUBJECT)
    for header in (bearer(token, "nosuchidp"), {"Authorization": f"Bearer oidc/{token}"}):
        assert_openeo_error(oidc_client.get("/openeo/1.2/me", headers=header), 403, "TokenInvalid")


def test_audience_is_checked_when_configured(tmp_path, provider):
    verifier = OidcVerifier(oidc_settings(tmp_path, provider, audience="openeo-dedl"))
    good = provider.issue(SUBJECT, extra={"aud": ["account", "openeo-dedl"]})
    by_azp = provider.issue(SUBJECT, extra={"aud": "account", "azp": "openeo-dedl"})
    wrong = provider.issue(SUBJECT, extra={"aud": "someone-else"})
    missing = provider.issue(SUBJECT)
    assert verifier.user_id(f"{PROVIDER_ID}/{good}") == oidc_user_id(PROVIDER_ID, SUBJECT)
    assert verifier.user_id(f"{PROVIDER_ID}/{by_azp}") == oidc_user_id(PROVIDER_ID, SUBJECT)
    for token in (wrong, missing):
        with pytest.raises(OpenEOError) as info:
            verifier.user_id(f"{PROVIDER_ID}/{token}")
        assert info.value.code == "TokenInvalid"


@pytest.mark.serial  # bounds wall-clock time: runs alone, after the others
def test_jwks_is_cached_and_refreshed_for_a_rotated_key(tmp_path, provider):
    settings = oidc_settings(tmp_path, provider)
    # Real time, short spans: an unknown key id may refresh after 3 s, the cache lives 6 s.
    keys = ProviderKeys(settings.oidc_providers[0], cache_seconds=6.0, min_refresh_seconds=3.0)
    verifier = OidcVerifier(settings)
    verifier._keys[PROVIDER_ID] = keys
    before = provider.jwks_requests
    for _ in range(3):
        verifier.user_id(f"{PROVIDER_ID}/{provider.issue(SUBJECT)}")
    fetched = time.monotonic()
    assert provider.jwks_requests == before + 1  # cached
    # Unknown key ids refresh at most every few seconds (a flood of them costs one fetch).
    for _ in range(3):
        with pytest.raises(OpenEOError):
            verifier.user_id(f"{PROVIDER_ID}/{provider.issue(SUBJECT, kid='nope', key=new_key())}")
    assert time.monotonic() - fetched < 3.0, "too slow to tell"
    assert provider.jwks_requests == before + 1
    old_token = provider.issue(SUBJECT)
    provider.rotate_key()
    time.sleep(max(0.0, fetched + 3.2 - time.monotonic()))
    assert verifier.user_id(f"{PROVIDER_ID}/{provider.issue(SUBJECT)}")  # new kid: refreshed
    refreshed = time.monotonic()
    assert provider.jwks_requests == before + 2
    with pytest.raises(OpenEOError) as info:  # the retired key is gone from the JWKS
        verifier.user_id(f"{PROVIDER_ID}/{old_token}")
    assert info.value.code == "TokenInvalid"
    # After the cache lifetime the keys are fetched again even for known ids.
    time.sleep(max(0.0, refreshed + 6.2 - time.monotonic()))
    verifier.user_id(f"{PROVIDER_ID}/{provider.issue(SUBJECT)}")
    assert provider.jwks_requests >= before + 3


def test_unreachable_provider_is_a_503_not_a_bad_token(tmp_path, provider):
    from tests.support.servers import free_port

    settings = Settings(
        data_dir=tmp_path,
        oidc_providers=[
            {"id": "down", "issuer": f"http://127.0.0.1:{free_port()}", "title": "Down"}
        ],
    )
    with pytest.raises(OpenEOError) as info:
        OidcVerifier(settings).user_id(f"down/{provider.issue(SUBJECT)}")
    assert (info.value.status, info.value.code) == (503, "ServiceUnavailable")


def test_basic_auth_still_works_next_to_oidc(oidc_client):
    from tests.support.users import basic

    resp = oidc_client.get("/openeo/1.2/credentials/basic", headers=basic("demo", "demo"))
    token = resp.json()["access_token"]
    me = oidc_client.get("/openeo/1.2/me", headers={"Authorization": f"Bearer basic//{token}"})
    assert me.json()["user_id"] == "demo"


@pytest.mark.parametrize(
    "entry",
    [
        {"id": "bad-id!", "issuer": "http://x", "title": "t"},
        {"id": "x" * 21, "issuer": "http://x", "title": "t"},
        {"id": "p", "issuer": "http://x", "title": "t", "scopes": ["profile"]},
        {
            "id": "p",
            "issuer": "http://x",
            "title": "t",
            "default_clients": [{"id": "c", "grant_types": ["client_secret_magic"]}],
        },
    ],
)
def test_bad_provider_settings_are_refused(tmp_path, entry):
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, oidc_providers=[entry])


def test_basic_user_names_cannot_look_like_oidc_users(tmp_path):
    for name in ("egi~abc", "..", ".", "a/b", "", "x" * 256):
        with pytest.raises(ValueError):
            Settings(data_dir=tmp_path, users=[{"username": name, "password_hash": "x"}])
