"""User-defined processes: ``GET /process_graphs``, ``GET/PUT/DELETE /process_graphs/{id}``.

A process is checked before it is stored (:class:`~openeo_dedl.user_processes.UserProcesses`):
its id, its metadata's shape, and its process graph with every call of the user's other
processes (and of itself, to catch recursion) inlined, prepared like any process graph.
Stored processes are called in process graphs by id, with ``namespace`` ``"user"`` or none.
"""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from openeo_dedl.api.auth import User, current_user
from openeo_dedl.api.deps import user_processes
from openeo_dedl.api.json_body import json_body
from openeo_dedl.api.models import refuse_unstorable_strings
from openeo_dedl.api.paging import Page, page_params, paginate
from openeo_dedl.errors import (
    OpenEOError,
    ProcessGraphMissing,
    ProcessGraphNotFound,
    ProcessInvalid,
)
from openeo_dedl.user_processes import UserProcesses

router = APIRouter()

# The spec's process_id pattern; ASCII as in JSON Schema's (ECMAScript) regular expressions.
PROCESS_ID = re.compile(r"^\w+$", re.ASCII)
MAX_ID_LENGTH = 255
# Left out of the list (the spec recommends small list responses).
_LIST_OMITS = ("process_graph", "exceptions", "examples", "links")

Store = Annotated[UserProcesses, Depends(user_processes)]
CurrentUser = Annotated[User, Depends(current_user)]


def _not_found(process_graph_id: str) -> OpenEOError:
    shown = process_graph_id[:64].replace("\x00", "\\u0000")
    return ProcessGraphNotFound(f"User-defined process '{shown}' does not exist.")


def _valid_id(process_graph_id: str) -> bool:
    return bool(PROCESS_ID.fullmatch(process_graph_id)) and len(process_graph_id) <= MAX_ID_LENGTH


@router.get("/process_graphs")
def list_process_graphs(
    request: Request, user: CurrentUser, store: Store, page: Annotated[Page, Depends(page_params)]
) -> dict:
    """The user's processes (metadata without process graphs), sorted by id."""
    processes = [
        {k: v for k, v in p.items() if k not in _LIST_OMITS}
        for p in store.all(user.user_id).values()
    ]
    items, links = paginate(processes, page, request, "/process_graphs")
    return {"processes": items, "links": links}


@router.get("/process_graphs/{process_graph_id}")
def get_process_graph(process_graph_id: str, user: CurrentUser, store: Store) -> dict:
    """The full process, process graph included."""
    # No process can have an id outside the pattern: not looked up (PostgreSQL refuses NUL).
    process = store.get(user.user_id, process_graph_id) if _valid_id(process_graph_id) else None
    if process is None:
        raise _not_found(process_graph_id)
    return process


@router.put("/process_graphs/{process_graph_id}")
async def put_process_graph(
    process_graph_id: str,
    user: CurrentUser,
    store: Store,
    body: Annotated[Any, Depends(json_body)],
) -> Response:
    """Store (or fully replace) a process after checking it."""
    if not _valid_id(process_graph_id):
        shown = process_graph_id[:64].replace("\x00", "\\u0000")
        raise ProcessInvalid(
            f"Invalid process id '{shown}': it must match ^\\w+$ "
            f"(letters, digits, underscore) and have at most {MAX_ID_LENGTH} characters."
        )
    if not isinstance(body, dict) or not isinstance(body.get("process_graph"), dict):
        raise ProcessGraphMissing("Invalid process specified. It doesn't contain a process graph.")
    refuse_unstorable_strings(body)
    # The spec: an id in the body is replaced by the one of the path.
    process = {**copy.deepcopy(body), "id": process_graph_id}
    await run_in_threadpool(store.put, user.user_id, process)
    return Response(status_code=200)


@router.delete("/process_graphs/{process_graph_id}", status_code=204)
def delete_process_graph(process_graph_id: str, user: CurrentUser, store: Store) -> Response:
    """Delete a process (jobs that refer to it are left alone, as the spec says)."""
    if not _valid_id(process_graph_id) or not store.delete(user.user_id, process_graph_id):
        raise _not_found(process_graph_id)
    return Response(status_code=204)
