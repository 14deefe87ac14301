"""Data processing: ``POST /validation`` and synchronous ``POST /result``."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from openeo_dedl.api.auth import User, current_user
from openeo_dedl.errors import ProcessGraphMissing

router = APIRouter()

USAGE_HEADER = "OpenEO-DEDL-Usage"


@router.post("/validation")
def validate(request: Request, process: Annotated[Any, Body()]) -> dict:
    errors = request.app.state.backend.validate(process)
    return {"errors": [{"code": e.code, "message": e.message} for e in errors]}


@router.post("/result")
async def compute_result(
    request: Request,
    body: Annotated[Any, Body()],
    user: Annotated[User, Depends(current_user)],
) -> FileResponse:
    if not isinstance(body, dict) or not isinstance(body.get("process"), dict):
        raise ProcessGraphMissing("Invalid process specified. It doesn't contain a process graph.")
    work_dir = Path(tempfile.mkdtemp(prefix="openeo-dedl-sync-"))
    try:
        result = await run_in_threadpool(
            request.app.state.backend.run_sync, body["process"], work_dir
        )
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    usage = {
        "cross_site_bytes": result.usage.get("cross_site_bytes"),
        "transfers": result.usage.get("transfers", []),
        "duration": result.usage.get("duration"),
    }
    return FileResponse(
        result.path,
        media_type=result.media_type,
        headers={USAGE_HEADER: json.dumps(usage, separators=(",", ":"))},
        background=BackgroundTask(shutil.rmtree, work_dir, True),
    )
