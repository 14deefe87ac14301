"""Writing the demo catalog: COGs, STAC items and collections, region polygons, the marker."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from pystac.stac_io import DefaultStacIO

from openeo_dedl.catalog import STAC_VERSION
from openeo_dedl.demo_data.grid import Grid
from openeo_dedl.demo_data.regions import write_regions
from openeo_dedl.demo_data.specs import COLLECTIONS, SIZES, Band, CollectionSpec, Size
from openeo_dedl.demo_data.stac_fields import (
    SITE_FIELD,
    classes,
    cube_dimensions,
    eo_band,
    iso,
    summaries,
)

logger = logging.getLogger(__name__)

# Bump whenever the output changes, so existing catalogs are regenerated.
GENERATOR_VERSION = 7
MARKER = ".openeo-dedl-demo.json"
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
REGION_FILES = {
    "pakistan": "regions/pakistan_districts.geojson",
    "po_valley": "regions/po_valley_provinces.geojson",
}

DATACUBE = "https://stac-extensions.github.io/datacube/v2.2.0/schema.json"
PROJECTION = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
RASTER = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
CLASSIFICATION = "https://stac-extensions.github.io/classification/v2.0.0/schema.json"
ITEM_ASSETS = "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"

# Partial or replaced directories older than this are leftovers of killed runs.
_STALE_SECONDS = 6 * 3600


class _StacIO(DefaultStacIO):
    """Writes the API's STAC version (1.0.0, which the offline schemas are for) with a stable
    layout, whatever version pystac would stamp on its own."""

    def json_dumps(self, json_dict: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        doc = dict(json_dict)
        if "stac_version" in doc:
            doc["stac_version"] = STAC_VERSION
        # allow_nan=False: a NaN would make the file invalid JSON; nodata NaN is written "nan".
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- rasters -------------------------------------------------------------------------------------


def _tiling(grid: Grid) -> tuple[int, int]:
    """Tile size and overview count: at least one overview level even for tiny rasters."""
    side = max(grid.width, grid.height)
    # GDAL's COG driver wants tiles of at least 128 px; big rasters get bigger tiles.
    blocksize = 512 if side >= 4096 else 256 if side >= 1024 else 128
    levels = max(1, math.ceil(math.log2(side / blocksize)))
    return blocksize, levels


def write_cog(path: Path, data: np.ndarray, grid: Grid, band: Band) -> None:
    """One band as a Cloud-Optimized GeoTIFF (GDAL's COG driver: tiled, with overviews)."""
    blocksize, levels = _tiling(grid)
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": band.dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": band.nodata,
        "compress": "DEFLATE",
        "predictor": "YES",
        "blocksize": blocksize,
        "overview_count": levels,
        # Class codes must not be averaged into codes that do not exist.
        "overview_resampling": "nearest" if band.categorical else "average",
        # GDAL writes no timestamps into TIFFs unless asked; keep it that way (determinism).
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(band.dtype, copy=False), 1)


# -- STAC metadata -------------------------------------------------------------------------------


def _json_number(value: float | int | None) -> float | int | str | None:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def _raster_band(band: Band, res: float) -> dict[str, Any]:
    out: dict[str, Any] = {"data_type": band.dtype}
    if band.nodata is not None:
        out["nodata"] = _json_number(band.nodata)
    out["unit"] = band.unit
    out["sampling"] = "area"
    out["spatial_resolution"] = res
    if band.scale is not None:
        out["scale"] = band.scale
        out["offset"] = band.offset or 0.0
    return out


def _asset_fields(band: Band, res: float) -> dict[str, Any]:
    fields: dict[str, Any] = {"raster:bands": [_raster_band(band, res)]}
    if band.eo:
        fields["eo:bands"] = [eo_band(band)]
    if band.classes:
        fields["classification:classes"] = classes(band)
    return fields


def _item_extensions(spec: CollectionSpec) -> list[str]:
    exts = [PROJECTION, RASTER]
    if any(b.eo for b in spec.bands) or spec.derived_properties:
        exts.append(EO)
    if any(b.classes for b in spec.bands):
        exts.append(CLASSIFICATION)
    return exts


