"""Lossless narrowing of cubes that cross sites: ship the smallest dtype that holds the values.

openEO arithmetic and comparisons make float64 cubes of values that fit in far fewer bytes: a
mask is 0, 1 and NaN; a count is a small integer; an integer band with a nodata value is loaded
as floats with NaN for no-data (``nodata.py``), whole numbers of its own 8 or 16 bit range. The
producing site packs such a cube before it leaves (``pack``), the consuming side restores the
original dtype (``unpack``), so the values the next partition sees are exactly those computed,
and only the packed bytes cross sites.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

PACKED_ATTR = "openeo_dedl:packed"
# The uint8 code of NaN when a float cube holds only small non-negative integers and NaN.
NAN_CODE = 255
# Unsigned integer codes of whole numbers and NaN, narrowest first: the dtype and its NaN code
# (its largest value, which the values must stay below).
WHOLE_NUMBER_CODES = ((np.uint8, NAN_CODE), (np.uint16, 2**16 - 1))


def _narrow_float(data: np.ndarray) -> tuple[np.ndarray, dict] | None:
    finite = np.isfinite(data)
    values = data[finite]
    # Whole numbers and NaN (masks, classes, counts, integer bands with no-data) as uint8 or
    # uint16 when narrower; -0.0 would lose its sign, infinities have no code.
    if not np.isinf(data).any():
        for code_dtype, nan_code in WHOLE_NUMBER_CODES:
            if np.dtype(code_dtype).itemsize >= data.dtype.itemsize:
                break
            if _small_whole_numbers(values, nan_code):
                codes = np.full(data.shape, nan_code, dtype=code_dtype)
                codes[finite] = values.astype(code_dtype)
                return codes, {"dtype": data.dtype.str, "nan_code": nan_code}
    if data.dtype == np.float64:
        single = data.astype(np.float32)
        if np.array_equal(single.astype(np.float64), data, equal_nan=True):
            return single, {"dtype": data.dtype.str}
    return None


def _small_whole_numbers(values: np.ndarray, nan_code: int = NAN_CODE) -> bool:
    if values.size == 0:
        return True
    if values.min() < 0 or values.max() >= nan_code:
        return False
    if not np.array_equal(values, np.floor(values)):
        return False
    return not np.signbit(values).any()


def _narrow_int(data: np.ndarray) -> tuple[np.ndarray, dict] | None:
    if data.size == 0:
        return None
    low, high = int(data.min()), int(data.max())
    for candidate in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32):
        info = np.iinfo(candidate)
        if np.dtype(candidate).itemsize >= data.dtype.itemsize:
            return None
        if info.min <= low and high <= info.max:
            return data.astype(candidate), {"dtype": data.dtype.str}
    return None


def pack(value: Any) -> Any:
    """``value`` with its data in the smallest lossless dtype (a computed DataArray), or as is."""
    if not isinstance(value, xr.DataArray) or PACKED_ATTR in value.attrs:
        return value
    data = np.asarray(value.data)
    if np.issubdtype(data.dtype, np.floating):
        narrowed = _narrow_float(data)
    elif np.issubdtype(data.dtype, np.integer):
        narrowed = _narrow_int(data)
    else:
        narrowed = None
    if narrowed is None:
        return value
    codes, info = narrowed
    packed = value.copy(data=codes)
    packed.attrs = {**value.attrs, PACKED_ATTR: info}
    return packed


def unpack(value: Any) -> Any:
    """The cube ``pack`` was given: the original dtype, NaN where it was NaN."""
    if not isinstance(value, xr.DataArray) or PACKED_ATTR not in value.attrs:
        return value
    attrs = dict(value.attrs)
    info = attrs.pop(PACKED_ATTR)
    codes = np.asarray(value.data)
    data = codes.astype(np.dtype(info["dtype"]))
    if "nan_code" in info:
        data[codes == info["nan_code"]] = np.nan
    restored = value.copy(data=data)
    restored.attrs = attrs
    return restored
