"""``save_result`` and the writers of result files (GTiff, netCDF, JSON)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine

from openeo_dedl.errors import FormatUnsupported, ProcessParameterInvalid
from openeo_dedl.execution.band_units import UNITS_ATTR
from openeo_dedl.execution.result_item import result_item

FORMATS = {"gtiff": "GTiff", "geotiff": "GTiff", "netcdf": "netCDF", "nc": "netCDF", "json": "JSON"}
MEDIA_TYPES = {
    "GTiff": "image/tiff; application=geotiff",
    "netCDF": "application/netcdf",
    "JSON": "application/json",
}
EXTENSIONS = {"GTiff": "tif", "netCDF": "nc", "JSON": "json"}


class SaveRequest(dict):
    """What ``save_result`` asked for; the runner computes ``data`` and writes it.

    As a value it is the STAC Item of the saved result (openeo-processes 2.0.0-rc.2: "Returns
    the STAC resource that was created"), so a process consuming it sees a STAC resource;
    ``data``, ``format`` and ``options`` are what the runner and the writers use.
    """

    def __init__(self, data: Any, format: str, options: dict | None = None) -> None:
        file_name = f"result.{EXTENSIONS[format]}"
        super().__init__(result_item(data, format, file_name, MEDIA_TYPES[format]))
        self.data = data
        self.format = format
        self.options = dict(options or {})

    def __reduce__(self):
        # Rebuilt from its parts (the item is derived from them) when sent between processes.
        return (SaveRequest, (self.data, self.format, self.options))

    def with_data(self, data: Any) -> SaveRequest:
        """The same request for ``data`` (the computed value of a lazy one)."""
        return SaveRequest(data, self.format, self.options)


def normalise_format(name: str) -> str:
    canonical = FORMATS.get(str(name).lower())
    if canonical is None:
        raise FormatUnsupported(
            f"Format '{name}' is not supported for output; use one of GTiff, netCDF, JSON."
        )
    return canonical


def save_result(data: Any, format: str, options: dict | None = None, **_: Any) -> SaveRequest:
    """The ``save_result`` implementation: validates and defers writing to the runner."""
    fmt = normalise_format(format)
    if isinstance(options, dict) and options:
        raise ProcessParameterInvalid(
            "The value passed for parameter 'options' in process 'save_result' is invalid: "
            f"format {fmt} has no options here, got {sorted(options)}."
        )
    return SaveRequest(data=data, format=fmt, options=dict(options or {}))


def default_format(value: Any) -> str:
    """Format for a result without save_result: netCDF for spatial cubes, JSON otherwise."""
    if isinstance(value, xr.DataArray) and {"x", "y"} <= set(value.dims):
        return "netCDF"
    return "JSON"


def write_result(value: Any, fmt: str, out_dir: Path, stem: str = "result") -> Path:
    """Write a computed value in ``fmt`` into ``out_dir``; return the file's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}.{EXTENSIONS[fmt]}"
    if fmt == "JSON":
        path.write_text(json.dumps(to_json_value(value), allow_nan=False))
    elif fmt == "netCDF":
        _write_netcdf(_as_cube(value, fmt), path)
    else:
        _write_gtiff(_as_cube(value, fmt), path)
    return path


def _as_cube(value: Any, fmt: str) -> xr.DataArray:
    if not isinstance(value, xr.DataArray) or not {"x", "y"} <= set(value.dims):
        raise FormatUnsupported(
            f"Format {fmt} needs a raster data cube with spatial dimensions x and y; "
            "use JSON for this result."
        )
    return value


def _band_dim(cube: xr.DataArray) -> str | None:
    return next((d for d in cube.dims if d in ("bands", "band", "b")), None)


def _time_dim(cube: xr.DataArray) -> str | None:
    return next((d for d in cube.dims if d in ("t", "time")), None)


def _write_netcdf(cube: xr.DataArray, path: Path) -> None:
    """One variable per band, CF grid mapping from the cube's CRS."""
    crs = cube.rio.crs
    band_dim = _band_dim(cube)
    if band_dim is not None:
        # Variable names must be strings; labels computed by a process (e.g. quantiles in
        # apply_dimension) are numbers.
        labels = [str(v) for v in cube[band_dim].values]
        ds = cube.assign_coords({band_dim: labels}).to_dataset(dim=band_dim)
    else:
        ds = cube.to_dataset(name=cube.name or "data")
    ds = ds.drop_vars([v for v in ("spatial_ref",) if v in ds.coords])
    nodata = result_nodata(cube)
    units = _units(cube)
    for name in ds.data_vars:
        ds[name].attrs = {"units": units[name]} if name in units else {}
        # Float variables get xarray's default _FillValue (NaN); integers only a declared one,
        # and none when they hold no missing values.
        ds[name].encoding["_FillValue"] = nodata
    ds.attrs = {"Conventions": "CF-1.9", "source": "openeo-dedl"}
    if crs is not None:
        ds = ds.rio.write_crs(crs)
        if band_dim is None:
            # Listed as a coordinate, the grid mapping is not read as a second variable: a
            # cube without bands opens as one DataArray (xarray.open_dataarray), while a cube
            # with bands opens as a Dataset of one variable per band.
            ds["data" if cube.name is None else cube.name].encoding["coordinates"] = "spatial_ref"
    ds.to_netcdf(path, engine="netcdf4")


def _write_gtiff(cube: xr.DataArray, path: Path) -> None:
    """A single GeoTIFF: bands (and, if present, time steps) become raster bands."""
    band_dim, time_dim = _band_dim(cube), _time_dim(cube)
    other = [d for d in cube.dims if d not in (band_dim, time_dim, "x", "y")]
    if other:
        raise FormatUnsupported(
            f"GTiff cannot hold the dimensions {other}; reduce them first or use netCDF."
        )
    stack_dims = [d for d in (time_dim, band_dim) if d is not None]
    names: list[str]
    if not stack_dims:
        arr = cube.transpose("y", "x").expand_dims("band")
        names = [str(cube.name or "data")]
    else:
        arr = cube.transpose(*stack_dims, "y", "x")
        labels = [_label(v) for v in arr[stack_dims[0]].values]
        if len(stack_dims) == 2:
            inner = [_label(v) for v in arr[stack_dims[1]].values]
            names = [f"{a}|{b}" for a in labels for b in inner]
            arr = arr.stack(band=stack_dims).transpose("band", "y", "x")
        else:
            names = labels
            arr = arr.rename({stack_dims[0]: "band"})
    arr = arr.drop_vars([c for c in arr.coords if c not in ("x", "y", "spatial_ref")])
    if arr.dtype == bool:
        arr = arr.astype("uint8")
    # rioxarray writes the band descriptions from the `long_name` attribute (a list: one per
    # band); a `long_name` keyword would only become an unknown creation option, and the
    # descriptions would be the cube's name (or none) instead of its band labels.
    arr.attrs = {"long_name": names}
    arr.name = None
    arr = arr.rio.write_crs(cube.rio.crs) if cube.rio.crs is not None else arr
    arr = arr.rio.write_transform(_pixel_transform(cube))
    nodata = result_nodata(cube)
    if nodata is not None:
        arr = arr.rio.write_nodata(nodata, encoded=False)
    units = _units(cube)
    inner = [n.rsplit("|", 1)[-1] for n in names] if band_dim is not None else []
    _write_cog(arr, path, [units.get(n) for n in inner])


def _write_cog(arr: xr.DataArray, path: Path, units: list[str | None]) -> None:
    """``arr`` as a Cloud Optimized GeoTIFF with its nodata tag, band descriptions and units,
    and the bands' statistics (``STATISTICS_MINIMUM`` & co., no-data skipped) that viewers
    stretch by.

    rioxarray writes no band units, and a COG is written in one go (GDAL's COG driver only
    copies a finished dataset): so a tiled GTiff is written first, labelled, and copied to the
    COG, whose driver computes the statistics (``STATISTICS=YES``).
    """
    import rasterio
    import rasterio.shutil

    draft = path.with_name(f".{path.stem}.draft.tif")
    try:
        arr.rio.to_raster(draft, driver="GTiff", tiled=True, recalc_transform=False)
        if any(units):
            with rasterio.open(draft, "r+") as dst:
                dst.units = tuple(u or "" for u in units)
        rasterio.shutil.copy(draft, path, driver="COG", STATISTICS="YES")
    finally:
        draft.unlink(missing_ok=True)
        Path(f"{draft}.aux.xml").unlink(missing_ok=True)


def result_nodata(cube: xr.DataArray) -> float | int | None:
    """The no-data value a result file declares: NaN for floating point data (missing values
    are NaN from the load on, see ``nodata.py``), the cube's own nodata for integers when it has
    one (integers hold no NaN; without a declared nodata they hold no missing values)."""
    if np.issubdtype(cube.dtype, np.floating):
        return math.nan
    nodata = cube.attrs.get("nodata")
    if not np.issubdtype(cube.dtype, np.integer) or not isinstance(nodata, int | float | np.number):
        return None
    if math.isnan(float(nodata)) or not float(nodata).is_integer():
        return None
    info = np.iinfo(cube.dtype)
    return int(nodata) if info.min <= int(nodata) <= info.max else None


def _units(cube: xr.DataArray) -> dict[str, str]:
    """Band label → unit, for the labels of the cube's band dimension that the loaded collection
    gave a unit (see ``band_units.py``)."""
    recorded = cube.attrs.get(UNITS_ATTR)
    band_dim = _band_dim(cube)
    if not isinstance(recorded, dict) or band_dim is None:
        return {}
    return {str(b): recorded[str(b)] for b in cube[band_dim].values if str(b) in recorded}


def _pixel_transform(cube: xr.DataArray) -> Affine:
    """The affine transform of the cube's grid, also for a single row or column.

    Coordinates give the origin; the step comes from them when there are two or more, else from
    the GeoTransform that loading recorded (slicing changes the origin, never the pixel size).
    """
    recorded = None
    if "spatial_ref" in cube.coords and "GeoTransform" in cube["spatial_ref"].attrs:
        recorded = [float(v) for v in str(cube["spatial_ref"].attrs["GeoTransform"]).split()]

    def step(dim: str, recorded_index: int) -> float:
        values = cube[dim].values
        if len(values) > 1:
            return float(values[1] - values[0])
        if recorded is None:
            raise FormatUnsupported(
                f"Cannot georeference a result with a single {dim} coordinate and no known "
                "pixel size; use netCDF."
            )
        return recorded[recorded_index]

    dx, dy = step("x", 1), step("y", 5)
    x0 = float(cube["x"].values[0]) - dx / 2
    y0 = float(cube["y"].values[0]) - dy / 2
    return Affine(dx, 0.0, x0, 0.0, dy, y0)


def _label(value: Any) -> str:
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    return str(value)


def to_json_value(value: Any) -> Any:
    """A JSON value for scalars, arrays and (small) data cubes; NaN becomes null."""
    if isinstance(value, xr.DataArray):
        if value.ndim == 0:
            return to_json_value(value.values.item())
        return {
            "dims": [str(d) for d in value.dims],
            "coords": {
                str(d): [to_json_value(v) for v in value[d].values]
                for d in value.dims
                if d in value.coords
            },
            "data": to_json_value(value.values),
        }
    if isinstance(value, np.ndarray):
        return (
            [to_json_value(v) for v in value.tolist()]
            if value.ndim
            else to_json_value(value.item())
        )
    if hasattr(value, "compute") and hasattr(value, "dtype"):
        return to_json_value(np.asarray(value))
    if isinstance(value, np.generic):
        return to_json_value(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, np.datetime64):
        return _label(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "root"):
        return to_json_value(value.root)
    if hasattr(value, "__geo_interface__"):
        # Geometries of vector cubes (aggregate_spatial's results) as GeoJSON geometries.
        return to_json_value(value.__geo_interface__)
    return value
