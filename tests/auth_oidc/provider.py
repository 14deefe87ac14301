"""A small, real OpenID Connect provider for tests: discovery, JWKS and a token endpoint.

It serves on 127.0.0.1 (uvicorn in a thread) and signs RS256 access tokens with keys it makes at
start. The token endpoint implements the client-credentials grant (client id and secret in the
form or as HTTP Basic), which is what ``Connection.authenticate_oidc_client_credentials`` uses.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.servers import free_port


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Client:
    secret: str
    # The `sub` of the tokens issued to this client.
    sub: str


@dataclass
class OidcTestProvider:
    """The provider; ``start()`` serves it, ``issue()`` makes tokens directly."""

    clients: dict[str, Client] = field(default_factory=dict)
    audience: str | None = None
    token_lifetime: int = 300
    port: int = field(default_factory=free_port)
    jwks_requests: int = 0
    discovery_requests: int = 0

    def __post_init__(self) -> None:
        self.key = new_key()
        self.kid = uuid.uuid4().hex[:12]
        self.app = self._make_app()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rotate_key(self) -> None:
        """A new signing key with a new id; the old one disappears from the JWKS."""
        self.key = new_key()
        self.kid = uuid.uuid4().hex[:12]

    def jwks(self) -> dict:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def issue(
        self,
        sub: str,
        *,
        lifetime: int | None = None,
        issuer: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        extra: dict | None = None,
        algorithm: str = "RS256",
    ) -> str:
        """A signed access token; the keyword arguments make it wrong in one way each."""
        now = int(time.time())
        claims = {
            "iss": issuer or self.issuer,
            "sub": sub,
            "iat": now,
            "exp": now + (self.token_lifetime if lifetime is None else lifetime),
            "jti": secrets.token_hex(8),
        }
        if self.audience is not None:
            claims["aud"] = self.audience
        claims.update(extra or {})
        signing_key = key or self.key
        return jwt.encode(
            claims, signing_key, algorithm=algorithm, headers={"kid": kid or self.kid}
        )

    def _make_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict:
            self.discovery_requests += 1
            return {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/jwks",
                "token_endpoint": f"{self.issuer}/token",
                "authorization_endpoint": f"{self.issuer}/authorize",
                "grant_types_supported": ["client_credentials"],
                "scopes_supported": ["openid"],
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @app.get("/jwks")
        def jwks() -> dict:
            self.jwks_requests += 1
            return self.jwks()

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            client_id, secret = form.get("client_id"), form.get("client_secret")
            auth = request.headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            client = self.clients.get(client_id or "")
            if client is None or not secrets.compare_digest(client.secret, secret or ""):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            return JSONResponse(
                {
                    "access_token": self.issue(client.sub, extra={"azp": client_id}),
                    "token_type": "Bearer",
                    "expires_in": self.token_lifetime,
                    "scope": form.get("scope", "openid"),
                }
            )

        return app

    def start(self) -> OidcTestProvider:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
