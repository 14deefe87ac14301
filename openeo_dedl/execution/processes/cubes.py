"""``apply_dimension`` (openeo-processes-dask's, with three fixes).

- The process sees the dimension's labels (``array_element(label="B04")`` works inside).
- Labels are kept when the process returns as many values as it got (the standard
  implementation compares instead of assigning, and so loses them).
- A target dimension that exists with several labels is refused with an openEO error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from openeo_dedl.errors import ProcessException, ProcessParameterInvalid


def apply_dimension(data, process, dimension, target_dimension=None, context=None):
    if dimension not in data.dims:
        raise ProcessException(
            "DimensionNotAvailable",
            f"Dimension '{dimension}' is not in the data cube {list(data.dims)}.",
        )
    target = target_dimension or dimension
    if target != dimension and target in data.dims and data.sizes[target] > 1:
        raise ProcessParameterInvalid(
            f"The target dimension '{target}' exists with {data.sizes[target]} labels; "
            "apply_dimension can only replace a dimension with a single label."
        )
    labels = data[dimension].values
    moved = data.transpose(..., dimension)
    result = xr.apply_ufunc(
        process,
        moved,
        input_core_dims=[[dimension]],
        output_core_dims=[[dimension]],
        dask="allowed",
        kwargs={
            "positional_parameters": {"data": 0},
            "named_parameters": {"context": context},
            "axis": moved.get_axis_num(dimension),
            "keepdims": False,
            "source_transposed_axis": data.get_axis_num(dimension),
            "context": context,
            "dim_labels": labels,
        },
        exclude_dims={dimension},
    )
    result = result.transpose(*[d for d in data.dims if d in result.dims], ...)
    n = result.sizes.get(dimension, 1)
    if dimension not in result.dims:
        result = result.expand_dims(dimension, axis=list(data.dims).index(dimension))
    if target == dimension:
        # The spec: labels stay when the number of values is unchanged, else 0, 1, 2, ...
        result = result.assign_coords({dimension: labels if n == len(labels) else np.arange(n)})
    else:
        if target in result.dims:
            result = result.drop_vars(target, errors="ignore").squeeze(target, drop=True)
        result = result.rename({dimension: target}).assign_coords({target: np.arange(n)})
    result.attrs = data.attrs
    if data.rio.crs is not None:
        result = result.rio.write_crs(data.rio.crs)
    return result


def load_stac(url=None, **_):
    """Never reads anything: the planner turns every top-level load_stac into the load of what
    its URL names (``planning/stac.py``), so one that runs is inside a callback."""
    from openeo_dedl.errors import ProcessParameterInvalid

    raise ProcessParameterInvalid(
        "The value passed for parameter 'url' in process 'load_stac' is invalid: load_stac "
        "runs at the top level of a process graph only, not inside a callback."
    )


def implementations() -> dict[str, Callable]:
    return {"apply_dimension": apply_dimension, "load_stac": load_stac}
