"""Basic authentication with bcrypt-hashed passwords and signed, expiring access tokens.

Clients exchange HTTP Basic credentials at ``GET /credentials/basic`` for a token and then send
``Authorization: Bearer basic//<token>``. Tokens are stateless: ``<user>.<expiry>.<signature>``
with an HMAC-SHA256 signature, so any server process holding the secret can check them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from fastapi import Request

from openeo_dedl.config import Settings
from openeo_dedl.errors import (
    AuthenticationRequired,
    AuthenticationSchemeInvalid,
    CredentialsInvalid,
    TokenInvalid,
)


@dataclass(frozen=True)
class User:
    user_id: str


def load_secret(settings: Settings) -> bytes:
    """The token-signing key: configured, or random and kept in ``<data_dir>/secret``."""
    if settings.token_secret is not None:
        return settings.token_secret.get_secret_value().encode()
    path = Path(settings.data_dir) / "secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Checks passwords, issues and verifies access tokens."""

    def __init__(self, settings: Settings):
        self._hashes = {u.username: u.password_hash.encode() for u in settings.users}
        self._secret = load_secret(settings)
        self._lifetime = settings.token_lifetime_seconds
        # A fixed hash to compare against for unknown users, so timing does not reveal them.
        self._dummy = bcrypt.hashpw(b"x", bcrypt.gensalt(4))

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def issue_token(self, username: str) -> str:
        payload = f"{_b64(username.encode())}.{int(time.time()) + self._lifetime}"
        return f"{payload}.{self._sign(payload)}"

    def check_basic(self, authorization: str | None) -> str:
        """The user name of valid HTTP Basic credentials."""
        if not authorization or not authorization.lower().startswith("basic "):
            raise AuthenticationRequired("Unauthorized: HTTP Basic credentials are required.")
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            username, _, password = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsInvalid("Credentials are not correct.") from None
        stored = self._hashes.get(username)
        if not bcrypt.checkpw(password.encode(), stored or self._dummy) or stored is None:
            raise CredentialsInvalid("Credentials are not correct.")
        return username

    def check_bearer(self, authorization: str | None) -> User:
        if not authorization:
            raise AuthenticationRequired("Unauthorized: this endpoint requires authentication.")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationSchemeInvalid(
                "Authentication method not supported: use 'Bearer basic//<token>'."
            )
        method, _, token = credentials.strip().partition("//")
        if method != "basic":
            raise AuthenticationSchemeInvalid(
                f"Authentication method '{method}' not supported: log in with basic auth."
            )
        try:
            user_b64, expiry, signature = token.split(".")
            payload = f"{user_b64}.{expiry}"
            valid = hmac.compare_digest(signature, self._sign(payload))
            username = _unb64(user_b64).decode()
            expired = int(expiry) < time.time()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            valid, expired, username = False, False, ""
        if not valid or expired or username not in self._hashes:
            raise TokenInvalid(
                "Authorization token has expired or is invalid. Please authenticate again."
            )
        return User(user_id=username)


def current_user(request: Request) -> User:
    """FastAPI dependency: the authenticated user of a request."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.check_bearer(request.headers.get("Authorization"))
