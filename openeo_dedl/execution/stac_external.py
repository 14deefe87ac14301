"""load_stac of a STAC location outside the configured catalogs (this side does I/O).

What ``url`` names is read through :class:`~openeo_dedl.execution.stac_fetch.StacFetcher`
(only under the allowed entries, bounded): a static Item (one item), a static Collection or
Catalog (its ``child`` and ``item`` links walked, breadth first, within the document budget),
or a STAC API collection (``/collections/{id}``: its ``items`` link paged with ``bbox`` and
``datetime`` of the load, ``next`` links followed by GET). Every item's raster assets become
bands (asset key = band name); an asset href outside the entries refuses the whole load before
anything reads it. The items' facts (footprints, CRS, grid, times, bands) are the planner's
facts of the load; its data is read at the entry's site.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pystac

from openeo_dedl.errors import OpenEOError, ProcessParameterInvalid
from openeo_dedl.execution.facts import band_facts
from openeo_dedl.execution.stac_fetch import DocumentBudget, StacEntry, StacFetcher, host_of
from openeo_dedl.planning import CollectionFacts, SearchBounds
from openeo_dedl.planning.extents import normalise_crs, union
from openeo_dedl.planning.stac import EXTERNAL_PREFIX, StacSource

# Asset roles and media types that are no band to load.
_NOT_DATA_ROLES = {"thumbnail", "overview", "metadata", "visual"}
_RASTER_TYPES = ("image/tiff", "image/jp2", "image/vnd.stac.geotiff", "application/x-hdf")


def _param(message: str) -> OpenEOError:
    return ProcessParameterInvalid(
        f"The value passed for parameter 'url' in process 'load_stac' is invalid: {message}"
    )


def external_source(
    fetcher: StacFetcher,
    entry: StacEntry,
    url: str,
    bounds: SearchBounds,
    max_documents: int,
    page_size: int = 100,
    read_seconds: float | None = None,
) -> StacSource:
    """The source ``url`` (under ``entry``) names: its items (asset hrefs absolute, checked)
    and the planner's facts of them, read at ``entry.site``."""
    budget = DocumentBudget(max_documents, read_seconds)
    doc, where = fetcher.document(url, budget)
    kind = doc.get("type")
    collection: dict = {}
    if kind == "Feature":
        raw = [(doc, where)]
    elif kind in ("Collection", "Catalog"):
        collection = doc if kind == "Collection" else {}
        items_link = _link(doc, "items")
        if items_link is not None and not _links(doc, "item"):
            raw = _search(fetcher, budget, fetcher.resolve(items_link, where), bounds, page_size)
        else:
            raw = _walk(fetcher, budget, doc, where)
    else:
        raise _param(f"the document at {host_of(url)} is no STAC Catalog, Collection or Item.")
    items = [_item(fetcher, d, base) for d, base in raw]
    items = [i for i in items if i["assets"]]
    if not items:
        raise _param(f"the STAC location at {host_of(url)} holds no items with raster assets.")
    key = json.dumps([url, bounds.bbox, [str(t) for t in bounds.interval or ()]])
    cid = EXTERNAL_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]
    for item in items:
        item["collection"] = cid
    try:  # what the loader will read: malformed documents are the URL's fault, not ours
        for item in items:
            pystac.Item.from_dict(item)
        facts, names = _facts(cid, items, collection, entry.site)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, pystac.STACError):
        raise _param(f"the STAC items at {host_of(url)} are malformed.") from None
    doc_out = {
        "id": cid,
        "cube:dimensions": {
            "x": {"type": "spatial", "axis": "x"},
            "y": {"type": "spatial", "axis": "y"},
            "t": {"type": "temporal"},
            "bands": {"type": "bands", "values": names},
        },
        "extent": {"spatial": {"bbox": [list(facts.bbox)] if facts.bbox else []}},
        "external": True,
    }
    return StacSource(cid, facts, items=tuple(items), collection=doc_out, guard=fetcher.check_asset)


def _links(doc: dict, rel: str) -> list[str]:
    return [
        str(link["href"])
        for link in doc.get("links") or []
        if isinstance(link, dict) and link.get("rel") == rel and isinstance(link.get("href"), str)
    ]


def _link(doc: dict, rel: str) -> str | None:
    found = _links(doc, rel)
    return found[0] if found else None


def _walk(fetcher: StacFetcher, budget: DocumentBudget, doc: dict, where: str) -> list:
    """The items of a static catalog or collection, its children's included (bounded)."""
    items: list[tuple[dict, str]] = []
    queue = deque([(doc, where)])
    seen = {where}
    while queue:
        node, base = queue.popleft()
        for rel in ("item", "child"):
            for href in _links(node, rel):
                location = fetcher.resolve(href, base)
                if location in seen:
                    continue
                seen.add(location)
                child, at = fetcher.document(location, budget, "document")
                if rel == "item" or child.get("type") == "Feature":
                    items.append((child, at))
                else:
                    queue.append((child, at))
    return items


