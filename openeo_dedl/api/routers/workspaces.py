"""Workspaces extension (read-only): ``GET /workspace_providers``, ``GET /workspaces`` and
``GET /workspaces/{id}``, the export workspaces an operator configured (``export_workspaces``)
that ``export_workspace`` copies results to. Users neither create nor register workspaces
here, so ``POST``/``PATCH``/``DELETE /workspaces`` are not offered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from openeo_dedl.api.auth import User, current_user
from openeo_dedl.api.paging import Page, page_params

router = APIRouter()

UserDep = Annotated[User, Depends(current_user)]


@router.get("/workspace_providers")
def workspace_providers(request: Request) -> dict:
    """The kinds of storage (fsspec protocols) of the configured workspaces."""
    return {"providers": request.app.state.backend.workspace_providers()}


@router.get("/workspaces")
def list_workspaces(
    request: Request, user: UserDep, page: Annotated[Page, Depends(page_params)]
) -> dict:
    """Every configured workspace (each user has a folder in each), whole whatever the
    ``limit`` (an operator configures a handful)."""
    del page  # validated only
    workspaces = request.app.state.backend.export_workspaces(user.user_id)
    return {
        "workspaces": [
            {k: v for k, v in w.items() if k in ("id", "title", "type", "status")}
            for w in workspaces
        ],
        "links": [],
    }


@router.get("/workspaces/{workspace_id}")
def describe_workspace(request: Request, user: UserDep, workspace_id: str) -> dict:
    """One workspace with the URL of the user's folder in it; 404 WorkspaceNotFound."""
    return request.app.state.backend.export_workspace(user.user_id, workspace_id)
