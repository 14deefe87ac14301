"""The FastAPI application: openEO API 1.2 under ``/openeo/1.2``."""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse

from openeo_dedl.api.auth import Authenticator
from openeo_dedl.api.errors import install_error_handlers
from openeo_dedl.api.routers import collections, general, processes, processing
from openeo_dedl.api.urls import API_PREFIX, api_url
from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings

logger = logging.getLogger("openeo_dedl.api")

EXPOSED_HEADERS = [
    "OpenEO-Identifier",
    "Location",
    "OpenEO-Costs",
    "Link",
    "Content-Length",
    processing.USAGE_HEADER,
]


def create_app(settings: Settings, backend: Backend | None = None) -> FastAPI:
    """The API app for ``settings``; ``backend`` is created (and closed) with the app if None."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        owned = backend is None
        app.state.backend = backend or Backend(settings)
        try:
            yield
        finally:
            if owned:
                app.state.backend.close()

    app = FastAPI(
        title=settings.title,
        description=settings.description,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.authenticator = Authenticator(settings)
    if backend is not None:
        app.state.backend = backend

    routers = [m.router for m in (general, collections, processes, processing)]
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    app.state.endpoints = general.implemented_endpoints(routers)

    @app.get("/.well-known/openeo", include_in_schema=False)
    def well_known(request: Request) -> dict:
        return {
            "versions": [
                {
                    "url": api_url(request, "/"),
                    "api_version": general.API_VERSION,
                    "production": settings.production,
                }
            ]
        }

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/")

    @app.middleware("http")
    async def log_requests(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        logger.info(
            "%s %s -> %d (%.0f ms)",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    install_error_handlers(app)
    # Outermost, so that error responses and preflights carry CORS headers too.
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        max_age=3600,
    )
    return app
