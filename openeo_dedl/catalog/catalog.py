"""One catalog facade over the configured STAC sources (static catalogs and STAC APIs)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import pystac

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

    @property
    def id(self) -> str:
        return self.collection.id


def _sites_from(fields: dict, known_sites: Sequence[str]) -> list[str]:
    value = fields.get(SITE_FIELD)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [s for s in value if s in known_sites]


class Catalog:
    """Collections of all configured STAC sources, keyed by collection id (first source wins)."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._site_names = [s.name for s in settings.sites]
        self._records: dict[str, CollectionRecord] | None = None
        self._lock = threading.Lock()

    # -- collections ---------------------------------------------------------------------------
    def _load(self) -> dict[str, CollectionRecord]:
        with self._lock:
            if self._records is None:
                records: dict[str, CollectionRecord] = {}
                for source in self._settings.effective_catalogs:
                    try:
                        collections = self._open_collections(source)
                    except Exception:
                        # One unreadable source must not take the others down with it.
                        logger.exception("cannot read STAC catalog %s; skipping it", source.url)
                        continue
                    for coll in collections:
                        if coll.id not in records:
                            records[coll.id] = CollectionRecord(
                                coll, self._collection_sites(coll, source), source
                            )
                self._records = records
            return self._records

    def _open_collections(self, source: CatalogConfig) -> list[pystac.Collection]:
        if source.kind == "static":
            root = pystac.Catalog.from_file(source.url)
            return list(root.get_all_collections())
        import pystac_client

        return list(pystac_client.Client.open(source.url).get_collections())

    def _collection_sites(self, coll: pystac.Collection, source: CatalogConfig) -> list[str]:
        sites = _sites_from(coll.summaries.to_dict() if coll.summaries else {}, self._site_names)
        if not sites:
            sites = _sites_from(coll.extra_fields, self._site_names)
        if not sites:
            sites = [source.site or self._settings.default_site]
        return sites

    def collection_ids(self) -> list[str]:
        return sorted(self._load())

    def record(self, collection_id: str) -> CollectionRecord:
        try:
            return self._load()[collection_id]
        except KeyError:
            raise CollectionNotFound(f"Collection '{collection_id}' does not exist.") from None

    def collection_at(self, location: str) -> str | None:
        """The id of the collection whose document ``location`` is: the collection.json of a
        static catalog (an absolute path) or ``{api}/collections/{id}`` of a STAC API; None
        when it is no collection of the configured catalogs."""
        for record in self._load().values():
            if record.source.kind == "static":
                href = record.collection.get_self_href()
                if href is not None and os.path.abspath(href) == location:
                    return record.id
            else:
                root = record.source.url.rstrip("/")
                if location.rstrip("/") == f"{root}/collections/{quote(record.id, safe='')}":
                    return record.id
        return None

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
        sites = _sites_from(item.properties, self._site_names)
        if sites:
            return sites
        if record is None:
            record = self.record(item.collection_id) if item.collection_id else None
        return list(record.sites) if record else [self._settings.default_site]

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
    ) -> list[pystac.Item]:
        """Items intersecting a WGS84 ``bbox`` and a half-open time ``interval`` [start, end)."""
        record = self.record(collection_id)
        items = self._static_items(record)
        if items is None:
            items = self._search_api(record, bbox, interval)
        selected = []
        for item in items:
            if bbox is not None and item.bbox is not None and not _bbox_intersects(item.bbox, bbox):
                continue
            if interval is not None and not _in_interval(item, interval):
                continue
            if site is not None and site not in self.item_sites(item, record):
                continue
            selected.append(item)
        return selected

    def _search_api(self, record, bbox, interval) -> list[pystac.Item]:
        import pystac_client

        client = pystac_client.Client.open(record.source.url)
        kwargs: dict = {"collections": [record.id]}
        if bbox is not None:
            kwargs["bbox"] = list(bbox)
        if interval is not None:
            start, end = interval
            kwargs["datetime"] = [start, end]
        return list(client.search(**kwargs).items())


def _bbox_intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _item_time_range(item: pystac.Item) -> tuple[datetime, datetime]:
    start = item.common_metadata.start_datetime or item.datetime
    end = item.common_metadata.end_datetime or item.datetime
    assert start is not None and end is not None
    return start, end


def _in_interval(item: pystac.Item, interval: tuple[datetime | None, datetime | None]) -> bool:
    item_start, item_end = _item_time_range(item)
    start, end = interval
    if start is not None and item_end < start:
        return False
    # openEO temporal intervals exclude their end.
    return not (end is not None and item_start >= end)
