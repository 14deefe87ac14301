"""A collection's no-data values become missing values (NaN) as soon as a load is read.

odc-stac fills every pixel without data (outside the items, and where an item's file holds its
nodata value) with the band's ``nodata`` (STAC ``raster:bands``/``nodata``): 0 for Sentinel-2's
uint16 reflectances, 255 for the GFM masks. Left as numbers, reducers count them as values (a
mean or minimum over dates with partial coverage drops towards 0, a maximum of a flood mask is 255
wherever a date is missing). openeo-processes-dask's reducers skip no-data as NaN only
(``np.nanmean`` & co.), so here every band with a nodata value is turned into floating point with
NaN for its no-data before any process sees it:

- float bands keep their dtype (a numeric nodata such as -9999 becomes NaN);
- integer bands with a nodata value become float32 when every value of the dtype is exact in
  float32 (8 and 16 bits), float64 otherwise (32 and 64 bits): each value stays exactly what the
  file holds;
- integer bands without a nodata value stay integers: they declare no missing values.

Why floats and not integers with a separate mask: the processes (openeo-processes-dask's and
ours) work on plain arrays, where NaN is the only missing value every one of them understands.
Packing for transfers between sites stays lossless and about as small as the source: a float
cube of whole numbers and NaN travels as uint8 or uint16 with a NaN code (see ``packing.py``).
See docs/architecture.md ("No-data").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

# The attribute odc-stac (and rioxarray) give a band's no-data value.
NODATA_ATTR = "nodata"


def _declared(nodata: Any) -> float | None:
    """The band's nodata as a number, None when it has none (NaN is a number here)."""
    if nodata is None or isinstance(nodata, bool):
        return None
    try:
        return float(nodata)
    except (TypeError, ValueError):
        return None


def float_dtype_for(dtype: np.dtype) -> np.dtype:
    """The float dtype that holds every value of ``dtype`` exactly (NaN for no-data)."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return dtype
    return np.dtype(np.float32) if dtype.itemsize <= 2 else np.dtype(np.float64)


def loaded_itemsize(band: xr.DataArray) -> int:
    """Bytes per value of ``band`` once its no-data is NaN (``band_as_missing``)."""
    if _declared(band.attrs.get(NODATA_ATTR)) is None:
        return band.dtype.itemsize
    return float_dtype_for(band.dtype).itemsize


def band_as_missing(band: xr.DataArray) -> xr.DataArray:
    """``band`` with its no-data value (attribute ``nodata``) as NaN, in a float dtype (see the
    module's docstring); a band without a nodata value is returned as it is."""
    nodata = _declared(band.attrs.get(NODATA_ATTR))
    if nodata is None:
        return band
    attrs = {**band.attrs, NODATA_ATTR: math.nan}
    is_float = np.issubdtype(band.dtype, np.floating)
    if is_float and math.isnan(nodata):
        return band
    values = band.astype(float_dtype_for(band.dtype), copy=False) if not is_float else band
    # The comparison is with the stored (integer) values: exact whatever the float dtype.
    masked = values.where(band != nodata)
    masked.attrs = attrs
    return masked


def as_missing(ds: xr.Dataset) -> xr.Dataset:
    """Every band of a loaded Dataset with its no-data as NaN (``band_as_missing``)."""
    return ds.assign({name: band_as_missing(ds[name]) for name in ds.data_vars})


def read_itemsize(ds: xr.Dataset) -> int:
    """Bytes per value as read from the files (the widest band): what a load budget counts,
    whatever dtype the missing values make the cube afterwards."""
    return max((ds[name].dtype.itemsize for name in ds.data_vars), default=4)
