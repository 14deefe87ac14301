"""The planner's merge of per-site parts of a split load (``dedl_merge_sites``, never user-facing).

See ``openeo_dedl/planning/split.py`` for when the planner adds it. Its parts lie on one grid (the
per-site loads use the grid of the whole load), so combining them is element-wise or, for parts
with disjoint time steps, a concatenation along time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from openeo_pg_parser_networkx import ProcessRegistry
from openeo_pg_parser_networkx.process_registry import Process

from openeo_dedl.planning.internal import (
    COMBINE_CONCAT,
    COMBINE_FIRST,
    COMBINE_MEAN,
    COMBINE_MEAN_PARTS,
    MERGE_PROCESS,
    PARTIAL_DIMENSION,
    PARTIAL_MEAN_PROCESS,
)

SPEC = {
    "id": MERGE_PROCESS,
    "description": "Internal: combines the per-site parts of a load split by the planner.",
    "parameters": [
        {"name": "cube1", "schema": {"type": "object", "subtype": "datacube"}},
        {"name": "cube2", "schema": {"type": "object", "subtype": "datacube"}},
        {"name": "combine", "schema": {"type": "string"}},
    ],
    "returns": {"schema": {"type": "object", "subtype": "datacube"}},
}

PARTIAL_MEAN_SPEC = {
    "id": PARTIAL_MEAN_PROCESS,
    "description": "Internal: per-site sum and count of a mean over time of a split load.",
    "parameters": [
        {"name": "data", "schema": {"type": "object", "subtype": "datacube"}},
        {"name": "dimension", "schema": {"type": "string"}},
    ],
    "returns": {"schema": {"type": "object", "subtype": "datacube"}},
}


def _time_dim(cube: xr.DataArray) -> str | None:
    dims = getattr(cube.openeo, "temporal_dims", None) if hasattr(cube, "openeo") else None
    if dims:
        return dims[0]
    return next((d for d in ("t", "time") if d in cube.dims), None)


def _missing(cube: xr.DataArray) -> xr.DataArray:
    nodata = cube.attrs.get("nodata")
    missing = cube.isnull()
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        missing = missing | (cube == nodata)
    return missing


def partial_mean(data: xr.DataArray, dimension: str, **_: Any) -> xr.DataArray:
    """The sum (NaN skipped) and the count of non-NaN values of ``data`` along ``dimension``,
    stacked along ``dedl_partial`` ("sum", "count"): a mean's part, combined by the merge.

    What ``mean`` (NaN-skipping, ``np.nanmean``) averages is exactly what is counted here, so
    sums of sums over sums of counts give the same mean as over the whole."""
    dim = dimension if dimension in data.dims else _time_dim(data)
    if dim is None:
        raise ValueError(f"{PARTIAL_MEAN_PROCESS}: no dimension {dimension!r}")
    values = data.astype(np.float64)
    valid = values.notnull()
    total = values.where(valid, 0.0).sum(dim=dim)
    count = valid.sum(dim=dim).astype(np.float64)
    stacked = xr.concat([total, count], dim=PARTIAL_DIMENSION)
    stacked = stacked.assign_coords({PARTIAL_DIMENSION: ["sum", "count"]})
    stacked.attrs = dict(data.attrs)
    stacked.attrs.pop("nodata", None)
    return stacked


def _mean_of_parts(parts: xr.DataArray) -> xr.DataArray:
    total = parts.sel({PARTIAL_DIMENSION: "sum"}, drop=True)
    count = parts.sel({PARTIAL_DIMENSION: "count"}, drop=True)
    return (total / count.where(count > 0)).where(count > 0)


def merge_sites(cube1: xr.DataArray, cube2: xr.DataArray, combine: str, **_: Any) -> xr.DataArray:
    """Combine two per-site parts: ``concat`` (time), ``first`` valid value, ``min|max|sum``, or
    partial means (``mean_parts``: add sums and counts; ``mean``: add, then divide)."""
    with xr.set_options(keep_attrs=True):
        if combine == COMBINE_CONCAT:
            tdim = _time_dim(cube1)
            if tdim is None:
                raise ValueError("dedl_merge_sites: 'concat' needs a temporal dimension")
            merged = xr.concat([cube1, cube2], dim=tdim, join="outer").sortby(tdim)
        elif combine == COMBINE_FIRST:
            nodata = cube1.attrs.get("nodata")
            fill = nodata if nodata is not None else np.nan
            a, b = xr.align(cube1, cube2, join="outer", fill_value=fill)
            merged = a.where(~_missing(a), b)
        elif combine in ("min", "max"):
            ufunc = np.fmin if combine == "min" else np.fmax  # ignore a part's missing values
            merged = xr.apply_ufunc(ufunc, cube1, cube2, dask="allowed")
        elif combine == "sum":
            both_missing = cube1.isnull() & cube2.isnull()
            merged = (cube1.fillna(0) + cube2.fillna(0)).where(~both_missing)
        elif combine == COMBINE_MEAN_PARTS:
            merged = cube1 + cube2  # sums and counts (never NaN) add up
        elif combine == COMBINE_MEAN:
            merged = _mean_of_parts(cube1 + cube2)
        else:
            raise ValueError(f"dedl_merge_sites: unknown combine {combine!r}")
    merged.attrs = dict(cube1.attrs)
    return merged


def add_internal_processes(registry: ProcessRegistry) -> None:
    """Register the processes the planner may add to a graph."""
    registry["predefined", MERGE_PROCESS] = Process(spec=SPEC, implementation=merge_sites)
    registry["predefined", PARTIAL_MEAN_PROCESS] = Process(
        spec=PARTIAL_MEAN_SPEC, implementation=partial_mean
    )
