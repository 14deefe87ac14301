"""``resample_spatial`` with its arguments and output size checked first, and
``resample_cube_spatial``: openeo-processes-dask's (odc-geo's reprojection), with two shortcuts.

- A small lazy source is computed first: odc-geo sizes the output tiles like the source's
  chunks, so a tiny source (a reduced 2x2 cube, say) would split a large target grid into tens
  of thousands of tasks.
- Onto a coarser grid that is *aligned* with the source (same CRS, target pixels made of whole
  k x k blocks of source pixels), ``average``, ``min`` and ``max`` of a floating-point cube are
  block reductions (``coarsen``): the values GDAL's resampling gives there (NaN pixels ignored,
  all-NaN blocks NaN), at a fraction of the cost of a general warp (the flood use case's 20 m
  flood map onto the 100 m built-up grid: seconds of warping for a reshape and a mean).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import xarray as xr

from openeo_dedl.errors import OpenEOError, ProcessParameterInvalid
from openeo_dedl.planning.limits import check_pixels, crs_problem

# Below this size a dask-backed source is computed before reprojection (see the module's doc).
SMALL_SOURCE_BYTES = 64 * 1024**2

BLOCK_REDUCTIONS = {"average": "mean", "min": "min", "max": "max"}
# How far (in source pixels) grid corners and pixel-size ratios may be off whole numbers and
# still count as aligned: float coordinates of real grids are not exact.
ALIGN_TOLERANCE = 1e-6


def _standard():
    from openeo_dedl.execution.registry import standard_implementation

    return standard_implementation("resample_cube_spatial")


def _whole(value: float) -> int | None:
    nearest = round(value)
    return int(nearest) if math.isclose(value, nearest, abs_tol=ALIGN_TOLERANCE) else None


def aligned_blocks(data: xr.DataArray, target: xr.DataArray) -> tuple[int, int, int, int] | None:
    """``(ky, kx, row, col)`` when each pixel of ``target``'s grid is a ``ky`` x ``kx`` block of
    ``data``'s pixels and the target's first pixel starts at source pixel ``(row, col)`` (may
    lie outside the source); None when the grids are not aligned like that."""
    try:
        src, dst = data.odc.geobox, target.odc.geobox
    except Exception:  # noqa: BLE001 - no usable grid: let the general path decide
        return None
    if src is None or dst is None or src.crs is None or src.crs != dst.crs:
        return None
    a, b = src.affine, dst.affine
    if a.b or a.d or b.b or b.d:  # rotated grids
        return None
    ky, kx = _whole(b.e / a.e), _whole(b.a / a.a)
    if not ky or not kx or ky < 1 or kx < 1 or (ky, kx) == (1, 1):
        return None
    row, col = _whole((b.f - a.f) / a.e), _whole((b.c - a.c) / a.a)
    if row is None or col is None:
        return None
    return ky, kx, row, col


def _block_reduce(data, target, blocks, how: str) -> xr.DataArray:
    """``data`` reduced over aligned blocks onto ``target``'s grid (NaN outside the source);
    the dimensions keep ``data``'s names, as openeo-processes-dask's do."""
    ky, kx, row, col = blocks
    y, x = data.openeo.y_dim, data.openeo.x_dim
    target_y, target_x = target[target.openeo.y_dim].values, target[target.openeo.x_dim].values

    def window(values, dim, start, count):
        # Source pixels [start, start + count) along dim, NaN where they are outside the source.
        size = values.sizes[dim]
        first, last = max(start, 0), min(start + count, size)
        if last <= first:  # no overlap (dask cannot pad an empty axis)
            return values.isel({dim: np.zeros(count, dtype=int)}).where(False)
        values = values.isel({dim: slice(first, last)})
        before, after = first - start, start + count - last
        if before or after:
            values = values.pad({dim: (before, after)}, constant_values=np.nan)
        return values

    source = data.drop_vars([d for d in (y, x) if d in data.coords])
    source = window(source, y, row, len(target_y) * ky)
    source = window(source, x, col, len(target_x) * kx)
    reduced = getattr(source.coarsen({y: ky, x: kx}), how)()  # NaN skipped (floats)
    return reduced.assign_coords({y: target_y, x: target_x})


def resample_cube_spatial(data, target, method="near", options=None, **_):
    """openeo-processes-dask's ``resample_cube_spatial``, with the shortcuts of this module."""
    impl = _standard()
    how = BLOCK_REDUCTIONS.get(method)
    nodata = getattr(data.odc, "nodata", None)
    if (
        how is not None
        and np.issubdtype(data.dtype, np.floating)
        and (nodata is None or np.isnan(nodata))
    ):
        blocks = aligned_blocks(data, target)
        if blocks is not None:
            out = _block_reduce(data, target, blocks, how)
            out = out.rio.write_crs(target.rio.crs)
            out.attrs = {k: v for k, v in data.attrs.items() if k.lower() != "crs"}
            return out
    if hasattr(data, "chunks") and data.chunks is not None and data.nbytes <= SMALL_SOURCE_BYTES:
        # Runs on the current (site) client: see runner._on_cluster.
        data = data.compute()
    return impl(data=data, target=target, method=method, options=options)


