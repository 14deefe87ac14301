"""Basic authentication with bcrypt-hashed passwords and signed, expiring access tokens.

OpenID Connect bearer tokens (``Bearer oidc/<provider>/<token>``) are checked by
:mod:`openeo_dedl.api.oidc`.

Clients exchange HTTP Basic credentials at ``GET /credentials/basic`` for an access token and then
send ``Authorization: Bearer basic//<token>``, or on API 1.3 (conformance class
``.../1.3.0/authentication/jwt``) the plain token. Tokens are stateless JWTs (pyjwt, HS256,
claims ``iss`` (the URL of ``GET /credentials/basic``), ``sub``, ``iat``, ``exp``), so any
server process holding the secret can check them. A plain JWT signed with HS256 is ours; any
other algorithm is an OIDC provider's, the one its ``iss`` names (providers' keys are never
symmetric). Each user's
tokens are signed with a key derived from the secret and the user's current password hash:
changing a password (or removing the user) invalidates the user's tokens.

JWTs without ``iss`` (issued before API 1.3 was served) are accepted as the others until they
expire. Tokens of the first version (``<base64url(user id)>.<expiry>.<HMAC-SHA256>``, before the
JWTs) are still accepted (with the ``basic//`` prefix) until they expire
(``token_lifetime_seconds`` after they were issued); ``_verify_v1`` can go once that time has
passed since the JWTs were deployed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import jwt
from fastapi import Request

from openeo_dedl.api.oidc import OidcVerifier
from openeo_dedl.api.versions import V1_3, api_version
from openeo_dedl.config import Settings
from openeo_dedl.errors import (
    AuthenticationRequired,
    AuthenticationSchemeInvalid,
    CredentialsInvalid,
    TokenInvalid,
)
from openeo_dedl.formats import b64url

logger = logging.getLogger(__name__)

SECRET_FILE = "secret"
_TOKEN_VERSION = b"openeo-dedl-token-v1"  # the first version (see the module doc)
_JWT_KEY_TAG = b"openeo-dedl-jwt-v2"
_JWT_ALGORITHM = "HS256"
_MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class User:
    """An authenticated user."""

    user_id: str

    @property
    def name(self) -> str:
        return self.user_id


def load_secret(settings: Settings) -> bytes:
    """The token-signing key: ``settings.token_secret``, else random and kept in the data dir.

    The file is created with mode 0600 and published atomically (written to a private temporary
    file, then hard-linked into place), so concurrent server processes agree on one secret and
    none of them ever reads a half-written file.
    """
    if settings.token_secret is not None:
        secret = settings.token_secret.get_secret_value()
        if len(secret) < 16:
            logger.warning("token_secret is shorter than 16 characters: tokens are easy to forge")
        return secret.encode()
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            # If another process won the race, its secret is used.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "%s is readable by others (mode %o): anyone reading it can forge tokens", path, mode
        )
    secret = path.read_text().strip()
    if len(secret) < _MIN_SECRET_LENGTH:
        raise RuntimeError(f"{path} holds no usable secret; delete it to generate a new one")
    return secret.encode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _bcrypt_rounds(password_hash: bytes) -> int:
    # "$2b$12$..." -> 12; unknown shapes fall back to bcrypt's default.
    try:
        return int(password_hash.split(b"$")[2])
    except (IndexError, ValueError):
        return 12


class Authenticator:
    """Checks passwords, issues and verifies access tokens."""

    def __init__(self, settings: Settings):
        self._hashes = {u.username: u.password_hash.encode() for u in settings.users}
        self.oidc = OidcVerifier(settings)
        self._secret = load_secret(settings)
        self._lifetime = settings.token_lifetime_seconds
        self._dummy_hash: bytes | None = None

    def _dummy(self) -> bytes:
        # Checked for unknown users, with the cost of the real hashes, so that the response time
        # does not reveal which user names exist. Built lazily: a bcrypt hash takes ~0.25 s.
        if self._dummy_hash is None:
            rounds = max((_bcrypt_rounds(h) for h in self._hashes.values()), default=12)
            self._dummy_hash = bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds))
        return self._dummy_hash

    def _user_key(self, password_hash: bytes) -> bytes:
        """The signing key of one user's tokens: it changes with the password."""
        return hmac.new(self._secret, b"|".join([_JWT_KEY_TAG, password_hash]), "sha256").digest()

    def _sign_v1(self, payload: str, password_hash: bytes) -> str:
        message = b"|".join([_TOKEN_VERSION, payload.encode(), password_hash])
        return b64url(hmac.new(self._secret, message, hashlib.sha256).digest())

    def issue_token(self, user_id: str, issuer: str | None = None) -> str:
        """A fresh access token for ``user_id`` (without the ``basic//`` prefix); ``issuer``
        (the URL of ``GET /credentials/basic``) is its ``iss``, which API 1.3 asks of JWTs."""
        now = int(time.time())
        claims: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + self._lifetime}
        if issuer is not None:
            claims["iss"] = issuer
        key = self._user_key(self._hashes[user_id])
        return jwt.encode(claims, key, algorithm=_JWT_ALGORITHM)

    def check_password(self, username: str, password: str) -> bool:
        stored = self._hashes.get(username)
        try:
            ok = bcrypt.checkpw(password.encode(), stored or self._dummy())
        except ValueError as exc:
            # bcrypt refuses passwords over 72 bytes, and raises on a malformed stored hash.
            if stored is not None and "salt" in str(exc).lower():
                logger.error("the password hash of user %r is not a bcrypt hash", username)
            return False
        return ok and stored is not None

    def check_basic(self, authorization: str | None) -> str:
        """The user name of valid HTTP Basic credentials in an ``Authorization`` header."""
        if not authorization or not authorization.strip():
            raise AuthenticationRequired(
                "Unauthorized: send HTTP Basic credentials (Authorization: Basic ...)."
            )
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise AuthenticationSchemeInvalid(
                "Authentication method not supported: this endpoint expects HTTP Basic."
            )
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        # ValueError: b64decode refuses non-ASCII text so (a header can carry Latin-1 bytes).
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise CredentialsInvalid("Credentials are not correct.") from None
        username, colon, password = decoded.partition(":")
        if not colon or not self.check_password(username, password):
            raise CredentialsInvalid("Credentials are not correct.")
        return username

    def check_bearer(self, authorization: str | None, plain_jwt: bool = False) -> User:
        """The user of a valid ``Bearer basic//<token>`` or ``Bearer oidc/<provider>/<token>``,
        and with ``plain_jwt`` (API 1.3) of a valid ``Bearer <JWT>`` (see the module doc).

        OIDC tokens are only accepted when providers are configured. Blocking (the provider's
        keys may have to be fetched): call it from a worker thread.
        """
        if not authorization or not authorization.strip():
            raise AuthenticationRequired("Unauthorized: this endpoint requires authentication.")
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationSchemeInvalid(
                "Authentication method not supported: send 'Authorization: Bearer basic//<token>'"
                " with a token from GET /credentials/basic."
            )
        credentials = credentials.strip()
        if credentials.startswith("oidc/") and self.oidc:
            return User(user_id=self.oidc.user_id(credentials[len("oidc/") :]))
        if plain_jwt and credentials and "/" not in credentials:
            # A JWT never holds a slash (base64url); the openEO tokens always do.
            return User(user_id=self._check_plain_jwt(credentials))
        if not credentials.startswith("basic//"):
            # Name the method (e.g. "oidc") when there is one, never echo anything of the token.
            method, slash, _ = credentials.partition("/")
            named = (
                f"Authentication method '{method}'"
                if slash and method.isalnum() and len(method) <= 32
                else "A bearer token without 'basic//' prefix"
            )
            raise AuthenticationSchemeInvalid(
                f"{named} is not supported: log in with HTTP Basic at GET /credentials/basic "
                "and send 'Bearer basic//<token>'."
            )
        user_id = self._verify(credentials[len("basic//") :])
        if user_id is None:
            raise TokenInvalid(
                "Authorization token has expired or is invalid. Please authenticate again."
            )
        return User(user_id=user_id)

    def _check_plain_jwt(self, token: str) -> str:
        """The user id of a plain JWT: ours (HS256) or an OIDC provider's."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            algorithm = None
        if algorithm == _JWT_ALGORITHM:
            user_id = self._verify(token)
        elif algorithm is not None and self.oidc:
            return self.oidc.user_id_of_jwt(token)
        else:
            user_id = None
        if user_id is None:
            raise TokenInvalid(
                "Authorization token has expired or is invalid. Please authenticate again."
            )
        return user_id

    def _verify(self, token: str) -> str | None:
        """The user id of a valid, unexpired token, else None."""
        parts = token.split(".")
        if len(parts) == 3 and parts[1].isascii() and parts[1].isdigit():
            return self._verify_v1(*parts)
        try:
            # Which user's key to check with: the unverified subject, checked right after.
            user_id = jwt.decode(token, options={"verify_signature": False}).get("sub")
            stored = self._hashes.get(user_id) if isinstance(user_id, str) else None
            if stored is None:
                return None
            jwt.decode(
                token,
                self._user_key(stored),
                algorithms=[_JWT_ALGORITHM],
                options={"require": ["sub", "iat", "exp"]},
            )
        except jwt.PyJWTError:
            return None
        return user_id

    def _verify_v1(self, user_b64: str, expiry: str, signature: str) -> str | None:
        """The user id of a valid, unexpired token of the first version, else None."""
        try:
            user_id = _unb64(user_b64).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        stored = self._hashes.get(user_id)
        if stored is None:
            return None
        expected = self._sign_v1(f"{user_b64}.{expiry}", stored)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        if int(expiry) < time.time():
            return None
        return user_id


def _plain_jwt(request: Request) -> bool:
    # Plain JWT bearer tokens are API 1.3's: 1.2 answers them as before.
    return api_version(request).at_least(V1_3)


def current_user(request: Request) -> User:
    """FastAPI dependency: the authenticated user of a request (401/403 otherwise)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.check_bearer(request.headers.get("Authorization"), _plain_jwt(request))


def optional_user(request: Request) -> User | None:
    """FastAPI dependency: the user of a request that may come without ``Authorization``.

    Credentials that are sent must be valid (401/403 otherwise).
    """
    header = request.headers.get("Authorization")
    if header is None or not header.strip():
        return None
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.check_bearer(header, _plain_jwt(request))
