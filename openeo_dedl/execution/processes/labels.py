"""Processes on dimensions and their labels, as the spec defines them.

openeo-processes-dask's versions: ``rename_labels`` renames non-enumerated labels by position
when ``source`` is empty (the spec: ``LabelsNotEnumerated``); ``filter_bands`` fails when no
band matches (the spec: an empty band dimension); ``dimension_labels`` gives date-times with
nanoseconds (``2020-06-01T00:00:00.000000000Z``); ``add_dimension`` fails on the parser's date-time
labels and keeps temporal labels as strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from openeo_dedl.errors import ProcessException, ProcessParameterInvalid


def _root(value):
    return value.root if hasattr(value, "root") else value


def _timestamp(value) -> pd.Timestamp | None:
    """``value`` as a UTC time stamp without time zone, None if it is no date(-time)."""
    value = _root(value)
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}([T ].*)?$", value):
        return None
    if isinstance(value, int | float | bool) or value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def _require_dimension(data: xr.DataArray, dimension: str) -> None:
    if dimension not in data.dims:
        raise ProcessException(
            "DimensionNotAvailable",
            f"The data cube has no dimension '{dimension}' (it has {list(data.dims)}).",
        )


def _python(label):
    return label.item() if isinstance(label, np.generic) else label


def _key(label) -> tuple:
    """Labels compared by value: 1 and 1.0 are the same label, "1" is another."""
    if isinstance(label, int | float) and not isinstance(label, bool):
        return ("number", float(label))
    return ("text", str(label))


def _enumerated(labels: list) -> bool:
    return all(
        isinstance(label, int | float) and not isinstance(label, bool) and label == i
        for i, label in enumerate(labels)
    )


def rename_labels(data, dimension, target, source=()):
    _require_dimension(data, dimension)
    target = [_root(v) for v in (target or [])]
    source = [_root(v) for v in (source or [])]
    values = data[dimension].values
    temporal = np.issubdtype(values.dtype, np.datetime64)
    labels = [pd.Timestamp(v) for v in values] if temporal else [_python(v) for v in values]
    if not source:
        if not _enumerated(labels):
            raise ProcessException(
                "LabelsNotEnumerated",
                f"The labels of dimension '{dimension}' are not enumerated (0, 1, 2, ...): "
                "`source` is required.",
            )
        if len(target) > len(labels):
            raise ProcessException(
                "LabelMismatch",
                f"{len(target)} target labels for {len(labels)} labels of '{dimension}'.",
            )
        new = target + labels[len(target) :]
    else:
        if len(source) != len(target):
            raise ProcessException(
                "LabelMismatch",
                "The number of labels in the parameters `source` and `target` don't match.",
            )
        keys = [_timestamp(v) for v in source] if temporal else source
        index = {_key(label): i for i, label in enumerate(labels)}
        new = list(labels)
        for key, name, given in zip(keys, target, source, strict=True):
            i = index.get(_key(key)) if key is not None else None
            if i is None:
                raise ProcessException(
                    "LabelNotAvailable", f"Dimension '{dimension}' has no label '{given}'."
                )
            new[i] = name
    if len({_key(v) for v in new}) != len(new):
        raise ProcessException(
            "LabelExists", f"A target label already exists in dimension '{dimension}'."
        )
    stamps = [_timestamp(v) if not isinstance(v, pd.Timestamp) else v for v in new]
    if temporal and all(s is not None for s in stamps):
        coords = pd.DatetimeIndex(stamps).values
    elif all(isinstance(v, str | pd.Timestamp) for v in new):
        coords = np.array(
            [v.isoformat() if isinstance(v, pd.Timestamp) else v for v in new], dtype=str
        )
    else:
        coords = np.array(new, dtype=object if temporal else None)
    out = data.assign_coords({dimension: coords})
    out.attrs = data.attrs
    return out


def _band_dimension(data: xr.DataArray) -> str:
    dims = list(getattr(data.openeo, "band_dims", ()) or ())
    if not dims:
        raise ProcessException("DimensionMissing", "The data cube has no band dimension.")
    return dims[0]


def filter_bands(data, bands=None, wavelengths=None):
    if not bands and not wavelengths:
        raise ProcessException(
            "BandFilterParameterMissing",
            "The process `filter_bands` requires the parameter `bands` to be set.",
        )
    dim = _band_dimension(data)
    names = [str(v) for v in data[dim].values]
    # In the order of `bands`; names that match no band select nothing.
    indices = [
        names.index(b) for b in dict.fromkeys(str(_root(b)) for b in bands or []) if b in names
    ]
    return data.isel({dim: indices})


def dimension_labels(data, dimension):
    _require_dimension(data, dimension)
    values = data[dimension].values
    if np.issubdtype(values.dtype, np.datetime64):
        whole_seconds = (values.astype("datetime64[ns]").astype("int64") % 10**9 == 0).all()
        unit = "s" if whole_seconds else "ms"
        return [str(v) for v in np.datetime_as_string(values, unit=unit, timezone="UTC")]
    return [_python(v) for v in values]


def add_dimension(data, name, label, type="other"):  # noqa: A002 - the spec's parameter name
    if name in data.dims:
        raise ProcessException(
            "DimensionExists", f"The data cube has a dimension '{name}' already."
        )
    label = _root(label)
    if type == "temporal":
        stamp = _timestamp(label)
        if stamp is None:
            raise ProcessParameterInvalid(f"'{label}' is not a date-time label.")
        label = stamp.as_unit("ns").to_datetime64()
    elif hasattr(label, "isoformat"):  # a date-time the parser made of a string label
        label = label.isoformat()
    out = data.expand_dims({name: [label]})
    out.attrs = data.attrs
    return out


def implementations() -> dict[str, Callable]:
    return {
        "rename_labels": rename_labels,
        "filter_bands": filter_bands,
        "dimension_labels": dimension_labels,
        "add_dimension": add_dimension,
    }
