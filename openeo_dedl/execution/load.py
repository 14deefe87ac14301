"""``load_collection``: odc-stac over the catalog's items, with openEO dimension names."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from openeo_dedl.catalog import Catalog
from openeo_dedl.errors import (
    NoDataFound,
    ProcessGraphComplexity,
    ProcessParameterInvalid,
)
from openeo_dedl.execution.band_units import UNITS_ATTR, collection_units
from openeo_dedl.execution.nodata import as_missing, loaded_itemsize, read_itemsize
from openeo_dedl.execution.properties import item_matches, search_filter
from openeo_dedl.planning.extents import (
    BoundingBox,
    TimeInterval,
    bounding_box,
    normalise_crs,
    time_interval,
    union,
)
from openeo_dedl.planning.pixels import Grid, select, to_wgs84
from openeo_dedl.planning.stac import StacSource

logger = logging.getLogger(__name__)


@dataclass
class LoadBudget:
    """Bytes the loads of one run may read (estimated from the lazy cubes' shapes)."""

    max_bytes: int | None
    used_bytes: int = 0

    def charge(self, nbytes: int, collection_id: str) -> None:
        self.used_bytes += nbytes
        if self.max_bytes is not None and self.used_bytes > self.max_bytes:
            raise ProcessGraphComplexity(
                f"Loading '{collection_id}' brings the data of this request to "
                f"{self.used_bytes / 1e6:.1f} MB, above the synchronous limit of "
                f"{self.max_bytes / 1e6:.1f} MB. Narrow spatial_extent/temporal_extent/bands "
                "or use a batch job."
            )


def no_data(collection_id: str, doc: dict) -> NoDataFound:
    """NoDataFound naming what the collection covers (its first, overall, extents)."""
    extent = doc.get("extent") or {}
    boxes = (extent.get("spatial") or {}).get("bbox") or []
    intervals = (extent.get("temporal") or {}).get("interval") or []
    covers = []
    if boxes and len(boxes[0]) == 4:
        w, s, e, n = boxes[0]
        covers.append(f"west {w}, south {s}, east {e}, north {n} (WGS84)")
    if intervals and len(intervals[0]) == 2:
        start, end = (v or "open" for v in intervals[0])
        covers.append(f"from {start} to {end}")
    where = f" Collection '{collection_id}' covers {' '.join(covers)}." if covers else ""
    return NoDataFound(
        f"No data of collection '{collection_id}' matches the given spatial and temporal "
        f"extents and properties.{where}"
    )


def _select_pixels(probe: xr.Dataset, box: BoundingBox, items, collection_id: str, doc: dict):
    """The pixels of ``probe``'s grid (all matching items, lazily) whose centre is in ``box``;
    NoDataFound when there are none."""
    geobox = probe.odc.geobox
    a = geobox.affine
    crs = geobox.crs
    name = f"EPSG:{crs.epsg}" if crs.epsg is not None else normalise_crs(crs.to_wkt())
    grid = Grid(str(name), a.c, a.f, a.a, a.e, geobox.shape.x, geobox.shape.y)
    footprint = union([tuple(i.bbox) for i in items if i.bbox and len(i.bbox) == 4])
    win = select(box, grid, footprint)
    if win.empty:
        raise no_data(collection_id, doc)
    y, x = probe.odc.spatial_dims
    return probe.isel(
        {y: slice(win.row_start, win.row_stop), x: slice(win.col_start, win.col_stop)}
    )


def _dimension_names(collection_doc: dict) -> dict[str, str]:
    """openEO names for odc-stac's dimensions, from the collection's ``cube:dimensions``."""
    names = {"x": "x", "y": "y", "t": "t", "bands": "bands"}
    for name, dim in (collection_doc.get("cube:dimensions") or {}).items():
        kind = dim.get("type")
        if kind == "spatial":
            names[dim.get("axis", name)] = name
        elif kind == "temporal":
            names["t"] = name
        elif kind == "bands":
            names["bands"] = name
    return names


def checked_bands(
    bands: Sequence[str] | str | None,
    available: list[str],
    process_id: str,
    missing_from: str,
) -> list[str] | None:
    """The requested bands as a list (None: all); ProcessParameterInvalid for unknown ones,
    saying they ``missing_from`` (e.g. "do not exist in collection 'X'")."""
    if bands is None:
        return None
    bands = [bands] if isinstance(bands, str) else list(bands)
    missing = [b for b in bands if b not in available]
    if missing:
        raise ProcessParameterInvalid(
            f"The value passed for parameter 'bands' in process '{process_id}' is invalid: "
            f"bands {missing} {missing_from} (available: {available})."
        )
    return bands


def within_interval(cube: xr.DataArray, tdim: str, interval: TimeInterval) -> xr.DataArray:
    """The time labels of ``cube`` in ``interval`` (items are searched by their time range, so
    a load may hold labels outside it)."""
    if tdim not in cube.dims:
        return cube
    start, end = (
        None if t is None else np.datetime64(t.replace(tzinfo=None), "ns")
        for t in (interval.start, interval.end)
    )
    times = cube[tdim].values
    keep = np.ones(times.shape, dtype=bool)
    if start is not None:
        keep &= times >= start
    if end is not None:
        keep &= times < end
    return cube.isel({tdim: keep})


def load_collection_from_catalog(
    catalog: Catalog,
    collection_id: str,
    spatial_extent: Any = None,
    temporal_extent: Any = None,
    bands: Sequence[str] | None = None,
    properties: dict | None = None,
    site: str | None = None,
    budget: LoadBudget | None = None,
    unavailable_sites: Collection[str] = (),
) -> xr.DataArray:
    """A lazy (dask) DataArray with dims (t, bands, y, x) named as the collection says.

    With ``site``, only the items whose first available site is ``site`` are read, on the grid
    of the whole load (the per-site part of an item-level split).
    """
    record = catalog.record(collection_id)
    doc = record.collection.to_dict(include_self_link=False, transform_hrefs=False)
    box = _box(spatial_extent)
    interval = time_interval(temporal_extent)
    # The plan's search (filtered as the plan's was), answered from the cache: no second listing.
    items = catalog.search_items(
        collection_id,
        bbox=None if box is None else to_wgs84(box),
        interval=None if interval is None else (interval.start, interval.end),
        cql2=search_filter(properties),
    )
    return load_items(
        items,
        doc,
        LoadRequest(box, interval, bands, properties),
        budget=budget,
        site=site,
        read_at=lambda item: _read_at(catalog, record, item, unavailable_sites),
    )


def _box(spatial_extent: Any) -> BoundingBox | None:
    box = bounding_box(spatial_extent)
    if box is None and spatial_extent is not None:
        raise ProcessParameterInvalid(
            "The value passed for parameter 'spatial_extent' in process 'load_collection' is "
            "invalid: expected a bounding box with west, south, east, north."
        )
    return box


@dataclass(frozen=True)
class LoadRequest:
    """What a load selects: the parsed extents, the bands (None: all) and the properties."""

    box: BoundingBox | None = None
    interval: TimeInterval | None = None
    bands: Sequence[str] | None = None
    properties: dict | None = None

    @classmethod
    def of(cls, spatial_extent: Any, temporal_extent: Any, bands, properties) -> LoadRequest:
        return cls(_box(spatial_extent), time_interval(temporal_extent), bands, properties)


def load_items(
    items: list,
    doc: dict,
    request: LoadRequest,
    budget: LoadBudget | None = None,
    site: str | None = None,
    read_at: Callable[[Any], str | None] | None = None,
) -> xr.DataArray:
    """The one load of pystac ``items`` of the collection ``doc`` (its ``cube:dimensions``
    name the dimensions and bands) with odc-stac: the pixels whose centre ``request.box``
    holds, no-data as NaN. With ``site``, only the items ``read_at`` places there are read,
    on the grid of the whole load."""
    import odc.stac

    collection_id = str(doc.get("id"))
    box, interval = request.box, request.interval
    if request.properties:
        items = [item for item in items if item_matches(item, request.properties)]
    if not items:
        raise no_data(collection_id, doc)
    available = _band_names(doc, items)
    bands = checked_bands(
        request.bands,
        available,
        "load_collection",
        f"do not exist in collection '{collection_id}'",
    )
    # A first lazy load (metadata only) of the items' whole grid tells the grid and the time
    # steps; the extent then selects its pixels of that grid (planning/pixels.py, the
    # planner's rule), and the chunks follow from the selection. One chunk per time step for
    # the probe: tiling a large grid into many chunks costs time.
    probe_chunks = {"time": 1, "x": 1 << 30, "y": 1 << 30}
    probe = odc.stac.load(items, bands=bands or available, chunks=probe_chunks)
    if box is not None:
        probe = _select_pixels(probe, box, items, collection_id, doc)
    load_kwargs: dict[str, Any] = {"chunks": load_chunks(probe), "geobox": probe.odc.geobox}
    if site is None or read_at is None:
        ds = odc.stac.load(items, bands=bands or available, **load_kwargs)
    else:
        own = [i for i in items if read_at(i) == site]
        ds = _load_site_part(probe, own, bands or available, load_kwargs)
        items = own
    itemsize = read_itemsize(ds)
    ds = as_missing(ds)  # a band's nodata becomes NaN before any process sees it
    cube = ds.to_dataarray(dim="bands")
    if site is not None:
        # The merge of the per-site parts tells missing values by it (to_dataarray drops it).
        nodata = {ds[b].attrs.get("nodata") for b in ds.data_vars}
        if len(nodata) == 1:
            cube.attrs["nodata"] = nodata.pop()
    # Record the grid so writers can georeference even a single remaining row or column.
    cube = cube.rio.write_transform(ds.odc.geobox.transform)
    cube = _rename_dims(cube, _dimension_names(doc))
    if interval is not None:
        cube = within_interval(cube, _dimension_names(doc)["t"], interval)
    if budget is not None:
        budget.charge(int(cube.size) * itemsize, collection_id)
    cube.attrs["openeo_dedl:collection"] = collection_id
    cube.attrs[UNITS_ATTR] = collection_units(doc)
    logger.info(
        "load %s: %d items, shape %s, %.1f MB",
        collection_id,
        len(items),
        dict(cube.sizes),
        cube.nbytes / 1e6,
    )
    return cube


# Bytes per chunk (per band) a load aims at: small chunks of a long stack (a daily series of a
# few climate cells, say) make tens of thousands of tiny read tasks, whose scheduling costs far
# more than the reads.
CHUNK_BYTES = 64 * 2**20
# Spatial chunk sides are multiples of this (the demo COGs' and most COGs' block size).
CHUNK_ALIGN = 512


def load_chunks(ds: xr.Dataset, target: int = CHUNK_BYTES) -> dict[str, int]:
    """odc-stac ``chunks`` for ``ds`` (a lazy load): square spatial chunks of about ``target``
    bytes, or the whole grid when smaller, then as many time steps as fit into ``target``."""
    # Sized as processes see the values: a band with nodata is float (execution/nodata.py).
    itemsize = max((loaded_itemsize(ds[b]) for b in ds.data_vars), default=4)
    ny, nx = ds.odc.geobox.shape
    side = max(CHUNK_ALIGN, int((target / itemsize) ** 0.5) // CHUNK_ALIGN * CHUNK_ALIGN)
    cy, cx = min(ny, side), min(nx, side)
    steps = ds.sizes.get("time", 1)
    ct = max(1, min(steps, target // max(1, cy * cx * itemsize)))
    return {"time": int(ct), "y": int(cy), "x": int(cx)}


def _read_at(catalog: Catalog, record, item, unavailable: Collection[str]) -> str | None:
    """The site an item is read at: its first site that is not down (as the planner has it)."""
    return next((s for s in catalog.item_sites(item, record) if s not in unavailable), None)


def _load_site_part(whole: xr.Dataset, own, bands, load_kwargs):
    """The part ``own`` of a load (``whole``: all its items, lazily) that one site holds, on
    the grid of the whole load.

    The planner splits a load whose items live at several sites into one load per site (see
    ``openeo_dedl/planning/split.py``): each reads only the items it holds, on the grid the
    whole load would have, so that the parts line up when they are merged. A site without
    matching items gives the whole grid with no time steps.
    """
    import odc.stac

    if not own:
        return whole.isel(time=slice(0, 0))
    return odc.stac.load(own, bands=bands, **load_kwargs)


def _band_names(doc: dict, items) -> list[str]:
    dims = doc.get("cube:dimensions") or {}
    for dim in dims.values():
        if dim.get("type") == "bands" and dim.get("values"):
            return list(dim["values"])
    return sorted({key for item in items for key in item.assets})


def _rename_dims(cube: xr.DataArray, names: dict[str, str]) -> xr.DataArray:
    mapping = {
        "time": names["t"],
        "latitude": names["y"],
        "longitude": names["x"],
        "y": names["y"],
        "x": names["x"],
        "bands": names["bands"],
    }
    mapping = {k: v for k, v in mapping.items() if k in cube.dims and k != v}
    if mapping:
        cube = cube.rename(mapping)
    order = [names[k] for k in ("t", "bands", "y", "x") if names[k] in cube.dims]
    return cube.transpose(*order, ...)


def make_load_collection(
    catalog: Catalog,
    budget: LoadBudget | None,
    unavailable_sites: Collection[str] = (),
    sources: Mapping[str, StacSource] | None = None,
) -> Callable[..., xr.DataArray]:
    """The ``load_collection`` implementation for one run, bound to its catalog and budget;
    items are read at their first site that is not in ``unavailable_sites``. ``sources``: what
    the run's load_stac nodes name (planned as loads of these collection ids); job results
    among them are read from their files."""
    sources = sources or {}

    def load_collection(
        id: str,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        bands: Sequence[str] | None = None,
        properties: dict | None = None,
        dedl_item_site: str | None = None,
        **_: Any,
    ) -> xr.DataArray:
        source = sources.get(id)
        if source is not None and source.items is not None:
            from openeo_dedl.execution.stac_load import (
                load_catalog_item,
                load_external,
                load_job_results,
            )

            request = LoadRequest.of(spatial_extent, temporal_extent, bands, properties)
            if source.is_external:
                return load_external(source, request, budget)
            if source.is_item:
                return load_catalog_item(source, request, budget)
            return load_job_results(source, request, budget)
        # ``dedl_item_site`` is set by the planner only, on the per-site parts of a load whose
        # items live at several sites (validation refuses it in user graphs).
        return load_collection_from_catalog(
            catalog,
            id,
            spatial_extent=spatial_extent,
            temporal_extent=temporal_extent,
            bands=bands,
            properties=properties,
            site=dedl_item_site,
            budget=budget,
            unavailable_sites=unavailable_sites,
        )

    return load_collection
