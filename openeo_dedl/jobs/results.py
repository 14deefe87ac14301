"""Result files of batch jobs, kept with fsspec: ``<results_url>/<job id>/<file name>``.

A local directory by default (``<data_dir>/results``), any fsspec URL (S3-compatible object
storage, ...) in production. Each published file is described by an asset record (size, media
type, and for rasters the projection: EPSG code, shape, transform, bbox) that the job keeps.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import fsspec

from openeo_dedl.config import Settings

logger = logging.getLogger(__name__)

# Asset names are file names we chose: a strict pattern keeps them out of path tricks.
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
CHUNK = 1024 * 1024


class ResultStore:
    """Where job results live."""

    def __init__(self, settings: Settings):
        self.url = settings.results_url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(
            self.url, **dict(settings.jobs.results_storage_options)
        )
        self.root = self.root.rstrip("/")

    def _dir(self, job_id: str) -> str:
        return f"{self.root}/{job_id}"

    def path(self, job_id: str, name: str, run: str = "") -> str:
        """Where result ``name`` of the job's run ``run`` lives (runs never share files)."""
        for part in (name, run) if run else (name,):
            if not ASSET_NAME.match(part) or ".." in part:
                raise ValueError(f"invalid asset name {part!r}")
        folder = f"{self._dir(job_id)}/{run}" if run else self._dir(job_id)
        return f"{folder}/{name}"

    def publish(self, job_id: str, local: Path, name: str, run: str = "") -> int:
        """Copy the local file ``local`` to the job's results as ``name``; return its size."""
        target = self.path(job_id, name, run)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(str(local), target)
        return int(self.fs.size(target))

    def exists(self, job_id: str, name: str, run: str = "") -> bool:
        return bool(self.fs.exists(self.path(job_id, name, run)))

    def size(self, job_id: str, name: str, run: str = "") -> int:
        return int(self.fs.size(self.path(job_id, name, run)))

    def read_chunks(self, job_id: str, name: str, run: str = "") -> Iterator[bytes]:
        """The file's bytes in chunks (for streaming downloads)."""
        with self.fs.open(self.path(job_id, name, run), "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def open(self, job_id: str, name: str, run: str = "") -> IO[bytes]:
        """The file, open for reading bytes (seekable: downloads serve byte ranges of it)."""
        return self.fs.open(self.path(job_id, name, run), "rb")

    def delete(self, job_id: str, run: str = "") -> None:
        """Remove the result files of the job's run ``run`` (default: of every run)."""
        folder = f"{self._dir(job_id)}/{run}" if run else self._dir(job_id)
        try:
            if self.fs.exists(folder):
                self.fs.rm(folder, recursive=True)
        except FileNotFoundError:
            pass


def describe_file(path: Path, media_type: str) -> dict[str, Any]:
    """Metadata of a result file for its STAC asset and the job's item.

    ``proj``: EPSG code, shape, transform and bbox in the file's CRS; ``bbox_wgs84`` and the
    time range (``start``/``end``, ISO strings) when the file has them.
    """
    info: dict[str, Any] = {"type": media_type}
    try:
        if path.suffix == ".tif":
            info.update(_describe_geotiff(path))
        elif path.suffix == ".nc":
            info.update(_describe_netcdf(path))
    except Exception:  # metadata is a bonus: a file we cannot describe is still a result
        logger.warning("could not read the georeference of %s", path.name, exc_info=True)
    return info


def _wgs84_bbox(crs, bounds: tuple[float, float, float, float]) -> list[float] | None:
    from rasterio.warp import transform_bounds

    if crs is None:
        return None
    west, south, east, north = transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21)
    return [round(v, 7) for v in (west, south, east, north)]


def _describe_geotiff(path: Path) -> dict[str, Any]:
    import rasterio

    with rasterio.open(path) as src:
        bounds = tuple(src.bounds)
        proj = {
            "epsg": src.crs.to_epsg() if src.crs else None,
            "shape": [src.height, src.width],
            "transform": list(src.transform)[:6],
            "bbox": list(bounds),
        }
        bands = [d or f"band {i + 1}" for i, d in enumerate(src.descriptions)]
        info = {"proj": proj, "bbox_wgs84": _wgs84_bbox(src.crs, bounds), "bands": bands}
        # What reading it back needs (load_stac of the job): NaN is no JSON, and float
        # results hold NaN for no-data anyway.
        info["dtype"] = str(src.dtypes[0])
        if src.nodata is not None and math.isfinite(src.nodata):
            info["nodata"] = src.nodata
        return info


def _describe_netcdf(path: Path) -> dict[str, Any]:
    import numpy as np
    import rioxarray  # noqa: F401 - registers the .rio accessor
    import xarray as xr

    with xr.open_dataset(path, engine="netcdf4", decode_coords="all") as ds:
        out: dict[str, Any] = {"bands": [str(v) for v in ds.data_vars]}
        if "x" in ds.dims and "y" in ds.dims:
            crs = ds.rio.crs
            bounds = tuple(float(v) for v in ds.rio.bounds())
            out["proj"] = {
                "epsg": crs.to_epsg() if crs else None,
                "shape": [int(ds.sizes["y"]), int(ds.sizes["x"])],
                "transform": list(ds.rio.transform())[:6],
                "bbox": list(bounds),
            }
            out["bbox_wgs84"] = _wgs84_bbox(crs, bounds)
        time_dim = next((d for d in ("t", "time") if d in ds.coords), None)
        if time_dim is not None and ds.sizes.get(time_dim, 0) > 0:
            times = np.sort(ds[time_dim].values.astype("datetime64[s]"))
            out["start"] = f"{times[0]}Z"
            out["end"] = f"{times[-1]}Z"
        return out
