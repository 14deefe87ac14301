"""EO data discovery: ``GET /collections`` and ``GET /collections/{collection_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from openeo_dedl.api.deps import federation_missing
from openeo_dedl.api.paging import Page, page_params
from openeo_dedl.api.urls import api_url
from openeo_dedl.backend import Backend
from openeo_dedl.catalog import SITE_FIELD

router = APIRouter()

JSON = "application/json"
# The spec strongly recommends leaving large fields out of the list (clients get them from
# GET /collections/{id}); the sites stay, so the list still tells where each collection lives.
_LIST_OMITS = ("cube:dimensions",)
_DATACUBE_EXTENSION = "https://stac-extensions.github.io/datacube/"


def _backend(request: Request) -> Backend:
    return request.app.state.backend


def _with_links(request: Request, doc: dict) -> dict:
    """``doc`` with self/root/parent links and its sites also at the top level.

    The Federation extension asks for ``federation:backends`` on the top level of a
    collection; the architecture (and the DEDL STAC) keep it in ``summaries``: serve both.
    """
    cid = doc["id"]
    sites = doc.get("summaries", {}).get(SITE_FIELD)
    if sites and SITE_FIELD not in doc:
        doc[SITE_FIELD] = list(sites)
    doc["links"] = [
        {"rel": "self", "href": api_url(request, f"/collections/{cid}"), "type": JSON},
        {"rel": "root", "href": api_url(request), "type": JSON},
        {"rel": "parent", "href": api_url(request, "/collections"), "type": JSON},
        *doc.get("links", []),
    ]
    return doc


def _list_entry(doc: dict) -> dict:
    for key in _LIST_OMITS:
        doc.pop(key, None)
    if "summaries" in doc:
        doc["summaries"] = {k: v for k, v in doc["summaries"].items() if k == SITE_FIELD}
    # Without cube:dimensions the document no longer follows the datacube extension.
    if "stac_extensions" in doc:
        doc["stac_extensions"] = [
            e for e in doc["stac_extensions"] if not e.startswith(_DATACUBE_EXTENSION)
        ]
    return doc


@router.get("/collections")
def list_collections(request: Request, page: Annotated[Page, Depends(page_params)]) -> dict:
    """All collections (basic metadata), whole whatever the ``limit``.

    Not paginated, as ``GET /processes`` (see there): a client that asks for a page and does
    not follow ``next`` still sees every collection. ``page`` is parsed so a malformed
    ``limit`` stays a 400.
    """
    del page  # validated only
    backend = _backend(request)
    ids = backend.collection_ids()
    return {
        "collections": [
            _list_entry(_with_links(request, backend.collection_metadata(cid))) for cid in ids
        ],
        "links": [
            {"rel": "self", "href": api_url(request, "/collections"), "type": JSON},
            {"rel": "root", "href": api_url(request), "type": JSON},
        ],
        **federation_missing(backend),
    }


@router.get("/collections/{collection_id}")
def describe_collection(request: Request, collection_id: str) -> dict:
    """Full STAC metadata of one collection; 404 CollectionNotFound if unknown."""
    return _with_links(request, _backend(request).collection_metadata(collection_id))
