"""Capabilities, conformance, file formats, UDF runtimes, service types, credentials, me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute

from openeo_dedl.api.auth import Authenticator, User, current_user
from openeo_dedl.api.urls import api_url, base_url
from openeo_dedl.backend import Backend
from openeo_dedl.catalog import STAC_VERSION

router = APIRouter()

API_VERSION = "1.2.0"
CONFORMANCE = [
    "https://api.openeo.org/1.2.0",
    "https://api.openeo.org/extensions/federation/0.1.0",
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
]


def _backend(request: Request) -> Backend:
    return request.app.state.backend


def implemented_endpoints(routers: list[APIRouter]) -> list[dict]:
    """Paths and methods of the mounted openEO routers (so the list cannot drift)."""
    by_path: dict[str, set[str]] = {}
    for mounted in routers:
        for route in mounted.routes:
            if isinstance(route, APIRoute):
                by_path.setdefault(route.path, set()).update(route.methods - {"HEAD", "OPTIONS"})
    return [{"path": p, "methods": sorted(m)} for p, m in sorted(by_path.items())]


@router.get("/")
def capabilities(request: Request) -> dict:
    backend = _backend(request)
    settings = backend.settings
    root = api_url(request)
    return {
        "api_version": API_VERSION,
        "backend_version": backend.version,
        "stac_version": STAC_VERSION,
        "type": "Catalog",
        "id": settings.backend_id,
        "title": settings.title,
        "description": settings.description,
        "production": settings.production,
        "conformsTo": CONFORMANCE,
        "endpoints": request.app.state.endpoints,
        "federation": {
            site["name"]: {
                "url": root,
                "title": site["title"],
                "description": site["description"],
                "status": "online",
            }
            for site in backend.sites()
        },
        "links": [
            {"rel": "self", "href": root, "type": "application/json"},
            {
                "rel": "conformance",
                "href": api_url(request, "/conformance"),
                "type": "application/json",
                "title": "Conformance classes",
            },
            {
                "rel": "data",
                "href": api_url(request, "/collections"),
                "type": "application/json",
                "title": "Collections",
            },
            {
                "rel": "version-history",
                "href": f"{base_url(request)}/.well-known/openeo",
                "type": "application/json",
                "title": "Supported API versions",
            },
        ],
    }


@router.get("/conformance")
def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


@router.get("/file_formats")
def file_formats(request: Request) -> dict:
    return _backend(request).file_formats()


@router.get("/udf_runtimes")
def udf_runtimes() -> dict:
    # UDFs would run user code inside the server: disabled until they can be sandboxed.
    return {}


@router.get("/service_types")
def service_types() -> dict:
    return {}


@router.get("/credentials/basic")
def credentials_basic(request: Request) -> dict:
    authenticator: Authenticator = request.app.state.authenticator
    username = authenticator.check_basic(request.headers.get("Authorization"))
    return {"access_token": authenticator.issue_token(username), "user_id": username}


@router.get("/me")
def me(request: Request, user: Annotated[User, Depends(current_user)]) -> dict:
    return {
        "user_id": user.user_id,
        "name": user.user_id,
        "links": [{"rel": "related", "href": api_url(request, "/"), "title": "Capabilities"}],
    }
