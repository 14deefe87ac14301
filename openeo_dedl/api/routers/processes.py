"""Predefined processes: ``GET /processes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from openeo_dedl.api.urls import api_url

router = APIRouter()


@router.get("/processes")
def list_processes(request: Request, limit: Annotated[int | None, Query(ge=1)] = None) -> dict:
    specs = request.app.state.backend.process_specs()
    links: list[dict] = []
    if limit is not None and len(specs) > limit:
        # No cursor: everything fits in memory, so "next" is the full listing.
        links.append({"rel": "next", "href": api_url(request, "/processes")})
        specs = specs[:limit]
    return {"processes": specs, "links": links}
