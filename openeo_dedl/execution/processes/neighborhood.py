"""``apply_neighborhood`` on data cubes (openeo-processes-dask registers only an experimental
variant): the cube is cut into chunks of ``size`` along the named dimensions, each chunk with
``overlap`` around it goes through the process, and the chunks without their overlap are put
back together."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import xarray as xr

from openeo_dedl.errors import (
    DataCubeShapeMismatch,
    ProcessException,
    ProcessParameterInvalid,
)
from openeo_dedl.planning.limits import check_kernel


def _extents(data: xr.DataArray, spec: list | None, name: str) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for entry in spec or []:
        dim, value, unit = entry.get("dimension"), entry.get("value"), entry.get("unit")
        if dim not in data.dims:
            raise ProcessException(
                "DimensionNotAvailable",
                f"Dimension '{dim}' of parameter '{name}' is not in the data cube.",
            )
        if value is None:
            out[dim] = None  # the whole dimension
            continue
        if unit not in (None, "px") or not isinstance(value, int) or isinstance(value, bool):
            raise ProcessParameterInvalid(
                f"'{name}' supports whole pixels (unit 'px') only, not {value!r} {unit!r}."
            )
        out[dim] = value
    return out


def apply_neighborhood(data, process, size, overlap=None, context=None):
    if not callable(process):
        raise ProcessParameterInvalid("apply_neighborhood needs a process.")
    sizes = _extents(data, size, "size")
    overlaps = _extents(data, overlap, "overlap")
    dims = [d for d, n in sizes.items() if n is not None and n < data.sizes[d]]
    starts = [range(0, data.sizes[d], sizes[d]) for d in dims]
    rows = []
    for origin in itertools.product(*starts):
        window, inner = {}, {}
        for d, start in zip(dims, origin, strict=True):
            pad = overlaps.get(d) or 0
            lo, hi = max(start - pad, 0), min(start + sizes[d] + pad, data.sizes[d])
            window[d] = slice(lo, hi)
            inner[d] = slice(start - lo, start - lo + min(sizes[d], data.sizes[d] - start))
        chunk = data.isel(window)
        result = process(
            chunk, positional_parameters={"data": 0}, named_parameters={"context": context}
        )
        if not isinstance(result, xr.DataArray) or result.sizes != chunk.sizes:
            # Another shape is DataCubeShapeMismatch; no data cube at all is an invalid process.
            error = (
                DataCubeShapeMismatch
                if isinstance(result, xr.DataArray)
                else ProcessParameterInvalid
            )
            raise error(
                "The process of apply_neighborhood must return a data cube of the chunk's shape."
            )
        rows.append(result.isel(inner))
    if not dims:
        return rows[0]
    combined = xr.combine_by_coords(rows, combine_attrs="override") if len(rows) > 1 else rows[0]
    return combined.transpose(*data.dims).reindex_like(data, method=None)


def apply_kernel(data, kernel, factor=1, border=0, replace_invalid=0, **kwargs):
    """openeo-processes-dask's ``apply_kernel``, with the kernel's size checked first (a
    convolution costs pixels x kernel cells; a computed kernel escapes the static check)."""
    from openeo_dedl.execution.processes._json import call_accepting
    from openeo_dedl.execution.registry import standard_implementation

    check_kernel(kernel)
    return call_accepting(
        standard_implementation("apply_kernel"),
        data=data,
        kernel=kernel,
        factor=factor,
        border=border,
        replace_invalid=replace_invalid,
        **kwargs,
    )


def implementations() -> dict[str, Callable]:
    return {"apply_neighborhood": apply_neighborhood, "apply_kernel": apply_kernel}
