"""The FastAPI application: openEO API 1.2 under ``/openeo/1.2`` and 1.3 under ``/openeo/1.3``
(api/versions.py), discovery at the root."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse

from openeo_dedl.api.auth import Authenticator, load_secret
from openeo_dedl.api.errors import ErrorAndLogMiddleware, install_error_handlers
from openeo_dedl.api.headers import HeaderLimitMiddleware
from openeo_dedl.api.methods import MethodsMiddleware, RouteTable
from openeo_dedl.api.routers import (
    account,
    capabilities,
    collections,
    files,
    jobs,
    process_graphs,
    processes,
    processing,
    services,
)
from openeo_dedl.api.urls import api_url
from openeo_dedl.api.versions import V1_3, VERSIONS, ApiVersion, serving
from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from openeo_dedl.jobs import JobService, UrlSigner
from openeo_dedl.storage import Database
from openeo_dedl.storage.files import UserFiles
from openeo_dedl.user_processes import UserProcesses
from openeo_dedl.workers.pool import WorkerPool
from openeo_dedl.workers.queue import WorkQueue
from openeo_dedl.workers.sync import InlineSyncRuns, QueuedSyncRuns

# Routers of the versioned API, one per openEO API area; capabilities list what they mount.
API_ROUTERS: list[APIRouter] = [
    capabilities.router,
    account.router,
    collections.router,
    processes.router,
    processing.router,
    files.router,
    process_graphs.router,
    jobs.router,
    services.router,
]

logger = logging.getLogger(__name__)


def warm_up(backend: Backend) -> None:
    """Load what preparing a process needs (the process registry: importing
    openeo-processes-dask and reading its specs, seconds; the catalog's collections), so that the
    first ``POST /validation`` or ``/result`` does not wait for it."""
    try:
        backend.environment  # noqa: B018 - loads on first access
        backend.collection_ids()
    except Exception:  # the first request meets the same problem and reports it
        logger.exception("loading the process registry and catalog at start-up failed")


# The server root (outside the versioned API).
root_router = APIRouter()


@root_router.get("/", include_in_schema=False)
def root(request: Request) -> RedirectResponse:
    """Browsers and clients given the bare host land on the capabilities."""
    return RedirectResponse(api_url(request))


# Response headers browser clients (the openEO Web Editor) must be able to read.
EXPOSED_HEADERS = [
    "OpenEO-Identifier",
    "Location",
    "OpenEO-Costs",
    "Link",
    "Content-Length",
    "Content-Disposition",
    # Ranged reads of result files (the Web Editor's GeoTIFF preview): api/ranges.py.
    "Accept-Ranges",
    "Content-Range",
    processing.USAGE_HEADER,
]


def _merge_slashes(raw: bytes) -> bytes:
    """``raw`` with repeated slashes merged, except in a user file path (after ``/files/``):
    there ``a//b`` or ``/files//etc`` are paths the files API refuses, not typos to repair."""
    head, files, tail = raw.partition(b"/files/")
    return re.sub(rb"/{2,}", b"/", head + files) + tail


class MergeSlashesMiddleware:
    """Pure ASGI: repeated slashes in a request path count as one (as nginx's merge_slashes).

    Clients that join a base URL ending in ``/`` with a path starting with ``/`` request
    ``/openeo/1.2//jobs/...`` (the openEO test suite does); the routes only know single slashes.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope["path"]:
            raw = scope.get("raw_path")
            if raw:
                # Only slashes sent as such: an encoded one (%2F) belongs to a path parameter
                # (a file path "/etc/passwd" must stay absolute, and be refused).
                if b"//" in raw:
                    raw = _merge_slashes(raw)
                    path = unquote(raw.decode("ascii", "replace"))
                    scope = dict(scope, raw_path=raw, path=path)
            else:
                scope = dict(scope, path=re.sub("/{2,}", "/", scope["path"]))
        await self.app(scope, receive, send)


def _lifespan(
    settings: Settings, backend: Backend | None, prestart_workers: bool, worker_log_level: str
):
    """The app's lifespan: the database, the backend (unless given), the worker processes and
    the services the routers use (api/deps.py), made once; all closed when the app stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = backend is None
        if owned:
            app.state.backend = Backend(settings)
            # In a thread while the database migrates and workers start; done before serving.
            warming = asyncio.create_task(asyncio.to_thread(warm_up, app.state.backend))
        # The database at the newest schema, then the worker processes (they resume jobs).
        app.state.database = Database(settings.effective_database_url)
        app.state.database.migrate()
        pool = None
        if owned and settings.workers.embedded > 0:
            pool = WorkerPool(
                settings,
                settings.workers.embedded,
                app.state.database,
                prestart=prestart_workers,
                log_level=worker_log_level,
            )
            pool.start()
        wake = pool.wake if pool is not None else (lambda: None)
        app.state.workers = pool
        app.state.jobs = JobService(settings, app.state.database, app.state.backend, wake)
        app.state.user_files = UserFiles.of(settings, app.state.database)
        app.state.user_processes = UserProcesses(app.state.database, app.state.backend)
        if owned:
            app.state.sync_runs = QueuedSyncRuns(settings, WorkQueue(app.state.database), wake)
        else:
            # A backend given by the caller lives in this process: runs stay in it.
            app.state.sync_runs = InlineSyncRuns(settings, app.state.backend)
        if owned:
            await warming
        try:
            yield
        finally:
            if pool is not None:
                pool.stop()
            app.state.database.dispose()
            if owned:
                app.state.backend.close()

    return lifespan


def routers_of(version: ApiVersion, settings: Settings) -> list[APIRouter]:
    """The routers of the API areas ``version`` serves (the capabilities list their routes)."""
    routers = list(API_ROUTERS)
    if not version.at_least(V1_3):
        routers.append(capabilities.udf_router)
    if settings.oidc_providers:
        routers.append(account.oidc_router)
    return routers


def _mount_routers(app: FastAPI, settings: Settings) -> list[tuple[str, APIRouter]]:
    """Include every router once per API version; the (prefix, router) pairs mounted."""
    # Routers must be flat (no nested include_router): capabilities list their routes.
    app.state.api_routers = {v.number: routers_of(v, settings) for v in VERSIONS}
    mounts: list[tuple[str, APIRouter, ApiVersion | None]] = []
    for version in VERSIONS:
        versioned = [*app.state.api_routers[version.number], jobs.downloads_router]
        mounts += [(version.prefix, router, version) for router in versioned]
    mounts += [("", capabilities.well_known_router, None), ("", root_router, None)]
    for prefix, router, version in mounts:
        # Each versioned route learns its version before it runs (api/versions.py).
        marks = [Depends(serving(version))] if version is not None else []
        app.include_router(router, prefix=prefix, dependencies=marks)
    return [(prefix, router) for prefix, router, _ in mounts]


def _add_middleware(app: FastAPI, settings: Settings, mounts: list[tuple[str, APIRouter]]) -> None:
    """The middleware stack, innermost first."""
    # Inside the error and log middleware (logged, crashes answered), outside the routes: the
    # methods of a path are known only from all of its routes together.
    app.add_middleware(MethodsMiddleware, table=RouteTable(mounts))
    app.add_middleware(HeaderLimitMiddleware, limit=settings.limits.request_header_bytes)
    # Added last = outermost: preflights are answered before auth, and every response,
    # errors and crashes included (ErrorAndLogMiddleware sits inside), carries CORS headers.
    app.add_middleware(ErrorAndLogMiddleware)
    app.add_middleware(
        CORSMiddleware,
        # A regex rather than "*" so that the request's origin is echoed: browsers refuse "*"
        # together with credentials.
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        max_age=3600,
    )
    app.add_middleware(MergeSlashesMiddleware)


def create_app(
    settings: Settings,
    backend: Backend | None = None,
    prestart_workers: bool = False,
    worker_log_level: str = "info",
) -> FastAPI:
    """The API app for ``settings``.

    Without ``backend``, one is created when the app starts (lifespan) and closed when it
    stops, and the app starts ``workers.embedded`` worker processes (all at once with
    ``prestart_workers``, else when work first waits). A given ``backend`` belongs to the
    caller and is left open; synchronous runs then use it in this process (tests of the HTTP
    layer) and no worker processes start.
    """
    app = FastAPI(
        title=settings.title,
        description=settings.description,
        lifespan=_lifespan(settings, backend, prestart_workers, worker_log_level),
        # The openEO API has its own spec; FastAPI's generated docs would only confuse clients.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.authenticator = Authenticator(settings)
    app.state.url_signer = UrlSigner(load_secret(settings))
    if backend is not None:
        app.state.backend = backend
    mounts = _mount_routers(app, settings)
    install_error_handlers(app)
    _add_middleware(app, settings, mounts)
    return app
