"""Account management: ``GET /credentials/basic``, ``GET /credentials/oidc`` and ``GET /me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from openeo_dedl.api.auth import Authenticator, User, current_user
from openeo_dedl.api.models import BasicAccessToken, Link, UserData
from openeo_dedl.api.oidc import providers_document
from openeo_dedl.api.urls import api_url

router = APIRouter()
# Mounted only when OIDC providers are configured (the spec requires at least one provider).
oidc_router = APIRouter()


@router.get("/credentials/basic")
def credentials_basic(request: Request) -> BasicAccessToken:
    """Exchange HTTP Basic credentials for an access token.

    A plain ``def``: FastAPI runs it in a worker thread, and bcrypt takes ~0.25 s on purpose.
    """
    authenticator: Authenticator = request.app.state.authenticator
    user_id = authenticator.check_basic(request.headers.get("Authorization"))
    token = authenticator.issue_token(user_id, issuer=api_url(request, "/credentials/basic"))
    return BasicAccessToken(access_token=token, user_id=user_id)


@router.get("/me")
def me(request: Request, user: Annotated[User, Depends(current_user)]) -> UserData:
    """The authenticated user; no budget or storage limits apply (null, as the spec asks)."""
    return UserData(
        user_id=user.user_id,
        name=user.name,
        links=[
            Link(
                rel="related",
                href=api_url(request),
                type="application/json",
                title="Capabilities of this back-end",
            )
        ],
    )


@oidc_router.get("/credentials/oidc")
def credentials_oidc(request: Request) -> dict:
    """The OpenID Connect providers whose access tokens this back-end accepts."""
    return providers_document(request.app.state.settings)
