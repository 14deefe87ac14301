"""OpenID Connect: access tokens (JWTs) checked against the provider's published keys (JWKS).

Clients send ``Authorization: Bearer oidc/<provider id>/<access token>``, or (API 1.3) the plain
access token, whose ``iss`` names the provider. A token is accepted when
its signature verifies with a key of the provider's JWKS (asymmetric algorithms only), its ``iss``
is the provider's issuer, it is not expired (nor used before ``nbf``), it names the configured
``audience`` (when one is configured) and it carries a ``sub``.

The JWKS location comes from the provider's discovery document (or ``jwks_uri`` in the settings).
``jwt.PyJWKClient`` caches the keys for ``oidc_jwks_cache_seconds``; a token signed with a key id
the cache does not know triggers one early refresh (providers rotate keys), at most every
``MIN_REFRESH_SECONDS``, so that tokens with made-up key ids cannot make us hammer the provider.

Users are named ``<provider id>~<sub>``, with every character of ``sub`` outside
``[A-Za-z0-9_.-]`` written as ``~`` plus two hex digits per UTF-8 byte: the mapping is
injective, matches the spec's user id pattern ``^[\\w\\-\\.~]+$`` and cannot collide with a basic
user (basic user names contain no ``~``) nor with a user of another provider.

Ids longer than the database's user id column (:data:`MAX_USER_ID_LENGTH`) keep a readable
prefix and end in ``~h`` plus the SHA-256 of the whole id: ``~h`` never occurs in an encoded
subject (escapes are ``~`` plus hex digits), so they cannot collide with a shorter id either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import jwt
import requests

from openeo_dedl.config import OidcProviderConfig, Settings
from openeo_dedl.errors import OpenEOError, ServiceUnavailable, TokenInvalid

logger = logging.getLogger(__name__)

# Never symmetric (HS*: the "key" would be public) and never "none".
ALLOWED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
# Clock skew tolerated between the provider and us for exp/nbf/iat.
LEEWAY_SECONDS = 30
# An unknown key id refreshes the JWKS at most this often.
MIN_REFRESH_SECONDS = 10.0
HTTP_TIMEOUT_SECONDS = 10.0
_SAFE_CHAR = re.compile(r"[A-Za-z0-9_.\-]")
_INVALID = "Authorization token has expired or is invalid. Please authenticate again."
# users.user_id and the columns that refer to it are VARCHAR(255).
MAX_USER_ID_LENGTH = 255
_HASH_MARK = "~h"


def ProviderUnavailable(message: str) -> OpenEOError:  # noqa: N802 - reads like the other errors
    """The provider's keys could not be fetched: our problem (503), not the user's token."""
    return ServiceUnavailable(message)


def oidc_user_id(provider_id: str, sub: str) -> str:
    """The openEO user id of the OIDC subject ``sub`` of ``provider_id`` (see module doc)."""
    encoded = "".join(
        ch if _SAFE_CHAR.fullmatch(ch) else "".join(f"~{b:02x}" for b in ch.encode()) for ch in sub
    )
    user_id = f"{provider_id}~{encoded}"
    if len(user_id) <= MAX_USER_ID_LENGTH:
        return user_id
    digest = hashlib.sha256(user_id.encode()).hexdigest()
    prefix = user_id[: MAX_USER_ID_LENGTH - len(_HASH_MARK) - len(digest)]
    # Not ending in half an escape ("~4" of "~40"): the prefix is for reading only.
    cut = prefix.rfind("~", len(prefix) - 2)
    if cut > len(provider_id):
        prefix = prefix[:cut]
    return f"{prefix}{_HASH_MARK}{digest}"


def _get_json(url: str) -> dict:
    try:
        resp = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        resp.raise_for_status()
        doc = resp.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OIDC: cannot read %s: %s", url, exc)
        raise ProviderUnavailable(
            "The identity provider cannot be reached to check the token; try again later."
        ) from exc
    if not isinstance(doc, dict):
        raise ProviderUnavailable("The identity provider answered with an unexpected document.")
    return doc


class ProviderKeys:
    """The signing keys of one provider: a ``jwt.PyJWKClient`` on the JWKS that its discovery
    document names (or ``jwks_uri``), which caches the key set for ``cache_seconds`` and lets an
    unknown key id refresh it at most every ``min_refresh_seconds``."""

    def __init__(
        self,
        provider: OidcProviderConfig,
        cache_seconds: float,
        fetch: Callable[[str], dict] = _get_json,
        min_refresh_seconds: float = MIN_REFRESH_SECONDS,
    ):
        self.provider = provider
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._fetch = fetch  # the discovery document's
        self._lock = threading.Lock()
        self._client: jwt.PyJWKClient | None = None

    def _discover_jwks_uri(self) -> str:
        url = f"{self.provider.issuer}/.well-known/openid-configuration"
        doc = self._fetch(url)
        if str(doc.get("issuer", "")).rstrip("/") != self.provider.issuer:
            # OIDC Discovery 4.3: the issuer in the document must be the one configured.
            logger.error(
                "OIDC provider %s: discovery document names issuer %r, expected %r",
                self.provider.id,
                doc.get("issuer"),
                self.provider.issuer,
            )
            raise ProviderUnavailable("The identity provider's discovery document is inconsistent.")
        uri = doc.get("jwks_uri")
        if not isinstance(uri, str) or not uri:
            raise ProviderUnavailable("The identity provider publishes no signing keys (jwks_uri).")
        return uri

    def _jwks_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                uri = self.provider.jwks_uri or self._discover_jwks_uri()
                try:
                    self._client = jwt.PyJWKClient(
                        uri,
                        cache_jwk_set=self.cache_seconds > 0,
                        lifespan=max(self.cache_seconds, 1.0),
                        timeout=HTTP_TIMEOUT_SECONDS,
                        cooldown_duration=self.min_refresh_seconds,
                    )
                except jwt.PyJWKClientError as exc:  # e.g. a jwks_uri that is not http(s)
                    logger.error(
                        "OIDC provider %s: JWKS %s unusable: %s", self.provider.id, uri, exc
                    )
                    raise ProviderUnavailable(
                        "The identity provider's keys cannot be read."
                    ) from exc
            return self._client

    def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key with id ``kid`` (refreshing the JWKS when stale or the id is unknown); a
        token without key id is only unambiguous when the provider has a single key."""
        client = self._jwks_client()
        try:
            if kid is not None:
                return client.get_signing_key(kid)
            keys = [k for k in client.get_jwk_set().keys if k.public_key_use in ("sig", None)]
            return keys[0] if len(keys) == 1 else None
        except (jwt.PyJWKClientConnectionError, ValueError) as exc:  # ValueError: not JSON
            logger.warning("OIDC: cannot read the JWKS of %s: %s", self.provider.id, exc)
            raise ProviderUnavailable(
                "The identity provider cannot be reached to check the token; try again later."
            ) from exc
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            # An unknown key id (after the one refresh allowed), or a JWKS without usable keys.
            logger.info("OIDC provider %s: no key for %r: %s", self.provider.id, kid, exc)
            return None