def _search(
    fetcher: StacFetcher, budget: DocumentBudget, items_url: str, bounds: SearchBounds, limit: int
) -> list:
    """The items of a STAC API collection within ``bounds``, every page read (GET only)."""
    query: dict[str, str] = {"limit": str(limit)}
    if bounds.bbox is not None:
        query["bbox"] = ",".join(repr(float(v)) for v in bounds.bbox)
    if bounds.interval is not None:
        query["datetime"] = "/".join(_rfc3339(t) for t in bounds.interval)
    parts = urlsplit(items_url)
    extra = "&".join(p for p in (parts.query, urlencode(query)) if p)
    url: str | None = urlunsplit(parts._replace(query=extra))
    items: list[tuple[dict, str]] = []
    while url is not None:
        page, at = fetcher.document(url, budget, "search page")
        features = [f for f in page.get("features") or [] if isinstance(f, dict)]
        budget.take(len(features))
        items.extend((f, at) for f in features)
        nxt = next(
            (
                link
                for link in page.get("links") or []
                if isinstance(link, dict) and link.get("rel") == "next"
            ),
            None,
        )
        if nxt is None or not features:
            break
        if str(nxt.get("method", "GET")).upper() != "GET" or not isinstance(nxt.get("href"), str):
            raise _param("the STAC API pages its items by POST, which load_stac does not follow.")
        url = fetcher.resolve(nxt["href"], at)
    return items


def _rfc3339(value: datetime | None) -> str:
    if value is None:
        return ".."
    return value.isoformat().replace("+00:00", "Z")


def _is_band(asset: dict) -> bool:
    roles = set(asset.get("roles") or [])
    if roles & _NOT_DATA_ROLES and "data" not in roles:
        return False
    kind = str(asset.get("type") or "")
    return "data" in roles or kind.startswith(_RASTER_TYPES)


def _item(fetcher: StacFetcher, doc: dict, base: str) -> dict[str, Any]:
    """``doc`` with only its raster assets, their hrefs absolute and under the entries."""
    if doc.get("type") != "Feature" or not isinstance(doc.get("assets"), dict):
        raise _param(f"a document at {host_of(base)} is no STAC Item.")
    props = doc.get("properties") or {}
    assets = {}
    for key, asset in doc["assets"].items():
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
            continue
        if not _is_band(asset):
            continue
        href = fetcher.resolve(asset["href"], base)
        if fetcher.entry(href, assets=True) is None:
            raise fetcher.outside(href, "asset href")
        assets[key] = {**asset, "href": href}
    has_proj = any(
        (props.get(k) or any(a.get(k) for a in assets.values()))
        for k in ("proj:code", "proj:epsg", "proj:wkt2")
    ) and any(props.get("proj:transform") or a.get("proj:transform") for a in assets.values())
    if assets and not has_proj:
        raise _param(
            f"the STAC item '{doc.get('id')}' at {host_of(base)} has no projection metadata "
            "(proj:code or proj:epsg, proj:shape, proj:transform), which load_stac needs."
        )
    return {**doc, "links": [], "assets": assets}


def _proj(item: dict, key: str):
    props = item.get("properties") or {}
    if props.get(key) is not None:
        return props[key]
    return next((a[key] for a in item["assets"].values() if a.get(key) is not None), None)


def _facts(cid: str, items: list[dict], collection: dict, site: str):
    """The planner's facts of ``items`` and the band names (asset keys, first seen first)."""
    names = list(dict.fromkeys(k for item in items for k in item["assets"]))
    item_assets = collection.get("item_assets") or {}
    bands = []
    for name in names:
        asset = next((i["assets"][name] for i in items if name in i["assets"]), {})
        raster = asset.get("raster:bands") or (item_assets.get(name) or {}).get("raster:bands")
        bands.append(band_facts(name, raster))
    first = items[0]
    code = _proj(first, "proj:code") or (
        f"EPSG:{_proj(first, 'proj:epsg')}" if _proj(first, "proj:epsg") else None
    )
    crs = normalise_crs(code) if code else None
    transform = _proj(first, "proj:transform") or []
    resolution = (abs(transform[0]), abs(transform[4])) if len(transform) >= 6 else None
    natives = [b for b in (_native(i) for i in items) if b is not None]
    boxes = [
        tuple(i["bbox"]) for i in items if isinstance(i.get("bbox"), list) and len(i["bbox"]) == 4
    ]
    times = sorted({t for t in (_time(i) for i in items) if t is not None})
    facts = CollectionFacts(
        id=cid,
        sites=(site,),
        bbox=union(boxes) if boxes else None,  # type: ignore[arg-type]
        crs=crs,
        native_bbox=union(natives) if natives else None,  # type: ignore[arg-type]
        resolution=resolution,
        times=tuple(times) or None,
        time_count=len(times) or None,
        bands=tuple(bands),
    )
    return facts, names


def _native(item: dict):
    box = _proj(item, "proj:bbox")
    if isinstance(box, list) and len(box) == 4:
        return tuple(float(v) for v in box)
    transform, shape = _proj(item, "proj:transform"), _proj(item, "proj:shape")
    if not (isinstance(transform, list) and len(transform) >= 6 and isinstance(shape, list)):
        return None
    a, _, c, _, e, f = transform[:6]
    xs, ys = (c, c + a * shape[1]), (f, f + e * shape[0])
    return (min(xs), min(ys), max(xs), max(ys))


def _time(item: dict) -> datetime | None:
    props = item.get("properties") or {}
    value = props.get("datetime") or props.get("start_datetime")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
