"""Collection facts for the planner, read from the catalog (this side may do I/O)."""

from __future__ import annotations

import re
from datetime import datetime

from openeo_dedl.catalog import Catalog
from openeo_dedl.errors import OpenEOError
from openeo_dedl.execution.properties import item_matches, providers_selected
from openeo_dedl.planning import BandFacts, CollectionFacts, ItemFacts, SearchBounds
from openeo_dedl.planning.extents import normalise_crs, time_interval

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?$")


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _time_count(extent, step) -> int | None:
    """Time steps between the temporal extent's ends for a step like ``P6D`` or ``P1W``."""
    if not isinstance(extent, list) or len(extent) != 2 or not isinstance(step, str):
        return None
    match = _DURATION.match(step)
    try:
        interval = time_interval(extent)
    except OpenEOError:  # a catalog's malformed extent: the count stays unknown
        return None
    if not match or interval is None or None in interval.seconds:
        return None
    start, end = interval.seconds
    days = int(match.group(1) or 0) * 7 + int(match.group(2) or 0)
    if days <= 0:
        return None
    return int((end - start) // (days * 86400)) + 1


def band_facts(name: str, raster_bands: object) -> BandFacts:
    """A band's facts from its asset's ``raster:bands`` (the first entry; float32 and no
    nodata when it says nothing)."""
    first = raster_bands[0] if isinstance(raster_bands, list) and raster_bands else None
    info = first if isinstance(first, dict) else {}
    nodata = info.get("nodata")
    return BandFacts(
        name=name,
        dtype=str(info.get("data_type") or "float32"),
        nodata=nodata if isinstance(nodata, int | float) else None,
    )


def _bands(doc: dict, names: list[str]) -> tuple[BandFacts, ...]:
    assets = doc.get("item_assets") or {}
    return tuple(band_facts(name, (assets.get(name) or {}).get("raster:bands")) for name in names)


def collection_facts(
    catalog: Catalog, collection_id: str, bounds: SearchBounds | None = None
) -> CollectionFacts:
    """What the planner should know about a collection: sites, grid, times, bands, items.

    A static catalog's items are all listed (they are in memory). A STAC API is searched
    within ``bounds`` (the graph's extents; None: the whole collection), so its items and time
    steps are those the loads may read; with more than ``catalog_max_fact_items`` of them the
    planner works with collection-level metadata.
    """
    record = catalog.record(collection_id)
    doc = record.collection.to_dict(include_self_link=False, transform_hrefs=False)
    dims = doc.get("cube:dimensions") or {}
    names = {"x": "x", "y": "y", "t": "t", "bands": "bands"}
    spatial: dict[str, dict] = {}
    temporal: dict = {}
    band_names: list[str] = []
    for name, dim in dims.items():
        kind = dim.get("type")
        if kind == "spatial" and dim.get("axis", name) in ("x", "y"):
            names[dim.get("axis", name)] = name
            spatial[dim.get("axis", name)] = dim
        elif kind == "temporal":
            names["t"] = name
            temporal = dim
        elif kind == "bands":
            names["bands"] = name
            band_names = [str(b) for b in dim.get("values") or []]
    if not band_names:
        eo = (doc.get("summaries") or {}).get("eo:bands") or []
        band_names = [b["name"] for b in eo if isinstance(b, dict) and "name" in b]

    native_bbox = resolution = crs = None
    if "x" in spatial and "y" in spatial:
        x, y = spatial["x"], spatial["y"]
        xe, ye = x.get("extent") or [], y.get("extent") or []
        if len(xe) == 2 and len(ye) == 2 and all(_number(v) is not None for v in (*xe, *ye)):
            native_bbox = (float(xe[0]), float(ye[0]), float(xe[1]), float(ye[1]))
        if _number(x.get("step")) and _number(y.get("step")):
            resolution = (abs(float(x["step"])), abs(float(y["step"])))
        crs = normalise_crs(x.get("reference_system", 4326))

    bbox = None
    boxes = ((doc.get("extent") or {}).get("spatial") or {}).get("bbox") or []
    if boxes and len(boxes[0]) == 4:
        bbox = tuple(float(v) for v in boxes[0])

    items, sites, providers = _item_facts(catalog, collection_id, bounds, crs)
    times = None if items is None else tuple(sorted({i.time for i in items if i.time is not None}))
    return CollectionFacts(
        id=collection_id,
        sites=sites,
        bbox=bbox,  # type: ignore[arg-type]
        crs=crs,
        native_bbox=native_bbox,
        resolution=resolution,
        times=times,
        time_count=_time_count(temporal.get("extent"), temporal.get("step")),
        bands=_bands(doc, band_names),
        items=items,
        dimensions=names,
        providers=providers,
    )


def _item_facts(
    catalog: Catalog, collection_id: str, bounds: SearchBounds | None, crs: str | None
) -> tuple[tuple[ItemFacts, ...] | None, tuple[str, ...], dict[str, str]]:
    """The facts of the items within ``bounds`` (None: too many of them), the collection's sites
    with theirs, and the provider ids that gave sites."""
    record = catalog.record(collection_id)
    wanted = None if bounds is None else bounds.properties
    sites, providers = _wanted_sites(catalog, record, wanted)
    if record.source.kind != "stac_api":
        bounds = None  # a static catalog's items are all in memory: every one is listed
    elif bounds is None:
        return None, tuple(sites), providers  # not searched: the whole collection is too many
    found = catalog.fact_items(
        collection_id,
        bbox=None if bounds is None else bounds.bbox,
        interval=None if bounds is None else bounds.interval,
        cql2=None if bounds is None else _plain_dict(bounds.filter),
    )
    if found is None:
        return None, tuple(sites), providers
    if wanted is not None:  # what the loads read: the items their properties select
        found = [i for i in found if any(item_matches(i, dict(p)) for p in wanted)]
    items = []
    for item in found:
        pairs = catalog.item_providers(item, record)
        providers.update((p, site) for p, site in pairs if p != site)
        sites += [site for _, site in pairs if site not in sites]
        items.append(item_facts(item, tuple(site for _, site in pairs), crs))
    return tuple(items), tuple(sites), providers


def item_facts(item, sites: tuple[str, ...], crs: str | None) -> ItemFacts:
    """The planner's facts of one pystac ``item`` held at ``sites``, of a collection in
    ``crs``."""
    return ItemFacts(
        sites=sites,
        bbox=tuple(item.bbox) if item.bbox and len(item.bbox) == 4 else None,  # type: ignore[arg-type]
        native_bbox=_native_bbox(item, crs),
        time=_item_time(item),
        id=item.id,
        updated=_updated(item),
    )


def _wanted_sites(catalog: Catalog, record, wanted) -> tuple[list[str], dict[str, str]]:
    """The collection's sites and provider ids (provider id -> site) that the loads'
    ``properties`` (``wanted``; None: no conditions) can select by ``federation:backends``; all
    of them when that leaves none (the load then reads nothing, wherever it is placed)."""
    sites = list(catalog.collection_sites(record.id))
    providers = dict(record.providers)
    if not wanted:
        return sites, providers
    ids = {site: [p for p, s in providers.items() if s == site] or [site] for site in sites}
    kept = [s for s in sites if any(providers_selected(p, ids[s]) for p in wanted)]
    if not kept:
        return sites, providers
    return kept, {p: s for p, s in providers.items() if s in kept and any(
        providers_selected(w, [p]) for w in wanted
    )}  # fmt: skip


def _plain_dict(value) -> dict | None:
    return None if value is None else dict(value)


def _native_bbox(item, crs: str | None) -> tuple[float, float, float, float] | None:
    """The item's ``proj:bbox`` when it is in the collection's CRS."""
    box = item.properties.get("proj:bbox")
    code = item.properties.get("proj:code") or (
        f"EPSG:{item.properties['proj:epsg']}" if item.properties.get("proj:epsg") else None
    )
    if not isinstance(box, list) or len(box) != 4 or normalise_crs(code) != crs:
        return None
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def _updated(item) -> str | None:
    value = item.properties.get("updated")
    return value if isinstance(value, str) else None


def _item_time(item) -> datetime | None:
    return item.datetime or item.common_metadata.start_datetime
