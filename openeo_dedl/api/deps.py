"""FastAPI dependencies: the users' files and processes, built once by the app's lifespan.

Routers reach the backend only through the services on ``app.state`` (``backend``: Backend,
``jobs``: JobService, ``user_files``: UserFiles, ``user_processes``: UserProcesses), never the
stores or records behind them.
"""

from __future__ import annotations

from fastapi import Request

from openeo_dedl.api.auth import User
from openeo_dedl.storage.files import UserFiles
from openeo_dedl.user_processes import UserProcesses


def user_files(request: Request) -> UserFiles:
    """The users' files."""
    return request.app.state.user_files


def user_processes(request: Request) -> UserProcesses:
    """The users' user-defined processes."""
    return request.app.state.user_processes


def processes_of(request: Request, user: User | None) -> dict[str, dict]:
    """The user-defined processes of ``user`` (id -> process); none without a user.

    Blocking (database): call it from a worker thread.
    """
    if user is None:
        return {}
    return user_processes(request).all(user.user_id)


def federation_missing(backend) -> dict[str, list[str]]:
    """``federation:missing`` of a list (Federation extension): the sites offline now, which
    the spec asks to list even though they are ``offline`` in ``GET /`` already; nothing
    when every site is online."""
    offline = backend.missing_sites()
    return {"federation:missing": offline} if offline else {}
