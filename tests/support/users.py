"""The basic users of the tests and how they log in (TestClient or a real server's URL)."""

from __future__ import annotations

import base64
from pathlib import Path

import bcrypt
import requests

from openeo_dedl.config import Settings, UserConfig

API = "/openeo/1.2"
# Two basic users besides the built-in ``demo``; cheap hashes: the tests log in often and do
# not test bcrypt.
USERS = {"alice": "alice-pw", "bob": "bob-pw"}
_HASHES = {u: bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode() for u, p in USERS.items()}


def user_configs() -> list[UserConfig]:
    """``alice`` and ``bob`` as configured users (passwords in ``USERS``)."""
    return [UserConfig(username=u, password_hash=h) for u, h in _HASHES.items()]


def two_users_settings(data_dir: Path, **overrides) -> Settings:
    """Settings with the basic users ``alice`` and ``bob`` (passwords in ``USERS``)."""
    return Settings(data_dir=data_dir, users=user_configs(), **overrides)


def basic(username: str, password: str) -> dict[str, str]:
    """An HTTP Basic ``Authorization`` header."""
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(access_token: str) -> dict[str, str]:
    """The ``Authorization`` header of a basic-auth access token."""
    return {"Authorization": f"Bearer basic//{access_token}"}


def login(client, user: str, password: str | None = None) -> dict[str, str]:
    """Log ``user`` in through a TestClient; the bearer header (password from ``USERS``)."""
    resp = client.get(f"{API}/credentials/basic", headers=basic(user, password or USERS[user]))
    assert resp.status_code == 200, resp.text
    return bearer(resp.json()["access_token"])


def login_url(url: str, user: str = "demo", password: str | None = None) -> dict[str, str]:
    """Log ``user`` in on the server at ``url`` (without the API prefix); the bearer header."""
    password = password or USERS.get(user, user)
    resp = requests.get(f"{url}{API}/credentials/basic", auth=(user, password), timeout=10)
    assert resp.status_code == 200, resp.text
    return bearer(resp.json()["access_token"])
