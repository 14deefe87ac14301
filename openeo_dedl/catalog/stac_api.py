"""One STAC API source: its collections and bounded, paged item searches with pystac-client
(CQL2-JSON filters of item properties pushed down where the API conforms to Filter).

Every request has a timeout and no retries, so a STAC API that hangs or fails answers
``CatalogUnavailable`` (503, naming the catalog) instead of blocking a run; a search that fails
on any page fails as a whole (its items are never half read). Answers are cached for
``catalog_cache_seconds``: an item or collection added to the API is seen after that long.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import pystac

from openeo_dedl.config import CatalogConfig, Settings
from openeo_dedl.errors import CatalogUnavailable

logger = logging.getLogger(__name__)

Interval = tuple[datetime | None, datetime | None]
# Searches kept per source (the extents of recent runs; each holds its items).
MAX_CACHED_SEARCHES = 64


# CQL2-JSON filters are sent when the API conforms to these (any version of the filter class).
FILTER_CONFORMANCE = ("/item-search#filter", "/conf/cql2-json")
# At most this many pages of /collections (a guard against a next link that never ends).
MAX_COLLECTION_PAGES = 100


@dataclass(frozen=True)
class _Search:
    collection_id: str
    bbox: tuple[float, ...] | None
    interval: Interval | None
    # The CQL2-JSON filter sent (canonical JSON text), None for none.
    filter: str | None = None

    def covers(self, other: _Search) -> bool:
        """Whether this search's items include all of ``other``'s."""
        if self.collection_id != other.collection_id or not _filter_covers(self, other):
            return False
        if self.bbox is not None and (
            other.bbox is None or not _box_contains(self.bbox, other.bbox)
        ):
            return False
        if self.interval is None:
            return True
        if other.interval is None:
            return False
        (a0, a1), (b0, b1) = self.interval, other.interval
        starts = a0 is None or (b0 is not None and a0 <= b0)
        ends = a1 is None or (b1 is not None and b1 <= a1)
        return starts and ends


def _filter_covers(outer: _Search, inner: _Search) -> bool:
    """Whether ``outer``'s filter keeps every item ``inner``'s does: none, the same, or an
    ``or`` of which it is one part (the search of several loads, then of one of them)."""
    if outer.filter is None or outer.filter == inner.filter:
        return True
    if inner.filter is None:
        return False
    doc = json.loads(outer.filter)
    return doc.get("op") == "or" and json.loads(inner.filter) in doc.get("args", [])


def _box_contains(outer: Sequence[float], inner: Sequence[float]) -> bool:
    return (
        outer[0] <= inner[0] and outer[1] <= inner[1]
        and inner[2] <= outer[2] and inner[3] <= outer[3]
    )  # fmt: skip


class _FilterRefused(Exception):
    """A filtered search answered with an error status: to be searched without the filter."""


class StacApiSource:
    """A STAC API, read with one pystac-client ``StacApiIO`` (one HTTP session); ``requests``
    counts the HTTP requests made, ``request_seconds`` the time until their answers' headers
    came, ``sent`` keeps the last requests (method, URL, JSON body) for the tests.

    A plan needs no landing page and no list of collections: the collection's document
    (``GET /collections/{id}``) and a search (``POST /search``, the Item Search path). The
    landing page is read for its ``conformsTo`` only when a search has a filter to send."""

    def __init__(self, source: CatalogConfig, settings: Settings):
        self.source = source
        self.url = source.url
        self._root = source.url.rstrip("/")
        self._timeout = settings.catalog_timeout_seconds
        self._ttl = settings.catalog_cache_seconds
        self._page_size = settings.catalog_page_size
        self._io = None
        self._conformance: tuple[float, tuple[str, ...]] | None = None
        # Filters (canonical JSON) the API answered with an error -> until when not sent.
        self._refused: dict[str, float] = {}
        self._searches: OrderedDict[_Search, tuple[float, list[pystac.Item], bool]] = OrderedDict()
        self._lock = threading.Lock()
        self.requests = 0
        self.request_seconds = 0.0
        self.sent: deque[tuple[str, str, dict | None]] = deque(maxlen=100)

    def _count(self, response, *args, **kwargs) -> None:
        self.requests += 1
        self.request_seconds += response.elapsed.total_seconds()
        body = response.request.body
        try:
            doc = json.loads(body) if body else None
        except (TypeError, ValueError):
            doc = None
        self.sent.append((response.request.method, response.url, doc))

    def _stac_io(self):
        from pystac_client.stac_api_io import StacApiIO

        with self._lock:
            if self._io is None:
                # No retries: a STAC API that fails is reported at once, not after a back-off.
                io = StacApiIO(timeout=self._timeout, max_retries=0)
                io.session.hooks["response"].append(self._count)
                self._io = io
            return self._io

    def _guarded(self, call):
        """``call()``; any failure to talk to the API as CatalogUnavailable naming it."""
        from pystac_client.exceptions import APIError
        from requests import RequestException

        try:
            return call()
        except (APIError, RequestException, OSError, ValueError, pystac.STACError) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> CatalogUnavailable:
        return CatalogUnavailable(
            f"The STAC catalog {self.url} is unavailable: {_short(exc)}. Try again later."
        )

    def _read(self, href: str) -> dict:
        io = self._stac_io()
        return self._guarded(lambda: io.read_json(href))

    def collections(self) -> list[pystac.Collection]:
        """Every collection of the API (all pages of ``/collections``)."""
        href: str | None = f"{self._root}/collections"
        found: list[pystac.Collection] = []
        for _ in range(MAX_COLLECTION_PAGES):
            if href is None:
                break
            page = self._read(href)
            docs = page.get("collections") or []
            found += [self._guarded(lambda d=d: pystac.Collection.from_dict(d)) for d in docs]
            nxt = [ln for ln in page.get("links") or [] if ln.get("rel") == "next"]
            href = nxt[0].get("href") if nxt and docs else None
        return found

    def _found(self, href: str) -> dict | None:
        """The document at ``href``, None when the API answers 404."""
        from pystac_client.exceptions import APIError

        try:
            return self._stac_io().read_json(href)
        except APIError as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise self._unavailable(exc) from exc
        except (OSError, ValueError) as exc:
            raise self._unavailable(exc) from exc

    def collection(self, collection_id: str) -> pystac.Collection | None:
        """The collection ``collection_id`` (``GET /collections/{id}``), None when the API has
        no such collection (404)."""
        doc = self._found(f"{self._root}/collections/{quote(collection_id, safe='')}")
        return None if doc is None else self._guarded(lambda: pystac.Collection.from_dict(doc))

    def item(self, collection_id: str, item_id: str) -> pystac.Item | None:
        """The item ``item_id`` of the collection (``GET /collections/{id}/items/{item}``),
        None when the API has no such item (404)."""
        c, i = quote(collection_id, safe=""), quote(item_id, safe="")
        doc = self._found(f"{self._root}/collections/{c}/items/{i}")
        if doc is None or doc.get("type") != "Feature":
            return None
        return self._guarded(lambda: pystac.Item.from_dict(doc))

    def conforms_to(self) -> tuple[str, ...]:
        """The landing page's ``conformsTo`` (cached for ``catalog_cache_seconds``)."""
        now = time.monotonic()
        cached = self._conformance
        if cached is not None and cached[0] > now:
            return cached[1]
        classes = tuple(str(c) for c in self._read(f"{self._root}/").get("conformsTo") or [])
        self._conformance = (time.monotonic() + self._ttl, classes)
        return classes

    def pushed_filter(self, cql2: dict | None) -> dict | None:
        """What of the CQL2-JSON filter ``cql2`` this API is sent: all of it when it conforms
        to Filter with CQL2-JSON, None when it does not or refused this filter lately (the
        items are then checked by the caller only). Array operators (``a_overlaps``) are sent
        even when the API does not declare them (stac-fastapi-pgstac takes them but does not
        say so); an API that refuses a filter is searched again without it."""
        if cql2 is None:
            return None
        classes = self.conforms_to()
        if not all(any(c.endswith(end) for c in classes) for end in FILTER_CONFORMANCE):
            return None
        text = json.dumps(cql2, sort_keys=True)
        with self._lock:
            refused = self._refused.get(text)
        return None if refused is not None and refused > time.monotonic() else cql2

    def search(
        self,
        collection_id: str,
        bbox: Sequence[float] | None,
        interval: Interval | None,
        max_items: int | None = None,
        cql2: dict | None = None,
    ) -> tuple[list[pystac.Item], bool]:
        """Items of a collection intersecting ``bbox`` (WGS84) and ``interval`` (and, where
        the API takes it, the CQL2-JSON filter ``cql2``), and whether they are all of them
        (False: more than ``max_items`` matched, only those are given).

        A cached search that covers this one (same collection, larger or equal extents, a
        filter keeping at least its items, all items read) answers it without a request; the
        caller filters its items."""
        box = None if bbox is None else tuple(float(v) for v in bbox)
        # An unfiltered search covering the extents answers a filtered one too (without a
        # look at the API's conformance).
        key = _Search(collection_id, box, interval)
        hit = self._cached(key, max_items, unfiltered=cql2 is not None)
        pushed = None
        if hit is None and cql2 is not None:
            pushed = self.pushed_filter(cql2)
            text = None if pushed is None else json.dumps(pushed, sort_keys=True)
            key = _Search(collection_id, box, interval, text)
            hit = self._cached(key, max_items)
        if hit is not None:
            return hit
        try:
            items, complete = self._search(key, pushed, max_items)
        except _FilterRefused as refused:
            logger.warning("%s refused the filter %s (%s): searched without it",
                           self.url, key.filter, refused)  # fmt: skip
            with self._lock:
                self._refused[key.filter or ""] = time.monotonic() + self._ttl
            # A server may close the connection after an error (uvicorn does after a 500):
            # the search again on new connections, not on one it is resetting.
            self._stac_io().session.close()
            try:
                return self.search(collection_id, bbox, interval, max_items, cql2)
            except CatalogUnavailable:
                # Unfiltered it fails too: an outage, not the filter. Not remembered, so the
                # filter is sent again once the API answers.
                with self._lock:
                    self._refused.pop(key.filter or "", None)
                raise
        with self._lock:
            self._searches[key] = (time.monotonic() + self._ttl, items, complete)
            while len(self._searches) > MAX_CACHED_SEARCHES:
                self._searches.popitem(last=False)
        return items, complete

    def _cached(
        self, key: _Search, max_items: int | None, unfiltered: bool = False
    ) -> tuple[list[pystac.Item], bool] | None:
        """A cached answer covering ``key`` (only unfiltered ones with ``unfiltered``)."""
        now = time.monotonic()
        with self._lock:
            for cached, (expires, items, complete) in list(self._searches.items()):
                if expires <= now:
                    del self._searches[cached]
                elif unfiltered and (cached.filter is not None or not complete):
                    continue  # (a truncated answer does not tell what a filter would keep)
                elif (complete and cached.covers(key)) or (
                    cached == key and max_items is not None and len(items) >= max_items
                ):
                    self._searches.move_to_end(cached)
                    return items, complete
        return None

    def _search(
        self, key: _Search, pushed: dict | None, max_items: int | None
    ) -> tuple[list[pystac.Item], bool]:
        from pystac_client.item_search import ItemSearch

        kwargs: dict = {"collections": [key.collection_id], "limit": self._page_size}
        if key.bbox is not None:
            kwargs["bbox"] = list(key.bbox)
        if key.interval is not None:
            start, end = key.interval
            kwargs["datetime"] = [start, end]
        if pushed is not None:
            kwargs.update(filter=pushed, filter_lang="cql2-json")
        if max_items is not None:
            kwargs["max_items"] = max_items + 1  # one more tells there are more
        # No Client: its landing page is not needed (ItemSearch pages by the answers' links).
        search = ItemSearch(f"{self._root}/search", stac_io=self._stac_io(), **kwargs)
        # Every page is read before anything is used: a failure on any page fails the search.
        try:
            items = self._guarded(lambda: list(search.items()))
        except CatalogUnavailable as exc:
            # An error answer (not a timeout) to a filtered search may be the filter's: a
            # property of another type, an operator it lacks. Searched again without it.
            status = getattr(exc.__cause__, "status_code", None)
            if pushed is not None and status is not None:
                raise _FilterRefused(f"HTTP {status}") from exc
            raise
        if max_items is not None and len(items) > max_items:
            return items[:max_items], False
        return items, True

    def clear(self) -> None:
        with self._lock:
            self._searches.clear()
            self._refused.clear()
            self._conformance = None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
