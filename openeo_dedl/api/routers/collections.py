"""STAC collections: ``GET /collections`` and ``GET /collections/{collection_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from openeo_dedl.api.urls import api_url

router = APIRouter()


def _with_links(request: Request, doc: dict) -> dict:
    cid = doc["id"]
    doc["links"] = [
        {
            "rel": "self",
            "href": api_url(request, f"/collections/{cid}"),
            "type": "application/json",
        },
        {"rel": "root", "href": api_url(request, "/"), "type": "application/json"},
        {"rel": "parent", "href": api_url(request, "/collections"), "type": "application/json"},
        *doc.get("links", []),
    ]
    return doc


@router.get("/collections")
def list_collections(request: Request, limit: Annotated[int | None, Query(ge=1)] = None) -> dict:
    backend = request.app.state.backend
    ids = backend.collection_ids()
    shown = ids if limit is None else ids[:limit]
    links = [{"rel": "self", "href": api_url(request, "/collections")}]
    if limit is not None and len(ids) > limit:
        links.append({"rel": "next", "href": api_url(request, f"/collections?limit={limit}")})
    return {
        "collections": [_with_links(request, backend.collection_metadata(c)) for c in shown],
        "links": links,
    }


@router.get("/collections/{collection_id}")
def describe_collection(request: Request, collection_id: str) -> dict:
    return _with_links(request, request.app.state.backend.collection_metadata(collection_id))
