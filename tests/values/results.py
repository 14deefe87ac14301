"""Reading the server's result files (netCDF, GTiff) as plain arrays, with what they declare."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import rasterio
from pyproj import CRS


@dataclass
class Result:
    """One band of a result file, x ascending and y descending (north up).

    ``raw`` holds the stored numbers; ``fill`` is the declared no-data value (netCDF
    ``_FillValue`` or ``missing_value``, GTiff nodata tag), None if the file declares none;
    ``values`` is ``raw`` as float64 with NaN where it equals ``fill`` or is NaN.
    """

    crs: CRS | None
    xs: np.ndarray
    ys: np.ndarray
    times: list[np.datetime64] | None
    raw: np.ndarray
    dtype: str
    fill: float | None
    values: np.ndarray


def _masked(raw: np.ndarray, fill: float | None) -> np.ndarray:
    values = raw.astype("float64")
    if fill is not None and not math.isnan(fill):
        values[raw == fill] = np.nan
    return values


def _north_up(xs, ys, raw):
    """Flip to x ascending, y descending: the order is not what the tests check."""
    if len(xs) > 1 and xs[1] < xs[0]:
        xs, raw = xs[::-1], raw[..., ::-1]
    if len(ys) > 1 and ys[1] > ys[0]:
        ys, raw = ys[::-1], raw[..., ::-1, :]
    return np.asarray(xs), np.asarray(ys), np.ascontiguousarray(raw)


def read_netcdf(path: Path, band: str) -> Result:
    """The variable ``band`` (or the only data variable) of a netCDF file."""
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        names = [
            n for n, v in ds.variables.items() if {"x", "y"} <= set(v.dimensions) and v.ndim >= 2
        ]
        name = band if band in names else (names[0] if len(names) == 1 else None)
        assert name is not None, f"no variable {band!r} in {sorted(ds.variables)}"
        var = ds[name]
        dims = var.dimensions
        assert dims[-2:] == ("y", "x"), dims
        raw = np.asarray(var[:])
        fill = None
        for attr in ("_FillValue", "missing_value"):
            if attr in var.ncattrs():
                fill = float(np.asarray(var.getncattr(attr)).ravel()[0])
                break
        crs = None
        mapping = var.getncattr("grid_mapping") if "grid_mapping" in var.ncattrs() else None
        if mapping and mapping in ds.variables and "crs_wkt" in ds[mapping].ncattrs():
            crs = CRS.from_wkt(ds[mapping].getncattr("crs_wkt"))
        times = None
        tdims = [d for d in dims[:-2]]
        assert len(tdims) <= 1, dims
        if tdims:
            tvar = ds[tdims[0]]
            when = netCDF4.num2date(
                tvar[:],
                tvar.getncattr("units"),
                tvar.getncattr("calendar") if "calendar" in tvar.ncattrs() else "standard",
                only_use_cftime_datetimes=False,
                only_use_python_datetimes=True,
            )
            times = [np.datetime64(t.replace(tzinfo=None), "ns") for t in when]
        xs, ys = np.asarray(ds["x"][:], "float64"), np.asarray(ds["y"][:], "float64")
    xs, ys, raw = _north_up(xs, ys, raw)
    return Result(crs, xs, ys, times, raw, str(raw.dtype), fill, _masked(raw, fill))


def read_gtiff(path: Path) -> Result:
    """A single-band GeoTIFF (a reduced cube of one band)."""
    with rasterio.open(path) as src:
        assert src.count == 1, src.descriptions
        raw = src.read(1)
        t = src.transform
        assert t.b == 0 and t.d == 0, t
        xs = t.c + (np.arange(src.width) + 0.5) * t.a
        ys = t.f + (np.arange(src.height) + 0.5) * t.e
        crs = CRS.from_wkt(src.crs.to_wkt()) if src.crs else None
        fill = src.nodata
    xs, ys, raw = _north_up(xs, ys, raw)
    return Result(crs, xs, ys, None, raw, str(raw.dtype), fill, _masked(raw, fill))


def read_result(path: Path, fmt: str, band: str) -> Result:
    return read_netcdf(path, band) if fmt == "netCDF" else read_gtiff(path)
