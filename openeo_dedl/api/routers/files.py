"""File storage: ``GET /files`` and ``GET/PUT/DELETE /files/{path}``, per user.

Uploads are streamed to a temporary file (never held in memory) and published only when they are
complete and within the size limit; every path is checked by
:func:`openeo_dedl.storage.workspace.clean_path` before it reaches the file system.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from openeo_dedl.api.auth import User, current_user
from openeo_dedl.api.deps import user_files
from openeo_dedl.api.paging import Page, page_params, paginate
from openeo_dedl.api.ranges import file_response
from openeo_dedl.errors import FileContentInvalid
from openeo_dedl.storage.files import UserFiles
from openeo_dedl.storage.workspace import clean_path

router = APIRouter()


Files = Annotated[UserFiles, Depends(user_files)]
CurrentUser = Annotated[User, Depends(current_user)]


@router.get("/files")
def list_files(
    request: Request, user: CurrentUser, files: Files, page: Annotated[Page, Depends(page_params)]
) -> dict:
    """The user's files (path, size, modified), optionally paginated with ``limit``."""
    infos, links = paginate(files.list(user.user_id), page, request, "/files")
    return {"files": [i.to_dict() for i in infos], "links": links}


@router.get("/files/{path:path}")
def download_file(request: Request, path: str, user: CurrentUser, files: Files) -> Response:
    """The file's bytes (``application/octet-stream``); ``HEAD`` and a single byte ``Range``
    are answered too (a GeoTIFF in the workspace can be read piecewise)."""
    info = files.info(user.user_id, path)
    name = path.rsplit("/", 1)[-1]
    return file_response(
        request,
        info.size,
        functools.partial(files.open, user.user_id, path),
        "application/octet-stream",
        name,
    )


@router.put("/files/{path:path}")
async def upload_file(request: Request, path: str, user: CurrentUser, files: Files) -> dict:
    """Store the request body at ``path``, replacing a file there; answers its metadata."""
    clean_path(path)
    limit = await run_in_threadpool(files.upload_limit, user.user_id, path)
    declared = request.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        # Refused before a byte is stored.
        raise await run_in_threadpool(files.too_large, user.user_id, path)
    upload = await run_in_threadpool(files.start_upload)
    try:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise await run_in_threadpool(files.too_large, user.user_id, path)
            if chunk:
                await run_in_threadpool(upload.write, chunk)
        if received == 0:
            # The spec requires a body; an empty one is a missing file, not a file to store
            # (nor to replace a stored one with).
            raise FileContentInvalid(
                "The upload is empty: send the file's bytes as the request body "
                "(Content-Type: application/octet-stream)."
            )
        info = await run_in_threadpool(files.publish, upload, user.user_id, path)
    finally:
        # Removes the temporary file of a refused, failed or interrupted upload.
        await run_in_threadpool(upload.discard)
    return info.to_dict()


@router.delete("/files/{path:path}", status_code=204)
def delete_file(path: str, user: CurrentUser, files: Files) -> Response:
    """Delete a file and the folders it leaves empty."""
    files.delete(user.user_id, path)
    return Response(status_code=204)