def _collection(spec: CollectionSpec, size: Size) -> pystac.Collection:
    areas = [a for a in spec.areas if a.dates[size]]  # an area without dates has no items
    grids = [a.grid(size) for a in areas]
    dates = sorted({d for a in areas for d in a.dates[size]})
    bboxes = [g.bbox_wgs84() for g in grids]
    union = [
        min(b[0] for b in bboxes),
        min(b[1] for b in bboxes),
        max(b[2] for b in bboxes),
        max(b[3] for b in bboxes),
    ]
    start, end = (pystac.utils.str_to_datetime(iso(d)) for d in (dates[0], dates[-1]))
    extent = pystac.Extent(
        # STAC: the first bbox is the union, further ones describe the parts.
        pystac.SpatialExtent([union, *bboxes] if len(bboxes) > 1 else [union]),
        pystac.TemporalExtent([[start, end]]),
    )
    stac_summaries = summaries(spec, grids)
    classified = [b for b in spec.bands if b.classes]

    extensions = [DATACUBE, ITEM_ASSETS, PROJECTION, RASTER, EO]
    if classified:
        extensions.append(CLASSIFICATION)
    coll = pystac.Collection(
        id=spec.id,
        title=spec.title,
        description=spec.description,
        extent=extent,
        license="CC-BY-4.0",
        keywords=[*spec.keywords, "synthetic", "demo"],
        providers=[
            pystac.Provider(
                "openeo-dedl demo data generator",
                description="Synthetic, deterministic data; no real observations.",
                roles=["producer", "processor"],
            ),
            pystac.Provider(f"DEDL site '{spec.site}' (demo)", roles=["host"]),
        ],
        summaries=pystac.Summaries(stac_summaries),
        stac_extensions=extensions,
    )
    coll.extra_fields["cube:dimensions"] = cube_dimensions(spec, grids, dates)
    coll.extra_fields["item_assets"] = {
        b.name: {
            "type": COG_MEDIA_TYPE,
            "roles": ["data"],
            "title": b.description,
            **_asset_fields(b, grids[0].res),
        }
        for b in spec.bands
    }
    return coll


def _write_items(spec: CollectionSpec, size: Size, coll: pystac.Collection, root: Path) -> None:
    for area in spec.areas:
        grid = area.grid(size)
        blocks = grid.blocks()
        # The corners suffice for the footprint; the bbox comes from densified edges.
        ring = grid.footprint_wgs84(points_per_edge=1)
        bbox = grid.bbox_wgs84()
        for day in area.dates[size]:
            data = {b.name: np.empty((grid.height, grid.width), b.dtype) for b in spec.bands}
            for block in blocks:
                values = spec.model(block, day)
                for b in spec.bands:
                    data[b.name][block.row0 : block.row1] = values[b.name]
            item_id = f"{spec.id}_{area.region}_{day:%Y%m%d}"
            item_dir = root / spec.id / item_id
            item_dir.mkdir(parents=True)
            properties: dict[str, Any] = {
                SITE_FIELD: [spec.site],
                "region": area.region,
                **spec.properties,
                "proj:code": grid.crs,
                "proj:shape": [grid.height, grid.width],
                "proj:transform": list(grid.transform)[:6],
                "proj:bbox": list(grid.bounds),
            }
            if grid.epsg != 4326:
                properties["gsd"] = grid.res
            if spec.derived_properties:
                properties.update(spec.derived_properties(data))
            item = pystac.Item(
                id=item_id,
                geometry={"type": "Polygon", "coordinates": [ring]},
                bbox=bbox,
                datetime=pystac.utils.str_to_datetime(iso(day)),
                properties=properties,
                stac_extensions=_item_extensions(spec),
            )
            for b in spec.bands:
                path = item_dir / f"{b.name}.tif"
                write_cog(path, data[b.name], grid, b)
                item.add_asset(
                    b.name,
                    pystac.Asset(
                        href=str(path),
                        media_type=COG_MEDIA_TYPE,
                        roles=["data"],
                        title=b.description,
                        extra_fields=_asset_fields(b, grid.res),
                    ),
                )
            coll.add_item(item)


