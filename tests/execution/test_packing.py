"""Cubes crossing sites are packed into the smallest lossless dtype and restored exactly."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from openeo_dedl.execution.packing import PACKED_ATTR, pack, unpack


def _cube(data, **attrs) -> xr.DataArray:
    data = np.asarray(data)
    dims = ("y", "x")[-data.ndim :] if data.ndim <= 2 else ("t", "y", "x")
    return xr.DataArray(data, dims=dims, attrs=attrs)


def _round_trip(cube: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    packed = pack(cube)
    restored = unpack(packed)
    assert restored.dtype == cube.dtype
    np.testing.assert_array_equal(restored.values, cube.values)  # NaN where NaN
    assert restored.attrs == cube.attrs
    assert PACKED_ATTR not in restored.attrs
    return packed, restored


@pytest.mark.parametrize(
    ("data", "packed_dtype"),
    [
        ([[0.0, 1.0], [np.nan, 1.0]], np.uint8),  # a mask after a comparison
        ([[3.0, 254.0], [0.0, 17.0]], np.uint8),  # classes without no-data
        ([[0.5, 1.25], [np.nan, -2.0]], np.float32),  # float64 values float32 holds exactly
        ([[0.1, 0.2], [0.3, np.nan]], np.float64),  # not exact in float32: left alone
        ([[1.0, np.inf], [0.0, 1.0]], np.float32),  # infinities never become codes
        ([[-0.0, 1.0], [0.0, 1.0]], np.float32),  # -0.0 keeps its sign
        ([[255.0, 1.0], [0.0, 1.0]], np.uint16),  # 255 is uint8's NaN code, not a value
        # An integer band with no-data as loaded (nodata.py): its whole numbers and NaN.
        (np.array([[1.0, 10000.0], [np.nan, 65534.0]], dtype=np.float32), np.uint16),
        (np.array([[1.0, 65535.0], [np.nan, 2.0]], dtype=np.float32), np.float32),
        (np.array([[0.0, 1.0], [np.nan, 1.0]], dtype=np.float32), np.uint8),
        (np.array([[1, 2], [3, 4]], dtype=np.int64), np.uint8),
        (np.array([[-5, 2], [300, 4]], dtype=np.int64), np.int16),
        (np.array([[0, 70000]], dtype=np.int64), np.uint32),
        (np.array([[0, 1]], dtype=np.uint8), np.uint8),
        (np.array([[True, False]]), np.bool_),
    ],
)
def test_packing_is_lossless_and_narrow(data, packed_dtype):
    cube = _cube(data, nodata=0, units="mm")
    packed, _ = _round_trip(cube)
    assert packed.dtype == packed_dtype
    assert packed.nbytes <= cube.nbytes


def test_a_float_mask_ships_in_an_eighth_of_its_bytes():
    rng = np.random.default_rng(1)
    mask = (rng.random((3, 40, 50)) < 0.5).astype("float64")
    mask[0, :5, :5] = np.nan
    packed, restored = _round_trip(_cube(mask))
    assert packed.nbytes * 8 == mask.nbytes
    assert np.isnan(restored.values[0, :5, :5]).all()


def test_coordinates_survive_and_empty_cubes_pass():
    cube = xr.DataArray(
        np.array([[1.0, 0.0, np.nan]]),
        dims=("y", "x"),
        coords={"y": [5.0], "x": [1.0, 2.0, 3.0]},
    )
    _, restored = _round_trip(cube)
    assert restored.coords.to_dataset().equals(cube.coords.to_dataset())
    empty = xr.DataArray(np.zeros((0, 3)), dims=("y", "x"))
    _round_trip(empty)


def test_values_other_than_cubes_pass_unchanged():
    for value in (3.5, [1, 2], {"a": 1}, None, np.arange(3)):
        assert pack(value) is value
        assert unpack(value) is value
