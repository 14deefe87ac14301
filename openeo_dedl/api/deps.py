"""FastAPI dependencies: the services the routers use, built once by the app's lifespan.

Routers reach the backend only through these (``Backend``, ``JobService``, ``UserFiles``,
``UserProcesses``), never the stores or records behind them.
"""

from __future__ import annotations

from fastapi import Request

from openeo_dedl.api.auth import User
from openeo_dedl.backend import Backend
from openeo_dedl.jobs import JobService
from openeo_dedl.storage.files import UserFiles
from openeo_dedl.user_processes import UserProcesses


def backend(request: Request) -> Backend:
    """The facade: discovery, preparing processes."""
    return request.app.state.backend


def jobs(request: Request) -> JobService:
    """The batch jobs of every user."""
    return request.app.state.jobs


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
