"""One catalog facade over the configured STAC sources (static catalogs and STAC APIs)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote, unquote

import pystac

from openeo_dedl.catalog.stac_api import StacApiSource
from openeo_dedl.config import CatalogConfig, Settings
from openeo_dedl.errors import CollectionNotFound

logger = logging.getLogger(__name__)

# The openEO Federation extension's field: which backends (here: sites) hold the data.
SITE_FIELD = "federation:backends"


@dataclass
class CollectionRecord:
    """A collection, where it comes from and which sites hold it."""

    collection: pystac.Collection
    sites: list[str]
    source: CatalogConfig
    # Items of a static catalog, loaded on first use; None for STAC APIs (searched instead).
    _items: list[pystac.Item] | None = field(default=None, repr=False)
    # The STAC API it was read from (None for static catalogs).
    api: StacApiSource | None = field(default=None, repr=False)
    # Provider id -> site, for the ids of the collection's ``federation:backends`` that named one.
    providers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.collection.id


class SiteNames:
    """Values of ``federation:backends`` -> our sites: a site's own name, or a provider id of
    ``provider_sites`` (the DEDL's, e.g. ``dedt_lumi``). Other values are ignored."""

    def __init__(self, settings: Settings):
        self.sites = [s.name for s in settings.sites]
        self.providers = dict(settings.provider_sites)

    def resolve(self, fields: dict) -> list[tuple[str, str]]:
        """(value, site) for each value of ``fields``' ``federation:backends`` naming a site."""
        value = fields.get(SITE_FIELD)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return []
        pairs = []
        for v in value:
            site = v if v in self.sites else self.providers.get(v) if isinstance(v, str) else None
            if site is not None and all(site != s for _, s in pairs):
                pairs.append((v, site))
        return pairs


class Catalog:
    """Collections of all configured STAC sources, keyed by collection id (first source wins).

    Static catalogs are read once; what a STAC API answers is reused for
    ``catalog_cache_seconds`` (its collections, and its searches in ``StacApiSource``)."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._names = SiteNames(settings)
        self._site_names = self._names.sites
        self._sources = [
            StacApiSource(c, settings) if c.kind == "stac_api" else None
            for c in settings.effective_catalogs
        ]
        self._read: dict[int, list[CollectionRecord]] = {}
        # (source index, collection id) -> (expires, record or None): one collection of a
        # STAC API read by itself (``GET /collections/{id}``), as a plan needs it.
        self._by_id: dict[tuple[int, str], tuple[float, CollectionRecord | None]] = {}
        self._records: dict[str, CollectionRecord] | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    @property
    def apis(self) -> list[StacApiSource]:
        """The STAC API sources (for their request counts)."""
        return [s for s in self._sources if s is not None]

    # -- collections ---------------------------------------------------------------------------
    def _load(self) -> dict[str, CollectionRecord]:
        with self._lock:
            now = time.monotonic()
            if self._records is None or now >= self._expires:
                records: dict[str, CollectionRecord] = {}
                for index, source in enumerate(self._settings.effective_catalogs):
                    for record in self._source_records(index, source):
                        records.setdefault(record.id, record)
                self._records = records
                ttl = self._settings.catalog_cache_seconds if self.apis else float("inf")
                self._expires = now + ttl
            return self._records

    def _source_records(self, index: int, source: CatalogConfig) -> list[CollectionRecord]:
        """The records of one source: a static one's as first read, a STAC API's read again
        (the previous ones while it fails: one unreadable source must not take the others
        down with it)."""
        api = self._sources[index]
        if index in self._read and api is None:
            return self._read[index]
        try:
            collections = self._open_collections(source, api)
        except Exception:
            logger.exception("cannot read STAC catalog %s; skipping it", source.url)
            return self._read.setdefault(index, [])
        self._read[index] = [self._record(coll, source, api) for coll in collections]
        return self._read[index]

    def _open_collections(
        self, source: CatalogConfig, api: StacApiSource | None
    ) -> list[pystac.Collection]:
        if api is None:
            root = pystac.Catalog.from_file(source.url)
            return list(root.get_all_collections())
        return api.collections()

    def _record(self, coll: pystac.Collection, source: CatalogConfig, api) -> CollectionRecord:
        pairs = self._names.resolve(coll.summaries.to_dict() if coll.summaries else {})
        if not pairs:
            pairs = self._names.resolve(coll.extra_fields)
        sites = [site for _, site in pairs] or [source.site or self._settings.default_site]
        providers = {v: site for v, site in pairs if v != site}
        return CollectionRecord(coll, sites, source, api=api, providers=providers)

    def collection_ids(self) -> list[str]:
        return sorted(self._load())

    def record(self, collection_id: str) -> CollectionRecord:
        """The collection ``collection_id`` of the first source that has it: from the list of
        all collections while it is fresh, else a STAC API's one collection document (cached
        for ``catalog_cache_seconds``), not a listing of every collection."""
        with self._lock:
            fresh = self._records is not None and time.monotonic() < self._expires
            records = self._records
        if fresh and records is not None:
            if collection_id in records:
                return records[collection_id]
        else:
            for index, source in enumerate(self._settings.effective_catalogs):
                found = self._source_record(index, source, collection_id)
                if found is not None:
                    return found
        raise CollectionNotFound(f"Collection '{collection_id}' does not exist.")

    def _source_record(
        self, index: int, source: CatalogConfig, collection_id: str
    ) -> CollectionRecord | None:
        api = self._sources[index]
        if api is None:
            records = self._source_records(index, source)
            return next((r for r in records if r.id == collection_id), None)
        now = time.monotonic()
        with self._lock:
            cached = self._by_id.get((index, collection_id))
        if cached is not None and cached[0] > now:
            return cached[1]
        coll = api.collection(collection_id)  # CatalogUnavailable when the API fails
        found = None if coll is None else self._record(coll, source, api)
        expires = now + self._settings.catalog_cache_seconds
        with self._lock:
            self._by_id[(index, collection_id)] = (expires, found)
        return found

    def collection_at(self, location: str) -> str | None:
        """The id of the collection whose document ``location`` is: the collection.json of a
        static catalog (an absolute path) or ``{api}/collections/{id}`` of a STAC API; None
        when it is no collection of the configured catalogs."""
        for index, source in enumerate(self._settings.effective_catalogs):
            if self._sources[index] is None:
                for record in self._source_records(index, source):
                    href = record.collection.get_self_href()
                    if href is not None and os.path.abspath(href) == location:
                        return record.id
                continue
            prefix = f"{source.url.rstrip('/')}/collections/"
            name = location.rstrip("/")[len(prefix) :] if location.startswith(prefix) else ""
            if name and "/" not in name:
                found = self._source_record(index, source, unquote(name))
                if found is not None and quote(found.id, safe="") == name:
                    return found.id
        return None

    def item_at(self, location: str) -> tuple[str, pystac.Item] | None:
        """(collection id, item) of the item whose document ``location`` is: an item's JSON
        of a static catalog (an absolute path) or ``{api}/collections/{id}/items/{item}`` of a
        STAC API; None when it is no item of the configured catalogs' collections."""
        records = self._load()
        for index, source in enumerate(self._settings.effective_catalogs):
            api = self._sources[index]
            if api is not None:
                found = self._api_item_at(index, source, api, location)
                if found is not None:
                    return found
                continue
            for record in self._source_records(index, source):
                href = record.collection.get_self_href()
                # Only a collection whose folder holds the location may hold its item, and
                # only the collection of its id that the catalog lists (first source wins).
                folder = os.path.dirname(os.path.abspath(href)) + "/" if href else None
                if folder is None or not location.startswith(folder):
                    continue
                if records.get(record.id) is not record:
                    continue
                for item in self._static_items(record) or []:
                    own = item.get_self_href()
                    if own is not None and os.path.abspath(own) == location:
                        return record.id, item
        return None

    def _api_item_at(self, index: int, source: CatalogConfig, api: StacApiSource, location: str):
        prefix = f"{source.url.rstrip('/')}/collections/"
        rest = location.rstrip("/")[len(prefix) :] if location.startswith(prefix) else ""
        parts = rest.split("/")
        if len(parts) != 3 or parts[1] != "items" or not parts[0] or not parts[2]:
            return None
        record = self._source_record(index, source, unquote(parts[0]))
        if record is None or quote(record.id, safe="") != parts[0]:
            return None
        item = api.item(record.id, unquote(parts[2]))
        return None if item is None else (record.id, item)

    def collections_in(self, location: str) -> list[str] | None:
        """The ids of the collections below the catalog document ``location`` of a static
        catalog (its root ``catalog.json`` or a sub-catalog), in the catalog's order; None when
        ``location`` is no catalog document of the configured static catalogs."""
        records = self._load()
        found: list[str] | None = None
        for index, source in enumerate(self._settings.effective_catalogs):
            if self._sources[index] is not None:
                continue
            if os.path.abspath(source.url) == location:
                found = found or []
            for record in self._source_records(index, source):
                parent = record.collection.get_parent()
                for _ in range(64):  # a guard against a parent link that leads round
                    if parent is None:
                        break
                    href = parent.get_self_href()
                    if href is not None and os.path.abspath(href) == location:
                        if records.get(record.id) is record:
                            found = (found or []) + [record.id]
                        break
                    parent = parent.get_parent()
        return found

    def collection(self, collection_id: str) -> pystac.Collection:
        return self.record(collection_id).collection

    def collection_sites(self, collection_id: str) -> list[str]:
        """Sites holding the collection (replicas or item-level spread), first is preferred."""
        record = self.record(collection_id)
        sites = list(record.sites)
        for item in self._static_items(record) or []:
            for s in self.item_sites(item, record):
                if s not in sites:
                    sites.append(s)
        return sites

    def item_sites(self, item: pystac.Item, record: CollectionRecord | None = None) -> list[str]:
        """The item's sites (``federation:backends``); its collection's when none is known."""
        return [site for _, site in self.item_providers(item, record)]

    def item_providers(
        self, item: pystac.Item, record: CollectionRecord | None = None
    ) -> list[tuple[str, str]]:
        """(provider id, site) of each site of the item; the id is the site's name when the
        site is its collection's fallback."""
        pairs = self._names.resolve(item.properties)
        if pairs:
            return pairs
        if record is None:
            record = self.record(item.collection_id) if item.collection_id else None
        sites = list(record.sites) if record else [self._settings.default_site]
        return [(s, s) for s in sites]

    # -- items -----------------------------------------------------------------------------
    def _static_items(self, record: CollectionRecord) -> list[pystac.Item] | None:
        if record.source.kind != "static":
            return None
        with self._lock:
            if record._items is None:
                record._items = list(record.collection.get_items(recursive=True))
        return record._items

    def search_items(
        self,
        collection_id: str,
        bbox: Sequence[float] | None = None,
        interval: tuple[datetime | None, datetime | None] | None = None,
        site: str | None = None,
        cql2: dict | None = None,
    ) -> list[pystac.Item]:
        """Items intersecting a WGS84 ``bbox`` and a half-open time ``interval`` [start, end).

        ``cql2``: a CQL2-JSON filter of item properties that a STAC API is sent where it
        takes it; the items may still hold some it excludes (the caller checks them)."""
        record = self.record(collection_id)
        items = self._static_items(record)
        if items is None:
            assert record.api is not None
            items, _ = record.api.search(collection_id, bbox, interval, cql2=cql2)
        return self._selected(record, items, bbox, interval, site)

    def fact_items(
        self,
        collection_id: str,
        bbox: Sequence[float] | None = None,
        interval: tuple[datetime | None, datetime | None] | None = None,
        cql2: dict | None = None,
    ) -> list[pystac.Item] | None:
        """``search_items`` for planning facts: None when a STAC API has more than
        ``catalog_max_fact_items`` such items (the planner then does without them)."""
        record = self.record(collection_id)
        if record.api is None:
            return self.search_items(collection_id, bbox, interval)
        limit = self._settings.catalog_max_fact_items
        items, complete = record.api.search(
            collection_id, bbox, interval, max_items=limit, cql2=cql2
        )
        return self._selected(record, items, bbox, interval, None) if complete else None

    def _selected(self, record, items, bbox, interval, site) -> list[pystac.Item]:
        selected = items_within(items, bbox, interval)
        if site is None:
            return selected
        return [item for item in selected if site in self.item_sites(item, record)]


def items_within(
    items: Iterable[pystac.Item],
    bbox: Sequence[float] | None,
    interval: tuple[datetime | None, datetime | None] | None,
) -> list[pystac.Item]:
    """The ``items`` whose footprint meets ``bbox`` (WGS84) and whose time meets ``interval``
    (None: any), as a search selects them."""
    return [
        item
        for item in items
        if (bbox is None or item.bbox is None or bbox_intersects(item.bbox, bbox))
        and (interval is None or item_in_interval(item, interval))
    ]


def bbox_intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two boxes (west, south, east, north) share a point."""
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _item_time_range(item: pystac.Item) -> tuple[datetime, datetime]:
    start = item.common_metadata.start_datetime or item.datetime
    end = item.common_metadata.end_datetime or item.datetime
    assert start is not None and end is not None
    return start, end


def item_in_interval(item: pystac.Item, interval: tuple[datetime | None, datetime | None]) -> bool:
    """Whether an item's time (range) meets the openEO interval (end excluded)."""
    item_start, item_end = _item_time_range(item)
    start, end = interval
    if start is not None and item_end < start:
        return False
    # openEO temporal intervals exclude their end.
    return not (end is not None and item_start >= end)
