"""A batch job's results as a data cube again (load_stac of ``/jobs/{id}/results``).

Also the items of STAC locations outside the configured catalogs, and one item of a configured
catalog's collection (``load_catalog_item``).

The job's GeoTIFF is one STAC item (``execution/stac_sources.py``) read by the one loader
(``execution/load.py`` ``load_items``: odc-stac, pixel-centre selection, no-data as NaN). A
GeoTIFF keeps bands, and time steps as ``<time>|<band>`` bands (``execution/save.py``): those
become the ``t`` and ``bands`` dimensions again; a result without time steps has none.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import xarray as xr

from openeo_dedl.execution.load import (
    LoadBudget,
    LoadRequest,
    checked_bands,
    load_items,
    within_interval,
)
from openeo_dedl.planning.stac import StacSource


def _instant(label: str) -> np.datetime64:
    when = datetime.fromisoformat(label.replace("Z", "+00:00"))
    return np.datetime64(when.replace(tzinfo=None), "ns")


def load_job_results(
    source: StacSource, request: LoadRequest, budget: LoadBudget | None
) -> xr.DataArray:
    """The job results of ``source`` selected by ``request``, dims (t, bands, y, x) when the
    results have time steps, else (bands, y, x)."""
    import pystac

    meta = source.collection or {}
    if meta.get("format") == "netcdf":
        from openeo_dedl.execution.netcdf_results import load_netcdf_results

        return load_netcdf_results(source, request, budget)
    names: list[str] = list(meta.get("band_names") or [])
    stacked = bool(meta.get("stacked_time"))
    available = [b.name for b in source.facts.bands]
    bands = checked_bands(request.bands, available, "load_stac", "are not in these results")
    wanted = bands
    if stacked and bands is not None:
        wanted = [n for n in names if n.rsplit("|", 1)[-1] in bands]
    doc = {
        "id": source.collection_id,
        "cube:dimensions": {
            "x": {"type": "spatial", "axis": "x"},
            "y": {"type": "spatial", "axis": "y"},
            "t": {"type": "temporal"},
            "bands": {"type": "bands", "values": names},
        },
    }
    items = [pystac.Item.from_dict(d) for d in source.items or ()]
    # Time is in the band labels (or nowhere): selected after the load, not by the item's time.
    cube = load_items(items, doc, replace(request, bands=wanted, interval=None), budget=budget)
    cube = cube.isel(t=0, drop=True)
    if stacked:
        labels = [str(v) for v in cube["bands"].values]
        times = list(dict.fromkeys(n.split("|", 1)[0] for n in labels))
        steps = []
        for t in times:
            part = cube.isel(bands=[i for i, n in enumerate(labels) if n.split("|", 1)[0] == t])
            inner = [n.rsplit("|", 1)[-1] for n in part["bands"].values]
            steps.append(part.assign_coords(bands=inner))
        cube = xr.concat(steps, dim="t").assign_coords(t=[_instant(t) for t in times])
        cube = cube.transpose("t", "bands", "y", "x")
        if request.interval is not None:
            cube = within_interval(cube, "t", request.interval)
    cube.attrs["openeo_dedl:collection"] = source.collection_id
    return cube


def load_external(
    source: StacSource, request: LoadRequest, budget: LoadBudget | None
) -> xr.DataArray:
    """The items of a STAC location outside the configured catalogs (``stac_external.py``)
    within ``request``: those intersecting its extents, every asset href of the bands read
    checked first (``source.guard``: under the allowed entries, no redirect out of them)."""
    doc = source.collection or {"id": source.collection_id}
    available = [b.name for b in source.facts.bands]
    bands = checked_bands(request.bands, available, "load_stac", "are not in this STAC location")
    items = _items_within(source, request)
    if source.guard is not None:
        for item in items:
            for key, asset in item.assets.items():
                if bands is None or key in bands:
                    source.guard(asset.href)
    return load_items(items, doc, replace(request, bands=bands), budget=budget)


def _items_within(source: StacSource, request: LoadRequest) -> list:
    """The items of ``source`` (pystac) that intersect ``request``'s extents, as a catalog's
    search selects them."""
    import pystac

    from openeo_dedl.catalog.catalog import items_within
    from openeo_dedl.planning.pixels import to_wgs84

    box = None if request.box is None else to_wgs84(request.box)
    interval = None if request.interval is None else (request.interval.start, request.interval.end)
    return items_within((pystac.Item.from_dict(d) for d in source.items or ()), box, interval)


def load_catalog_item(
    source: StacSource, request: LoadRequest, budget: LoadBudget | None
) -> xr.DataArray:
    """One item of a configured catalog's collection (``stac_items.py``) within ``request``,
    read as ``load_collection`` of its collection reads it (the collection's document names
    the bands and dimensions; errors name the collection)."""
    doc = source.collection or {"id": source.collection_id}
    return load_items(_items_within(source, request), doc, request, budget=budget)
