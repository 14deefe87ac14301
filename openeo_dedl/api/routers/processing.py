"""Data processing: ``POST /validation`` and synchronous ``POST /result``."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

from openeo_dedl.api.auth import User, current_user, optional_user
from openeo_dedl.api.deps import processes_of
from openeo_dedl.api.json_body import unicode_json_body
from openeo_dedl.api.models import ErrorModel, ValidationResult, parse_sync_request
from openeo_dedl.api.versions import V1_3, Version, api_version, processes_version
from openeo_dedl.backend import Backend
from openeo_dedl.errors import OpenEOError
from openeo_dedl.execution.usage import Usage
from openeo_dedl.execution.versions import marked
from openeo_dedl.workers.sync import SyncRuns

logger = logging.getLogger(__name__)

router = APIRouter()
# API 1.3 only (the Processing Parameters extension is declared there).
options_router = APIRouter()

# Our usage figures (bytes moved between sites, seconds per site) for a synchronous result.
USAGE_HEADER = "OpenEO-DEDL-Usage"
# Headers beyond ~8 KiB are refused by common proxies: drop the per-transfer list first.
_MAX_USAGE_HEADER = 4096


@router.post("/validation")
async def validate(
    request: Request,
    body: Annotated[Any, Depends(unicode_json_body)],
    user: Annotated[User | None, Depends(optional_user)],
) -> ValidationResult:
    """Errors in a process; always 200 when the body is JSON (the spec says so).

    A valid process also gets its plan (sites, partitions, estimated bytes crossing sites) in
    the extension field ``openeo-dedl:plan``.

    Public: the spec makes authentication optional here; an authenticated user's own
    user-defined processes can be called in the process.
    """
    backend: Backend = request.app.state.backend
    udps = await run_in_threadpool(processes_of, request, user)
    plan = None
    try:
        # Anonymous: no batch job results for load_stac (they are a user's own).
        user_id = user.user_id if user is not None else None
        prepared = await run_in_threadpool(backend.prepare, body, udps, user_id)
        errors = list(prepared.errors)
        if not errors:
            # Valid: its plan too (or why it cannot be planned, e.g. a collection's metadata
            # is unreadable).
            plan = (await run_in_threadpool(prepared.valid().plan)).to_dict()
    except OpenEOError as exc:
        # A problem found by raising instead of returning is still a problem of the process.
        if exc.status >= 500:
            raise
        errors = [exc]
    return ValidationResult(errors=[ErrorModel.of(e) for e in errors], plan=plan)


class _CleanupFileResponse(FileResponse):
    """Sends a file, then removes its work dir, also when the client went away mid-way."""

    def __init__(self, *args: Any, work_dir: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.work_dir = work_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await run_in_threadpool(shutil.rmtree, self.work_dir, True)


def _usage_header(usage: Usage) -> str:
    usage = usage.to_dict()
    text = json.dumps(usage, separators=(",", ":"), default=str)
    if len(text) > _MAX_USAGE_HEADER and "transfers" in usage:
        usage = {**usage, "transfers": [], "transfers_omitted": len(usage["transfers"])}
        text = json.dumps(usage, separators=(",", ":"), default=str)
    return text if len(text) <= _MAX_USAGE_HEADER else "{}"


@options_router.get("/processing_parameters")
async def processing_parameters(
    request: Request, user: Annotated[User | None, Depends(optional_user)]
) -> dict:
    """The processing options of /result and batch jobs (Processing Parameters extension);
    public, with the signed-in user's own ``workers`` bound."""
    backend: Backend = request.app.state.backend
    return backend.processing_parameters(user.user_id if user else None)


@router.post("/result")
async def compute_result(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    body: Annotated[Any, Depends(unicode_json_body)],
    version: Version,
) -> FileResponse:
    """Run a process synchronously and send the result file back.

    Checked here (limits, specs, collections), run by a worker process: nothing the process
    does can stall this one. API 1.3 names the run in ``OpenEO-Identifier``.
    """
    payload = parse_sync_request(body)
    # Run with the openeo-processes version of the request's API version.
    process = marked(payload.process_dict(), processes_version(version))
    backend: Backend = request.app.state.backend
    options = backend.run_options(
        body, "sync", user.user_id, strict=api_version(request).at_least(V1_3)
    )
    udps = await run_in_threadpool(processes_of, request, user)
    # Checked here as everywhere (planning/prepare.py); the worker prepares it again, with the
    # user's processes as they are when it runs.
    await run_in_threadpool(lambda: backend.prepare(process, udps, user.user_id).valid())
    logger.info("sync run for user %s", user.user_id)
    sync_runs: SyncRuns = request.app.state.sync_runs
    outcome = await sync_runs.run(
        user.user_id, process, udps, request.is_disconnected, options=options
    )
    try:
        headers = {USAGE_HEADER: _usage_header(outcome.usage)}
        if version.at_least(V1_3):
            headers["OpenEO-Identifier"] = outcome.run_id
        if outcome.usage.costs is not None:
            headers["OpenEO-Costs"] = str(outcome.usage.costs)
        return _CleanupFileResponse(
            outcome.path,
            media_type=outcome.media_type,
            filename=outcome.path.name,
            headers=headers,
            work_dir=outcome.work_dir,
        )
    except BaseException:
        outcome.cleanup()
        raise
