"""A batch job's netCDF result as a data cube again (load_stac of ``/jobs/{id}/results``).

save_result writes netCDF as one variable per band over (t, y, x) or (y, x) with a CF grid
mapping (``execution/save.py``). odc-stac (GDAL) would see a netCDF file's time steps as raster
bands of one subdataset per variable, so the file is opened with xarray instead (netCDF4,
lazily, chunked; a local results store only): the variables become the ``bands`` dimension
again, the extent selects the pixels whose centre it holds (the planner's rule,
``planning/pixels.py``), the time extent the time labels. It is read where the load is
placed: the site that made the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from openeo_dedl.errors import NoDataFound, ProcessParameterInvalid
from openeo_dedl.execution.load import LoadBudget, LoadRequest, checked_bands, within_interval
from openeo_dedl.planning import BandFacts, CollectionFacts
from openeo_dedl.planning.pixels import Grid, select
from openeo_dedl.planning.stac import JOB_RESULTS_PREFIX, StacSource

NETCDF = "netcdf"


def _open(href: str) -> xr.Dataset:
    """The file lazily, with the netCDF4 library that wrote it (so a local results store:
    netCDF4 reads no fsspec file objects, and h5py is not installed)."""
    if "://" in href and not href.startswith("file://"):
        raise ProcessParameterInvalid(
            "The value passed for parameter 'url' in process 'load_stac' is invalid: netCDF "
            "results are read again only from a local results store (jobs.results_url); "
            "save the job's result as GTiff to load it here."
        )
    return xr.open_dataset(
        href.removeprefix("file://"), engine="netcdf4", decode_coords="all", chunks={}
    )


def _spatial(ds: xr.Dataset) -> list[str]:
    return [str(v) for v in ds.data_vars if {"x", "y"} <= set(ds[v].dims)]


def netcdf_job_source(
    job_id: str, asset: dict, href: str, site: str, bbox: list | None
) -> StacSource:
    """The netCDF result ``asset`` of job ``job_id`` (at ``href``) as a source read at
    ``site``; its facts from the result's metadata and the file's labels."""
    proj = asset["proj"]
    a, _, c, _, e, f = proj["transform"][:6]
    height, width = proj["shape"]
    with _open(href) as ds:
        names = _spatial(ds)
        tdim = next((d for d in ("t", "time") if d in ds.coords), None)
        times = [] if tdim is None else [np.datetime64(v, "s").item() for v in ds[tdim].values]
        dtypes = {n: str(ds[n].dtype) for n in names}
    from datetime import UTC

    times = sorted(t.replace(tzinfo=UTC) for t in times)
    west, north = c, f
    east, south = c + a * width, f + e * height
    collection_id = JOB_RESULTS_PREFIX + job_id
    facts = CollectionFacts(
        id=collection_id,
        sites=(site,),
        bbox=tuple(bbox) if bbox else None,  # type: ignore[arg-type]
        crs=f"EPSG:{proj['epsg']}",
        native_bbox=(min(west, east), min(south, north), max(west, east), max(south, north)),
        resolution=(abs(a), abs(e)),
        times=tuple(times) or None,
        time_count=len(times) or 1,
        bands=tuple(BandFacts(name=n, dtype=dtypes[n]) for n in names),
    )
    meta: dict[str, Any] = {
        "id": collection_id,
        "format": NETCDF,
        "href": href,
        "band_names": names,
        "grid": [proj["epsg"], c, f, a, e, width, height],
    }
    return StacSource(collection_id, facts, items=(), collection=meta)


def load_netcdf_results(
    source: StacSource, request: LoadRequest, budget: LoadBudget | None
) -> xr.DataArray:
    """The netCDF job result of ``source`` selected by ``request``: dims (t, bands, y, x)
    when it has time steps, else (bands, y, x)."""
    meta = source.collection or {}
    ds = _open(str(meta["href"]))
    names = _spatial(ds)
    bands = checked_bands(request.bands, names, "load_stac", "are not in these results")
    cube = ds[bands or names].to_dataarray(dim="bands")
    if "time" in cube.dims and "t" not in cube.dims:
        cube = cube.rename(time="t")
    if request.box is not None:
        epsg, c, f, a, e, width, height = meta["grid"]
        grid = Grid(f"EPSG:{epsg}", c, f, a, e, width, height)
        win = select(request.box, grid, source.facts.bbox)
        if win.empty:
            raise NoDataFound(
                f"No data of the results '{source.collection_id}' matches the given extents."
            )
        cube = cube.isel(y=slice(win.row_start, win.row_stop), x=slice(win.col_start, win.col_stop))
    if request.interval is not None:
        cube = within_interval(cube, "t", request.interval)
    order = [d for d in ("t", "bands", "y", "x") if d in cube.dims]
    cube = cube.transpose(*order, ...)
    if budget is not None:
        budget.charge(int(cube.size) * cube.dtype.itemsize, source.collection_id)
    cube.attrs = {"openeo_dedl:collection": source.collection_id}
    return cube