class OidcVerifier:
    """Checks ``oidc/<provider>/<token>`` credentials of every configured provider."""

    def __init__(self, settings: Settings, fetch: Callable[[str], dict] = _get_json):
        self.providers = {p.id: p for p in settings.oidc_providers}
        self._keys = {
            p.id: ProviderKeys(p, settings.oidc_jwks_cache_seconds, fetch)
            for p in settings.oidc_providers
        }

    def __bool__(self) -> bool:
        return bool(self.providers)

    def user_id(self, credentials: str) -> str:
        """The user id of ``<provider id>/<access token>``; raises TokenInvalid otherwise."""
        provider_id, slash, token = credentials.partition("/")
        provider = self.providers.get(provider_id)
        if not slash or provider is None:
            raise TokenInvalid(
                "Unknown OpenID Connect provider: see GET /credentials/oidc for the providers."
            )
        return self._user_of(provider, token)

    def user_id_of_jwt(self, token: str) -> str:
        """The user id of a plain JWT access token (API 1.3) of the provider its ``iss`` names;
        raises TokenInvalid otherwise."""
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise TokenInvalid(_INVALID) from None
        issuer = issuer.rstrip("/") if isinstance(issuer, str) else None
        provider = next((p for p in self.providers.values() if p.issuer == issuer), None)
        if provider is None:
            raise TokenInvalid(
                "The token's issuer (iss) is none of the OpenID Connect providers of "
                "GET /credentials/oidc."
            )
        return self._user_of(provider, token)

    def _user_of(self, provider: OidcProviderConfig, token: str) -> str:
        claims = self._claims(provider, token)
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenInvalid("The access token names no subject (sub).")
        try:
            sub.encode()
        except UnicodeEncodeError:  # an unpaired surrogate: not a string any provider makes
            raise TokenInvalid("The access token's subject (sub) is not valid Unicode.") from None
        return oidc_user_id(provider.id, sub)

    def _claims(self, provider: OidcProviderConfig, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            # Opaque (non-JWT) access tokens cannot be checked against the JWKS.
            raise TokenInvalid(_INVALID) from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise TokenInvalid(_INVALID)
        kid = header.get("kid")
        key = self._keys[provider.id].key(kid if isinstance(kid, str) else None)
        if key is None:
            raise TokenInvalid(_INVALID)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                # Some providers (Auth0, ...) put a trailing slash into `iss`.
                issuer=[provider.issuer, provider.issuer + "/"],
                leeway=LEEWAY_SECONDS,
                # The audience is checked below: `azp` counts too (Keycloak's access tokens
                # name the client there and put "account" into `aud`).
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError, json.JSONDecodeError) as exc:
            logger.info("OIDC token of provider %s refused: %s", provider.id, exc)
            raise TokenInvalid(_INVALID) from None
        if provider.audience is not None and not _names_audience(claims, provider.audience):
            raise TokenInvalid("The access token is not meant for this back-end (audience).")
        return claims


def _names_audience(claims: dict[str, Any], audience: str) -> bool:
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    return audience in audiences or claims.get("azp") == audience


def providers_document(settings: Settings) -> dict:
    """The body of ``GET /credentials/oidc`` (the openEO API's schema)."""
    providers = []
    for p in settings.oidc_providers:
        entry: dict[str, Any] = {"id": p.id, "issuer": p.issuer, "title": p.title}
        if p.description:
            entry["description"] = p.description
        entry["scopes"] = list(p.scopes)
        if p.default_clients:
            entry["default_clients"] = [
                {
                    "id": c.id,
                    "grant_types": list(c.grant_types),
                    **({"redirect_urls": list(c.redirect_urls)} if c.redirect_urls else {}),
                }
                for c in p.default_clients
            ]
        providers.append(entry)
    return {"providers": providers}
