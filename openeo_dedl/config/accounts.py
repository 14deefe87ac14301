"""Who may sign in: basic-auth users and OpenID Connect providers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

# bcrypt hash of "demo"; the embedded default's only user (never used in production: set `users`).
DEMO_PASSWORD_HASH = "$2b$12$x2WPr16g3d8wtjHbFEKs4Owma9pd92nxS7/XK5xGfVDzGn6XxZbQa"


class UserConfig(BaseModel):
    """A basic-auth user; ``password_hash`` is a bcrypt hash (``openeo-dedl hash-password``)."""

    # The user id of /me (spec: ^[\w\-\.~]+$) and the name of the user's workspace folder; no
    # "~" (it marks OIDC user ids, see api/oidc.py) and not only dots ("." or ".." as a folder).
    # At most 255 characters: the database's user id columns.
    username: str = Field(pattern=r"^[\w\-\.]+$", max_length=255)
    password_hash: str

    @model_validator(mode="after")
    def _not_only_dots(self) -> UserConfig:
        if not self.username.strip("."):
            raise ValueError(f"user name {self.username!r} is not usable")
        return self


OidcGrantType = Literal[
    "implicit",
    "authorization_code",
    "authorization_code+pkce",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:device_code+pkce",
    "refresh_token",
]


class OidcClientConfig(BaseModel):
    """A public OIDC client that openEO clients may use (``default_clients`` of the spec)."""

    id: str
    grant_types: list[OidcGrantType] = Field(
        default_factory=lambda: [
            "authorization_code+pkce",
            "urn:ietf:params:oauth:grant-type:device_code+pkce",
            "refresh_token",
        ],
        min_length=1,
    )
    redirect_urls: list[str] = Field(default_factory=list)


class OidcProviderConfig(BaseModel):
    """An OpenID Connect provider whose access tokens (JWTs) this backend accepts."""

    # The prefix of bearer tokens: "Bearer oidc/<id>/<access token>".
    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,20}$")
    # Issuer URL; its /.well-known/openid-configuration must be reachable from the server.
    issuer: str
    title: str
    description: str = ""
    scopes: list[str] = Field(default_factory=lambda: ["openid"])
    default_clients: list[OidcClientConfig] = Field(default_factory=list)
    # When set, tokens must name it in `aud` (or `azp`); None: the audience is not checked.
    audience: str | None = None
    # JWKS URL; None: the `jwks_uri` of the discovery document.
    jwks_uri: str | None = None

    @model_validator(mode="after")
    def _check(self) -> OidcProviderConfig:
        # The spec: the issuer URL must not end with a slash.
        self.issuer = self.issuer.rstrip("/")
        if self.scopes and "openid" not in self.scopes:
            raise ValueError(f"OIDC provider {self.id!r}: scopes must include 'openid'")
        return self
