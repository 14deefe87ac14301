"""``apply_polygon`` (openeo-processes 2.0.0-rc.2, parameter ``geometries``).

Each polygon's pixels (centre inside, the rule of ``mask_polygon``) are cut out as the smallest
grid-aligned window around them, pixels of the window outside the polygon set to ``mask_value``
(no-data by default), and the window goes through the process. The results are put back at the
polygon's pixels; pixels outside every polygon are ``mask_value`` in the result too. Polygons
sharing a pixel are refused (``GeometriesOverlap``), so every pixel is processed at most once.
The windows stay lazy on dask-backed cubes: only the masks (y × x) are computed here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from openeo_dedl.errors import DataCubeShapeMismatch, ProcessException, ProcessParameterInvalid
from openeo_dedl.execution.processes.spatial import (
    _POLYGONS,
    _geodataframe,
    _spatial_dims,
    geometry_hits,
)
from openeo_dedl.planning.extents import WGS84


def _window(inside: np.ndarray, x: str, y: str) -> dict[str, slice]:
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    return {y: slice(rows[0], rows[-1] + 1), x: slice(cols[0], cols[-1] + 1)}


def _processed(process: Callable, sub: xr.DataArray, context) -> xr.DataArray:
    result = process(sub, positional_parameters={"data": 0}, named_parameters={"context": context})
    if not isinstance(result, xr.DataArray):
        raise ProcessParameterInvalid("The process of apply_polygon must return a data cube.")
    if set(result.dims) != set(sub.dims) or any(result.sizes[d] != sub.sizes[d] for d in sub.dims):
        raise DataCubeShapeMismatch(
            "The process of apply_polygon must return a data cube of its input's dimensions "
            "and number of labels."
        )
    # The labels may change inside the process; the result keeps the input's (the spec).
    return result.transpose(*sub.dims).assign_coords({d: sub[d] for d in sub.dims})


def apply_polygon(data, geometries, process, mask_value=None, context=None):
    if not callable(process):
        raise ProcessParameterInvalid("apply_polygon needs a process.")
    x, y = _spatial_dims(data)
    gdf = _geodataframe(geometries, data.rio.crs or WGS84)
    if gdf.empty or not all(g.geom_type in _POLYGONS for g in gdf.geometry):
        raise ProcessParameterInvalid(
            "apply_polygon needs at least one Polygon or MultiPolygon geometry."
        )
    xs, ys = data[x].values, data[y].values
    fill = np.nan if mask_value is None else mask_value
    coords = {y: data[y], x: data[x]}
    taken = np.zeros((len(ys), len(xs)), dtype=bool)
    out = data.where(xr.DataArray(taken, dims=(y, x), coords=coords), fill)
    for i in range(len(gdf)):
        inside = geometry_hits(gdf.iloc[[i]], xs, ys)
        if not inside.any():
            continue  # no pixel centre in this polygon: nothing to process
        if (inside & taken).any():
            raise ProcessException(
                "GeometriesOverlap",
                "Geometries are not allowed to overlap to avoid that pixel values are "
                "processed multiple times.",
            )
        taken |= inside
        window = _window(inside, x, y)
        sub_inside = xr.DataArray(inside, dims=(y, x), coords=coords).isel(window)
        sub = data.isel(window).where(sub_inside, fill)
        piece = _processed(process, sub, context).reindex_like(data)
        out = xr.where(xr.DataArray(inside, dims=(y, x), coords=coords), piece, out)
    out = out.transpose(*data.dims)
    out.attrs = data.attrs
    return out


def implementations() -> dict[str, Callable]:
    return {"apply_polygon": apply_polygon}
