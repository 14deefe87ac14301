"""Basic login, bearer tokens and the token secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import time

import bcrypt
import pytest

from openeo_dedl.api.auth import Authenticator, load_secret
from openeo_dedl.config import Settings, UserConfig
from openeo_dedl.errors import OpenEOError
from tests.api.conftest import assert_openeo_error
from tests.support.users import basic


def test_basic_login_issues_a_token_that_opens_me(client):
    resp = client.get("/openeo/1.2/credentials/basic", headers=basic("demo", "demo"))
    assert resp.status_code == 200
    token = resp.json()["access_token"]
    assert not token.startswith("basic//")  # the spec: the prefix is the client's to add
    me = client.get("/openeo/1.2/me", headers={"Authorization": f"Bearer basic//{token}"})
    assert me.status_code == 200
    assert me.json()["user_id"] == "demo"


@pytest.mark.parametrize(
    "headers",
    [
        basic("demo", "wrong"),
        basic("nobody", "demo"),
        basic("demo", ""),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        basic("demo", "x" * 100),
    ],  # bcrypt refuses > 72 bytes: still just wrong credentials
)
def test_wrong_credentials(client, headers):
    resp = client.get("/openeo/1.2/credentials/basic", headers=headers)
    assert_openeo_error(resp, 403, "CredentialsInvalid")


def test_credentials_missing_or_of_another_scheme(client):
    assert_openeo_error(client.get("/openeo/1.2/credentials/basic"), 401, "AuthenticationRequired")
    resp = client.get("/openeo/1.2/credentials/basic", headers={"Authorization": "Bearer x"})
    assert_openeo_error(resp, 403, "AuthenticationSchemeInvalid")


def test_protected_endpoints_need_a_token(client):
    assert_openeo_error(client.get("/openeo/1.2/me"), 401, "AuthenticationRequired")
    resp = client.post("/openeo/1.2/result", json={"process": {"process_graph": {}}})
    assert_openeo_error(resp, 401, "AuthenticationRequired")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer basic//garbage", "TokenInvalid"),
        ("Bearer basic//", "TokenInvalid"),
        ("Bearer basic//a.b.c", "TokenInvalid"),
        ("Bearer basic//ZGVtbw.99999999999.AAAA", "TokenInvalid"),
        ("Bearer oidc/egi/eyJhbGciOi", "AuthenticationSchemeInvalid"),
        ("Bearer eyJhbGciOi", "AuthenticationSchemeInvalid"),
        ("Basic ZGVtbzpkZW1v", "AuthenticationSchemeInvalid"),
    ],
)
def test_bad_tokens_and_schemes(client, header, code):
    resp = client.get("/openeo/1.2/me", headers={"Authorization": header})
    body = assert_openeo_error(resp, 403, code)
    assert "eyJhbGciOi" not in body["message"]  # tokens are never echoed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_tampered_token_is_refused(client, token):
    header, payload, sig = token.split(".")
    claims = _claims(token)
    assert claims["sub"] == "demo" and claims["exp"] > claims["iat"]
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    for forged in (
        f"{header}.{_b64(json.dumps({**claims, 'exp': claims['exp'] + 3600}).encode())}.{sig}",
        f"{header}.{_b64(json.dumps({**claims, 'sub': 'admin'}).encode())}.{sig}",
        f"{header}.{payload}.{sig[:-2]}AA",
        f"{none_header}.{payload}.",  # unsigned
    ):
        resp = client.get("/openeo/1.2/me", headers={"Authorization": f"Bearer basic//{forged}"})
        assert_openeo_error(resp, 403, "TokenInvalid")


def _v1_token(settings: Settings, user_id: str, expiry: int) -> str:
    """A token of the first version, before the JWTs (see openeo_dedl/api/auth.py)."""
    stored = next(u.password_hash for u in settings.users if u.username == user_id).encode()
    payload = f"{_b64(user_id.encode())}.{expiry}"
    message = b"|".join([b"openeo-dedl-token-v1", payload.encode(), stored])
    return f"{payload}.{_b64(hmac.new(load_secret(settings), message, hashlib.sha256).digest())}"


def test_tokens_of_the_first_version_work_until_they_expire(users_settings):
    auth = Authenticator(users_settings)
    token = _v1_token(users_settings, "alice", int(time.time()) + 60)
    assert auth.check_bearer(f"Bearer basic//{token}").user_id == "alice"
    user, expiry, sig = token.split(".")
    for forged in (
        f"{user}.{int(expiry) + 3600}.{sig}",  # extended lifetime
        f"{_b64(b'admin')}.{expiry}.{sig}",
        f"{user}.{expiry}.{sig[:-2]}AA",
        _v1_token(users_settings, "alice", int(time.time()) - 1),  # expired
    ):
        with pytest.raises(OpenEOError) as info:
            auth.check_bearer(f"Bearer basic//{forged}")
        assert info.value.code == "TokenInvalid"


def test_bearer_scheme_is_case_insensitive(client, token):
    resp = client.get("/openeo/1.2/me", headers={"Authorization": f"bearer basic//{token}"})
    assert resp.status_code == 200


@pytest.fixture
def users_settings(tmp_path) -> Settings:
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    return Settings(
        data_dir=tmp_path,
        users=[UserConfig(username="alice", password_hash=hashed)],
        token_lifetime_seconds=60,
    )


def test_tokens_expire(users_settings, monkeypatch):
    auth = Authenticator(users_settings)
    token = auth.issue_token("alice")
    assert auth.check_bearer(f"Bearer basic//{token}").user_id == "alice"
    # Issued 61 s ago with a lifetime of 60 s: expired now.
    earlier = time.time() - 61
    monkeypatch.setattr("openeo_dedl.api.auth.time.time", lambda: earlier)
    old = auth.issue_token("alice")
    monkeypatch.undo()
    with pytest.raises(OpenEOError) as info:
        auth.check_bearer(f"Bearer basic//{old}")
    assert info.value.code == "TokenInvalid"


def test_tokens_die_with_a_password_change_or_removed_user(users_settings):
    token = Authenticator(users_settings).issue_token("alice")
    changed = users_settings.model_copy(
        update={
            "users": [
                UserConfig(
                    username="alice",
                    password_hash=bcrypt.hashpw(b"new", bcrypt.gensalt(4)).decode(),
                )
            ]
        }
    )
    removed = users_settings.model_copy(update={"users": []})
    for settings in (changed, removed):
        with pytest.raises(OpenEOError) as info:
            Authenticator(settings).check_bearer(f"Bearer basic//{token}")
        assert info.value.code == "TokenInvalid"


def test_tokens_survive_a_restart_with_the_same_data_dir(users_settings):
    token = Authenticator(users_settings).issue_token("alice")
    assert Authenticator(users_settings).check_bearer(f"Bearer basic//{token}").user_id == "alice"
    other = users_settings.model_copy(update={"data_dir": users_settings.data_dir / "other"})
    with pytest.raises(OpenEOError):
        Authenticator(other).check_bearer(f"Bearer basic//{token}")


def test_secret_file_is_private_and_reused(tmp_path):
    settings = Settings(data_dir=tmp_path / "fresh")
    secret = load_secret(settings)
    path = tmp_path / "fresh" / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) >= 32
    assert load_secret(settings) == secret
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary left


def test_configured_secret_wins_and_no_file_is_written(tmp_path):
    settings = Settings(data_dir=tmp_path, token_secret="a-configured-secret-of-some-length")
    assert load_secret(settings) == b"a-configured-secret-of-some-length"
    assert not (tmp_path / "secret").exists()
    token = Authenticator(settings).issue_token("demo")
    fresh = Authenticator(Settings(data_dir=tmp_path / "x", token_secret=settings.token_secret))
    assert fresh.check_bearer(f"Bearer basic//{token}").user_id == "demo"


def test_an_empty_secret_file_is_refused(tmp_path):
    (tmp_path / "secret").write_text("")
    os.chmod(tmp_path / "secret", 0o600)
    with pytest.raises(RuntimeError, match="no usable secret"):
        load_secret(Settings(data_dir=tmp_path))