def _invalid(name: str, why: str) -> OpenEOError:
    return ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process 'resample_spatial' is invalid: {why}."
    )


def output_pixels(data: xr.DataArray, projection, resolution) -> float | None:
    """x × y pixels of ``data`` resampled to ``resolution`` in ``projection`` (None: its own
    CRS); None when the cube has no usable grid."""
    try:
        geobox = data.odc.geobox
    except Exception:  # noqa: BLE001 - no grid: the implementation says what is wrong
        return None
    if geobox is None or geobox.crs is None:
        return None
    extent = geobox.extent if projection is None else geobox.extent.to_crs(projection)
    box = extent.boundingbox
    rx, ry = (resolution, resolution) if not isinstance(resolution, list | tuple) else resolution
    return (abs(box.right - box.left) / rx) * (abs(box.top - box.bottom) / ry)


def resample_spatial(data, resolution=0, projection=None, method="near", **kwargs):
    """openeo-processes-dask's ``resample_spatial``, after checking the arguments and the size
    of the output: a resolution of 1e-9 on a 5 x 5 cube took 11.6 GB before failing."""
    if projection is not None:
        problem = crs_problem(projection)
        if problem:
            raise _invalid("projection", problem)
    values = resolution if isinstance(resolution, list | tuple) else [resolution]
    if not all(
        isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r) and r >= 0
        for r in values
    ) or len(values) not in (1, 2):
        raise _invalid("resolution", f"{resolution!r} is not a resolution >= 0")
    if all(r > 0 for r in values) and isinstance(data, xr.DataArray):
        pixels = output_pixels(data, projection, resolution)
        if pixels is not None:
            check_pixels(pixels, f"The number of pixels resample_spatial makes at {resolution}")
    if (
        not isinstance(data, xr.DataArray)
        or not isinstance(method, str)
        or data.openeo.x_dim is None
        or data.openeo.y_dim is None
    ):
        return _standard_resample_spatial(data, resolution, projection, method, **kwargs)
    target = _grid_cube(output_grid(data, projection, resolution, kwargs.get("align")))
    target = target.rename(
        {target.openeo.y_dim: data.openeo.y_dim, target.openeo.x_dim: data.openeo.x_dim}
    )
    # openeo-processes-dask's resample_cube_spatial onto that grid: the reprojection its
    # resample_spatial does, on our grid. Not this module's shortcuts: computing a small
    # source first would make the (often much larger) output eager.
    return _standard()(data=data, target=target, method=method)


def _standard_resample_spatial(data, resolution, projection, method, **kwargs):
    from openeo_dedl.execution.processes._json import call_accepting
    from openeo_dedl.execution.registry import standard_implementation

    return call_accepting(
        standard_implementation("resample_spatial"),
        data=data,
        resolution=resolution,
        projection=projection,
        method=method,
        **kwargs,
    )


def output_grid(data: xr.DataArray, projection=None, resolution=0, align=None):
    """The grid ``resample_spatial`` makes: the source's extent (projected, without a margin)
    in pixels of ``resolution`` (the source's for 0), aligned to the ``align`` corner
    (``upper-left`` by default). odc-geo's own choice grows the extent by 0.9 source pixels
    and snaps to multiples of the resolution, a ring of empty pixels around the data."""
    from odc.geo.geobox import GeoBox

    source = data.odc.geobox
    crs = source.crs if projection is None else _crs(projection)
    values = resolution if isinstance(resolution, list | tuple) else [resolution, resolution]
    rx, ry = (float(abs(v)) for v in values)
    if not rx or not ry:
        rx, ry = abs(source.resolution.x), abs(source.resolution.y)
    if crs == source.crs:
        box = source.extent.boundingbox
    else:
        box = source.footprint(crs, npoints=100).boundingbox
    width = max(1, math.ceil((box.right - box.left) / rx - ALIGN_TOLERANCE))
    height = max(1, math.ceil((box.top - box.bottom) / ry - ALIGN_TOLERANCE))
    corner = align if align in ALIGNMENTS else "upper-left"
    left = box.left if corner.endswith("left") else box.right - width * rx
    top = box.top if corner.startswith("upper") else box.bottom + height * ry
    from affine import Affine

    return GeoBox((height, width), Affine(rx, 0.0, left, 0.0, -ry, top), crs)


ALIGNMENTS = ("upper-left", "upper-right", "lower-left", "lower-right")


def _crs(projection):
    from odc.geo import CRS

    return CRS(f"EPSG:{projection}" if isinstance(projection, int) else str(projection))


def _grid_cube(geobox) -> xr.DataArray:
    """A small cube on ``geobox`` (its values are never read): the target of a resampling."""
    from odc.geo.xr import xr_zeros

    return xr_zeros(geobox, dtype="uint8", chunks=(4096, 4096))


def implementations() -> dict[str, Callable]:
    return {"resample_cube_spatial": resample_cube_spatial, "resample_spatial": resample_spatial}
