"""Capabilities: ``GET /``, ``/conformance``, ``/file_formats``, ``/udf_runtimes``,
``/service_types``, and the unversioned ``GET /.well-known/openeo``."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

from openeo_dedl.api.models import (
    ApiInstance,
    Capabilities,
    Conformance,
    Endpoint,
    FederationBackend,
    Link,
    WellKnown,
)
from openeo_dedl.api.urls import api_url, base_url
from openeo_dedl.api.versions import V1_3, VERSIONS, ApiVersion, Version, api_version
from openeo_dedl.backend import Backend
from openeo_dedl.catalog import STAC_VERSION

router = APIRouter()
# Mounted at the server root, not under the versioned prefix.
well_known_router = APIRouter()
# API 1.2 only: since 1.3 the list must name at least one runtime, and no UDFs run here.
udf_router = APIRouter()

FEDERATION_CONFORMANCE = "https://api.openeo.org/extensions/federation/0.1.0"
# API 1.3: bearer tokens may be plain JWTs (HTTP Basic's and OIDC providers' alike).
JWT_CONFORMANCE = "https://api.openeo.org/1.3.0/authentication/jwt"
STAC_CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
]
_CONVERTER = re.compile(r"\{(\w+):\w+\}")
# Methods the capabilities may list (the spec's enum); HEAD is implied by GET.
_LISTED_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def backend_of(request: Request) -> Backend:
    return request.app.state.backend


def implemented_endpoints(request: Request) -> list[Endpoint]:
    """Paths and methods of the routers mounted under the versioned prefix.

    Read from the very routers ``create_app`` mounts (``app.state.api_routers``), so the list
    cannot drift from what is served. (Not from ``app.routes``: FastAPI >= 0.16x wraps included
    routers in private classes.) ``GET /`` itself is left out, as the spec asks.
    """
    by_path: dict[str, set[str]] = {}
    for router_ in request.app.state.api_routers[api_version(request).number]:
        for route in router_.routes:
            if not isinstance(route, APIRoute):
                continue
            methods = set(route.methods) & _LISTED_METHODS
            if route.path == "/":
                methods.discard("GET")
            # "/files/{path:path}" is "/files/{path}" to clients: no Starlette converters.
            path = _CONVERTER.sub(r"{\1}", route.path)
            if methods:
                by_path.setdefault(path, set()).update(methods)
    return [Endpoint(path=p, methods=sorted(m)) for p, m in sorted(by_path.items())]


def _federation(request: Request, backend: Backend) -> dict[str, FederationBackend] | None:
    sites = backend.sites()
    # The extension requires at least two back-ends: a single site is no federation.
    if len(sites) < 2:
        return None
    url = api_url(request)
    return {
        site["name"]: FederationBackend.model_validate(
            # All sites answer through this one API; status etc. only if the backend knows it.
            {"url": url, **{k: v for k, v in site.items() if k != "name"}}
        )
        for site in sites
    }


def conformance_classes(backend: Backend, version: ApiVersion) -> list[str]:
    """The classes of ``GET /`` and ``/conformance`` (the spec wants both the same)."""
    federation = [FEDERATION_CONFORMANCE] if len(backend.sites()) >= 2 else []
    jwt = [JWT_CONFORMANCE] if version.at_least(V1_3) else []
    return [version.conformance, *jwt, *federation, *STAC_CONFORMANCE]


@router.get("/")
def capabilities(request: Request, version: Version) -> Capabilities:
    """General information about the back-end, its endpoints and its sites."""
    backend = backend_of(request)
    settings = backend.settings
    return Capabilities(
        api_version=version.number,
        backend_version=backend.version,
        stac_version=STAC_VERSION,
        id=settings.backend_id,
        title=settings.title,
        description=settings.description,
        production=settings.production,
        conformsTo=conformance_classes(backend, version),
        endpoints=implemented_endpoints(request),
        federation=_federation(request, backend),
        links=[
            Link(rel="self", href=api_url(request), type="application/json", title="Capabilities"),
            Link(
                rel="version-history",
                href=f"{base_url(request)}/.well-known/openeo",
                type="application/json",
                title="Supported openEO API versions",
            ),
            Link(
                rel="conformance",
                href=api_url(request, "/conformance"),
                type="application/json",
                title="Conformance classes",
            ),
            Link(
                rel="data",
                href=api_url(request, "/collections"),
                type="application/json",
                title="Collections",
            ),
        ],
    )


@router.get("/conformance")
def conformance(request: Request, version: Version) -> Conformance:
    return Conformance(conformsTo=conformance_classes(backend_of(request), version))


@router.get("/file_formats")
def file_formats(request: Request) -> dict:
    return backend_of(request).file_formats()


@udf_router.get("/udf_runtimes")
def udf_runtimes() -> dict:
    # UDFs would run user code inside the server: disabled by policy until they are sandboxed.
    return {}


@router.get("/service_types")
def service_types() -> dict:
    # No secondary web services (WMTS, ...) are offered.
    return {}


@well_known_router.get("/.well-known/openeo")
def well_known(request: Request) -> WellKnown:
    """The API versions this server offers, oldest first (clients pick the newest they speak)."""
    production = request.app.state.settings.production
    return WellKnown(
        versions=[
            ApiInstance(
                url=api_url(request, version=v), api_version=v.number, production=production
            )
            for v in VERSIONS
        ]
    )
