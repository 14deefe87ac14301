"""One STAC API source: its collections and bounded, paged item searches with pystac-client.

Every request has a timeout and no retries, so a STAC API that hangs or fails answers
``CatalogUnavailable`` (503, naming the catalog) instead of blocking a run; a search that fails
on any page fails as a whole (its items are never half read). Answers are cached for
``catalog_cache_seconds``: an item or collection added to the API is seen after that long.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pystac

from openeo_dedl.config import CatalogConfig, Settings
from openeo_dedl.errors import CatalogUnavailable

Interval = tuple[datetime | None, datetime | None]
# Searches kept per source (the extents of recent runs; each holds its items).
MAX_CACHED_SEARCHES = 64


@dataclass(frozen=True)
class _Search:
    collection_id: str
    bbox: tuple[float, ...] | None
    interval: Interval | None

    def covers(self, other: _Search) -> bool:
        """Whether this search's items include all of ``other``'s."""
        if self.collection_id != other.collection_id:
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


def _box_contains(outer: Sequence[float], inner: Sequence[float]) -> bool:
    return (
        outer[0] <= inner[0] and outer[1] <= inner[1]
        and inner[2] <= outer[2] and inner[3] <= outer[3]
    )  # fmt: skip


class StacApiSource:
    """A STAC API, searched with pystac-client; ``requests`` counts the HTTP requests made,
    ``request_seconds`` the time until their answers' headers came."""

    def __init__(self, source: CatalogConfig, settings: Settings):
        self.source = source
        self.url = source.url
        self._timeout = settings.catalog_timeout_seconds
        self._ttl = settings.catalog_cache_seconds
        self._page_size = settings.catalog_page_size
        self._client = None
        self._searches: OrderedDict[_Search, tuple[float, list[pystac.Item], bool]] = OrderedDict()
        self._lock = threading.Lock()
        self.requests = 0
        self.request_seconds = 0.0

    def _count(self, response, *args, **kwargs) -> None:
        self.requests += 1
        self.request_seconds += response.elapsed.total_seconds()

    def _open(self):
        from pystac_client import Client
        from pystac_client.stac_api_io import StacApiIO

        if self._client is None:
            # No retries: a STAC API that fails is reported at once, not after a back-off.
            io = StacApiIO(timeout=self._timeout, max_retries=0)
            io.session.hooks["response"].append(self._count)
            # The timeout again: Client.open sets its own (None) on the given StacApiIO.
            self._client = self._guarded(
                lambda: Client.open(self.url, stac_io=io, timeout=self._timeout)
            )
        return self._client

    def _guarded(self, call):
        """``call()``; any failure to talk to the API as CatalogUnavailable naming it."""
        from pystac_client.exceptions import APIError
        from requests import RequestException

        try:
            return call()
        except (APIError, RequestException, OSError, ValueError, pystac.STACError) as exc:
            raise CatalogUnavailable(
                f"The STAC catalog {self.url} is unavailable: {_short(exc)}. Try again later."
            ) from exc

    def collections(self) -> list[pystac.Collection]:
        """Every collection of the API (all pages)."""
        client = self._open()
        return self._guarded(lambda: list(client.get_collections()))

    def search(
        self,
        collection_id: str,
        bbox: Sequence[float] | None,
        interval: Interval | None,
        max_items: int | None = None,
    ) -> tuple[list[pystac.Item], bool]:
        """Items of a collection intersecting ``bbox`` (WGS84) and ``interval``, and whether
        they are all of them (False: more than ``max_items`` matched, only those are given).

        A cached search that covers this one (same collection, larger or equal extents, all
        items read) answers it without a request; the caller filters its items."""
        key = _Search(
            collection_id,
            None if bbox is None else tuple(float(v) for v in bbox),
            interval,
        )
        now = time.monotonic()
        with self._lock:
            for cached, (expires, items, complete) in list(self._searches.items()):
                if expires <= now:
                    del self._searches[cached]
                elif (complete and cached.covers(key)) or (
                    cached == key and max_items is not None and len(items) >= max_items
                ):
                    self._searches.move_to_end(cached)
                    return items, complete
        items, complete = self._search(key, max_items)
        with self._lock:
            self._searches[key] = (time.monotonic() + self._ttl, items, complete)
            while len(self._searches) > MAX_CACHED_SEARCHES:
                self._searches.popitem(last=False)
        return items, complete

    def _search(self, key: _Search, max_items: int | None) -> tuple[list[pystac.Item], bool]:
        client = self._open()
        kwargs: dict = {"collections": [key.collection_id], "limit": self._page_size}
        if key.bbox is not None:
            kwargs["bbox"] = list(key.bbox)
        if key.interval is not None:
            start, end = key.interval
            kwargs["datetime"] = [start, end]
        if max_items is not None:
            kwargs["max_items"] = max_items + 1  # one more tells there are more
        # Every page is read before anything is used: a failure on any page fails the search.
        items = self._guarded(lambda: list(client.search(**kwargs).items()))
        if max_items is not None and len(items) > max_items:
            return items[:max_items], False
        return items, True

    def clear(self) -> None:
        with self._lock:
            self._searches.clear()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