def _write_catalog(root: Path, size: Size) -> None:
    catalog = pystac.Catalog(
        id="openeo-dedl-demo",
        title="openeo-dedl demo catalog",
        description=(
            f"Synthetic demo data of openeo-dedl (size '{size}'): collections held at the sites "
            "central, lumi and leonardo, given in each collection's summaries and each item's "
            "properties as 'federation:backends'. Themes: the 2022 Pakistan flood and the 2022 "
            "Po valley drought. Region polygons for aggregation: "
            + ", ".join(REGION_FILES.values())
            + "."
        ),
    )
    for spec in COLLECTIONS:
        started = time.perf_counter()
        coll = _collection(spec, size)
        _write_items(spec, size, coll, root)
        catalog.add_child(coll)
        logger.info("%s: %.1f s", spec.id, time.perf_counter() - started)
    # A trailing slash: pystac would take a last path part with a dot for a file name.
    catalog.normalize_hrefs(str(root) + "/")
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, stac_io=_StacIO())

    by_id = {spec.id: spec for spec in COLLECTIONS}
    write_regions(
        root,
        by_id["GFM_FLOOD"].areas[0].grid(size),
        by_id["S1_SSM"].areas[0].grid(size),
    )


# -- the public entry point ---------------------------------------------------------------------


def _marker_matches(out_dir: Path, wanted: dict[str, Any]) -> bool:
    try:
        return json.loads((out_dir / MARKER).read_text()) == wanted
    except (OSError, ValueError):
        return False


def _replaceable(out_dir: Path) -> bool:
    """Only a directory this generator made (it has a marker) or an empty one is replaced."""
    if not out_dir.exists():
        return True
    if not out_dir.is_dir():
        return False
    return (out_dir / MARKER).exists() or not any(out_dir.iterdir())


def _remove_leftovers(out_dir: Path) -> None:
    now = time.time()
    for pattern in (f".{out_dir.name}.partial-*", f".{out_dir.name}.old-*"):
        for path in out_dir.parent.glob(pattern):
            try:
                if now - path.stat().st_mtime > _STALE_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def generate_demo_catalog(out_dir: Path, size: Size = "small", overwrite: bool = False) -> Path:
    """Write the demo STAC catalog and its COGs into ``out_dir``; return ``out_dir/catalog.json``.

    Returns at once if ``out_dir`` already holds a complete catalog of this ``size`` made by this
    generator version (see the marker file), unless ``overwrite``. The catalog is written into a
    temporary sibling directory whose marker is written last and which is renamed into place, so
    an interrupted run never looks complete. An existing ``out_dir`` is only replaced if this
    generator made it or it is empty; anything else raises ``FileExistsError``.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {list(SIZES)}, not {size!r}")
    # Absolute: asset hrefs are made relative to item files, which needs both absolute.
    out_dir = Path(out_dir).resolve()
    wanted = {"generator": "openeo-dedl", "version": GENERATOR_VERSION, "size": size}
    if not overwrite and _marker_matches(out_dir, wanted):
        return out_dir / "catalog.json"
    if not _replaceable(out_dir):
        raise FileExistsError(
            f"{out_dir} exists, is not empty and was not made by the demo data generator"
        )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the catalog is for everyone to read
        started = time.perf_counter()
        _write_catalog(staging, size)
        (staging / MARKER).write_text(json.dumps(wanted) + "\n")
        logger.info("demo catalog (%s) written in %.1f s", size, time.perf_counter() - started)

        if not overwrite and _marker_matches(out_dir, wanted):
            # Another process finished the same catalog meanwhile; theirs is as good as ours.
            shutil.rmtree(staging)
            return out_dir / "catalog.json"
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
            out_dir.rename(old)
        staging.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / "catalog.json"
