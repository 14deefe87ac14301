"""Offset pagination of resource lists (``?limit=``), as the openEO API describes it.

Without ``limit`` everything is returned (clients that do not paginate must get it all). With it,
the ``links`` carry ``next`` (required except on the last page), ``prev`` and ``first``; the
``offset`` parameter they use is ours and opaque to clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request

from openeo_dedl.api.urls import api_url
from openeo_dedl.errors import BadRequest
from openeo_dedl.formats import bounded_decimal

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    limit: int | None
    offset: int


# Larger counts (and offsets) mean the same as this one: more than any list has. Longer numbers
# are not parsed (Python refuses to convert more than 4300 digits).
_MAX_COUNT = 2**63 - 1


def _count(name: str, value: str | None, minimum: int) -> int | None:
    # "?limit=" (empty) means no limit, as the spec says; so parse strings, not ints.
    if value is None or not value.strip():
        return None
    number = bounded_decimal(value.strip(), _MAX_COUNT)
    if number is None or number < minimum:
        raise BadRequest(f"Query parameter '{name}' must be an integer >= {minimum}.")
    return number


def page_params(
    limit: Annotated[str | None, Query(description="Maximum number of items.")] = None,
    offset: Annotated[str | None, Query(description="Items to skip (from `next` links).")] = None,
) -> Page:
    """FastAPI dependency: the requested page."""
    return Page(limit=_count("limit", limit, 1), offset=_count("offset", offset, 0) or 0)


def paginate(
    items: Sequence[T], page: Page, request: Request, path: str
) -> tuple[list[T], list[dict]]:
    """The items of ``page`` and the pagination links of ``path`` (an API path)."""
    if page.limit is None:
        return list(items[page.offset :]), []

    def link(rel: str, offset: int) -> dict:
        query = urlencode({"limit": page.limit, **({"offset": offset} if offset else {})})
        return {"rel": rel, "href": f"{api_url(request, path)}?{query}", "type": "application/json"}

    end = page.offset + page.limit
    links = []
    if end < len(items):
        links.append(link("next", end))
    if page.offset > 0:
        links.append(link("prev", max(page.offset - page.limit, 0)))
        links.append(link("first", 0))
    return list(items[page.offset : end]), links
