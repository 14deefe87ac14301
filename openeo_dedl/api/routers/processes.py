"""Process discovery: ``GET /processes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from openeo_dedl.api.paging import Page, page_params, paginate

router = APIRouter()


@router.get("/processes")
def list_processes(request: Request, page: Annotated[Page, Depends(page_params)]) -> dict:
    """Every predefined process that really runs here, optionally paginated with ``limit``.

    A plain ``def`` (worker thread): the first call loads the process registry, which is slow.
    """
    specs = request.app.state.backend.process_specs()
    processes, links = paginate(specs, page, request, "/processes")
    return {"processes": processes, "links": links}
