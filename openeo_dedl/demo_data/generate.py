"""Writing the demo catalog: one table of collections, one writer."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pystac
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from openeo_dedl.catalog import STAC_VERSION
from openeo_dedl.demo_data import fields

GENERATOR_VERSION = 2
MARKER = ".openeo-dedl-demo.json"
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
SITE_FIELD = "federation:backends"
EXTENSIONS = [
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
]
CLASSIFICATION_EXTENSION = "https://stac-extensions.github.io/classification/v2.0.0/schema.json"

Size = Literal["small", "medium", "large"]
# Grid side factor and time-density factor per size.
SIZE_FACTORS: dict[str, tuple[int, int]] = {"small": (1, 1), "medium": (3, 2), "large": (8, 4)}


@dataclass(frozen=True)
class Band:
    name: str
    dtype: str
    nodata: float | int | None
    unit: str
    description: str
    scale: float | None = None


@dataclass(frozen=True)
class Grid:
    """A native raster grid: top-left corner, pixel size and shape (small size)."""

    region: str
    epsg: int
    x0: float
    y0: float
    res: float
    width: int
    height: int
    # Fixed grids (ERA5's 0.1° boxes) do not grow with the size option.
    scalable: bool = True

    def scaled(self, factor: int) -> Grid:
        if not self.scalable:
            return self
        return Grid(
            self.region,
            self.epsg,
            self.x0,
            self.y0,
            self.res,
            self.width * factor,
            self.height * factor,
        )

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        x = self.x0 + (np.arange(self.width) + 0.5) * self.res
        y = self.y0 - (np.arange(self.height) + 0.5) * self.res
        return np.meshgrid(x, y)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (
            self.x0,
            self.y0 - self.height * self.res,
            self.x0 + self.width * self.res,
            self.y0,
        )

    def bbox_wgs84(self) -> list[float]:
        if self.epsg == 4326:
            return [round(v, 6) for v in self.bounds]
        t = Transformer.from_crs(self.epsg, 4326, always_xy=True)
        return [round(v, 6) for v in t.transform_bounds(*self.bounds)]


# value(band, grid, day, index, X, Y, rng) -> 2-D array
ValueModel = Callable[
    [str, Grid, dt.date, int, np.ndarray, np.ndarray, np.random.Generator], np.ndarray
]


@dataclass(frozen=True)
class CollectionSpec:
    id: str
    site: str
    title: str
    description: str
    keywords: tuple[str, ...]
    bands: tuple[Band, ...]
    grids: tuple[Grid, ...]
    dates: Callable[[str, int], list[dt.date]]  # (region, time factor) -> dates
    values: ValueModel
    time_step: str | None = None
    extra_summaries: dict | None = None


def _every(start: dt.date, end: dt.date, days: int) -> list[dt.date]:
    out, day = [], start
    while day <= end:
        out.append(day)
        day += dt.timedelta(days=days)
    return out


# -- the areas of interest -------------------------------------------------------------------
PAK_FLOOD_20M = Grid("sindh", 32642, 394_000, 2_996_000, 20, 600, 600)
PAK_BUILT_100M = Grid("sindh", 32642, 394_000, 2_996_000, 100, 120, 120)
PAK_ERA5 = Grid("pakistan", 4326, 66.0, 29.0, 0.1, 40, 40, scalable=False)
PO_ERA5 = Grid("po_valley", 4326, 7.0, 46.5, 0.1, 60, 25, scalable=False)
PO_S1_500M = Grid("po_valley", 32632, 588_000, 5_004_000, 500, 120, 80)
PO_CLC_100M = Grid("po_valley", 32632, 588_000, 5_004_000, 100, 600, 400)
BOLZANO_S2_10M = Grid("bolzano", 32632, 679_000, 5_152_000, 10, 200, 200)


def _centre_span(grid: Grid) -> tuple[tuple[float, float], float]:
    w, s, e, n = grid.bounds
    return ((w + e) / 2, (s + n) / 2), max(e - w, n - s)


def _flood_values(band, grid, day, index, X, Y, rng):
    centre, span = _centre_span(PAK_FLOOD_20M)
    return fields.gfm_flood(band, day, X, Y, centre, span)


def _built_values(band, grid, day, index, X, Y, rng):
    centre, span = _centre_span(PAK_FLOOD_20M)
    return fields.ghsl_built(X, Y, centre, span)


def _era5_values(band, grid, day, index, X, Y, rng):
    if grid.region == "pakistan":
        if band == "total_precipitation":
            return fields.pakistan_precipitation(day, X, Y, rng)
        return fields.pakistan_soil_moisture(day, X, Y)
    if band == "total_precipitation":
        return fields.po_precipitation(day, X, Y, rng)
    return fields.po_soil_moisture_volumetric(day, X, Y, 2.0)


def _s1_values(band, grid, day, index, X, Y, rng):
    return fields.s1_ssm(day, X, Y, rng)


def _clc_values(band, grid, day, index, X, Y, rng):
    _, span = _centre_span(PO_CLC_100M)
    w, s, e, n = PO_CLC_100M.bounds
    return fields.corine(X, Y, s, n, span)


def _s2_values(band, grid, day, index, X, Y, rng):
    return fields.sentinel2(band, index, X, Y, rng)


def _era5_dates(region: str, time_factor: int) -> list[dt.date]:
    if region == "pakistan":
        if time_factor == 1:
            return _every(dt.date(2022, 8, 1), dt.date(2022, 9, 15), 1)
        return _every(dt.date(2022, 6, 1), dt.date(2022, 10, 31), 1)
    return _every(dt.date(2020, 1, 5), dt.date(2022, 12, 31), max(1, 10 // time_factor))


COLLECTIONS: tuple[CollectionSpec, ...] = (
    CollectionSpec(
        id="GFM_FLOOD",
        site="central",
        title="Flood extent (GFM-like), Sindh 2022",
        description="Observed flood extent in the style of the Copernicus Global Flood Monitoring "
        "product (20 m, Sentinel-1 based) along the Indus during the 2022 Pakistan floods. "
        "Synthetic demo data.",
        keywords=("flood", "GFM", "Sentinel-1", "Pakistan"),
        bands=(
            Band("flood_extent", "uint8", 255, "1", "1 = flooded (incl. reference water)"),
            Band("reference_water", "uint8", 255, "1", "1 = permanent/reference water"),
        ),
        grids=(PAK_FLOOD_20M,),
        dates=lambda region, f: _every(dt.date(2022, 8, 10), dt.date(2022, 9, 19), max(1, 5 // f)),
        values=_flood_values,
    ),
    CollectionSpec(
        id="GHSL_BUILT_S",
        site="central",
        title="Built-up surface (GHSL-like), Sindh",
        description="Built-up surface per 100 m cell in m² in the style of the Global Human "
        "Settlement Layer GHS-BUILT-S. Synthetic demo data.",
        keywords=("GHSL", "built-up", "settlement"),
        bands=(Band("built_surface", "float32", -1.0, "m2", "built-up surface per cell"),),
        grids=(PAK_BUILT_100M,),
        dates=lambda region, f: [dt.date(2020, 1, 1)],
        values=_built_values,
    ),
    CollectionSpec(
        id="ERA5_LAND",
        site="lumi",
        title="ERA5-Land-like daily precipitation and soil moisture",
        description="Daily total precipitation and volumetric soil water (layer 1) in the style of "
        "ERA5-Land at 0.1°, standing in for Digital Twin output at the LUMI bridge. Two regions: "
        "Pakistan (2022 monsoon, late-August extreme rain) and the Po valley (2020-2022, 2022 "
        "drought). Synthetic demo data.",
        keywords=("ERA5-Land", "precipitation", "soil moisture", "climate"),
        bands=(
            Band("total_precipitation", "float32", None, "mm", "daily total precipitation"),
            Band("soil_moisture", "float32", None, "m3 m-3", "volumetric soil water, layer 1"),
        ),
        grids=(PAK_ERA5, PO_ERA5),
        dates=_era5_dates,
        values=_era5_values,
    ),
    CollectionSpec(
        id="S1_SSM",
        site="leonardo",
        title="Surface soil moisture (Sentinel-1-like), Po valley",
        description="Surface soil moisture in percent of saturation at 500 m in the style of "
        "Sentinel-1 based SSM products, 2020-2022, held at the LEONARDO bridge. Synthetic demo "
        "data.",
        keywords=("Sentinel-1", "soil moisture", "drought", "Po valley"),
        bands=(Band("ssm", "float32", None, "%", "surface soil moisture, % of saturation"),),
        grids=(PO_S1_500M,),
        dates=lambda region, f: _every(dt.date(2020, 1, 3), dt.date(2022, 12, 31), max(1, 12 // f)),
        values=_s1_values,
    ),
    CollectionSpec(
        id="CORINE_LAND_COVER",
        site="central",
        title="Land cover (CORINE-like), Po valley 2018",
        description="Land cover classes (CORINE Land Cover level-3 codes) at 100 m. Synthetic "
        "demo data.",
        keywords=("CORINE", "land cover"),
        bands=(Band("land_cover", "uint16", 0, "1", "CLC level-3 class code"),),
        grids=(PO_CLC_100M,),
        dates=lambda region, f: [dt.date(2018, 1, 1)],
        values=_clc_values,
        extra_summaries={
            "classification:classes": [
                {"value": code, "description": label, "name": f"clc_{code}"}
                for code, label in fields.CLC_CLASSES.items()
            ]
        },
    ),
    CollectionSpec(
        id="SENTINEL2_L2A",
        site="central",
        title="Surface reflectance (Sentinel-2 L2A-like), near Bolzano, June 2022",
        description="Bottom-of-atmosphere reflectance ×10000 at 10 m with a scene classification "
        "band. Synthetic demo data.",
        keywords=("Sentinel-2", "reflectance", "L2A"),
        bands=(
            Band("B02", "uint16", 0, "1", "blue", 0.0001),
            Band("B03", "uint16", 0, "1", "green", 0.0001),
            Band("B04", "uint16", 0, "1", "red", 0.0001),
            Band("B08", "uint16", 0, "1", "near infrared", 0.0001),
            Band("SCL", "uint8", 0, "1", "scene classification"),
        ),
        grids=(BOLZANO_S2_10M,),
        dates=lambda region, f: [dt.date(2022, 6, 5), dt.date(2022, 6, 15), dt.date(2022, 6, 25)],
        values=_s2_values,
    ),
)

DEMO_COLLECTIONS: dict[str, str] = {spec.id: spec.site for spec in COLLECTIONS}


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def _write_cog(path: Path, data: np.ndarray, grid: Grid, band: Band) -> None:
    profile = {
        "driver": "COG",
        "height": grid.height,
        "width": grid.width,
        "count": 1,
        "dtype": band.dtype,
        "crs": f"EPSG:{grid.epsg}",
        "transform": from_origin(grid.x0, grid.y0, grid.res, grid.res),
        "compress": "DEFLATE",
        "blocksize": 256,
    }
    if band.nodata is not None:
        profile["nodata"] = band.nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(band.dtype), 1)


def _asset_fields(band: Band) -> dict:
    raster = {"data_type": band.dtype, "unit": band.unit}
    if band.nodata is not None:
        raster["nodata"] = band.nodata
    if band.scale is not None:
        raster["scale"] = band.scale
        raster["offset"] = 0
    return {
        "raster:bands": [raster],
        "eo:bands": [{"name": band.name, "description": band.description}],
    }


def _timestamp(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _build_collection(spec: CollectionSpec, size: str, root: Path) -> pystac.Collection:
    grid_factor, time_factor = SIZE_FACTORS[size]
    grids = [g.scaled(grid_factor) for g in spec.grids]
    all_dates = sorted({d for g in grids for d in spec.dates(g.region, time_factor)})
    bboxes = [g.bbox_wgs84() for g in grids]
    union = [
        min(b[0] for b in bboxes),
        min(b[1] for b in bboxes),
        max(b[2] for b in bboxes),
        max(b[3] for b in bboxes),
    ]
    extent = pystac.Extent(
        pystac.SpatialExtent([union, *bboxes] if len(bboxes) > 1 else [union]),
        pystac.TemporalExtent([[_timestamp(all_dates[0]), _timestamp(all_dates[-1])]]),
    )
    summaries = {
        SITE_FIELD: [spec.site],
        "eo:bands": [{"name": b.name, "description": b.description} for b in spec.bands],
        "proj:code": sorted({f"EPSG:{g.epsg}" for g in grids}),
        "gsd": sorted({g.res for g in grids}),
        **(spec.extra_summaries or {}),
    }
    coll = pystac.Collection(
        id=spec.id,
        title=spec.title,
        description=spec.description,
        extent=extent,
        license="CC-BY-4.0",
        keywords=list(spec.keywords),
        providers=[
            pystac.Provider("openeo-dedl demo generator", roles=["producer", "processor", "host"])
        ],
        summaries=pystac.Summaries(summaries),
        stac_extensions=list(EXTENSIONS)
        + ([CLASSIFICATION_EXTENSION] if spec.extra_summaries else []),
    )
    first = grids[0]
    xs = [g.bounds[0] for g in grids] + [g.bounds[2] for g in grids]
    ys = [g.bounds[1] for g in grids] + [g.bounds[3] for g in grids]
    coll.extra_fields["cube:dimensions"] = {
        "x": {
            "type": "spatial",
            "axis": "x",
            "extent": [min(xs), max(xs)],
            "step": first.res,
            "reference_system": first.epsg,
        },
        "y": {
            "type": "spatial",
            "axis": "y",
            "extent": [min(ys), max(ys)],
            "step": first.res,
            "reference_system": first.epsg,
        },
        "t": {
            "type": "temporal",
            "extent": [_timestamp(all_dates[0]).isoformat(), _timestamp(all_dates[-1]).isoformat()],
            "step": spec.time_step,
        },
        "bands": {"type": "bands", "values": [b.name for b in spec.bands]},
    }
    coll.extra_fields["item_assets"] = {
        b.name: {
            "type": COG_MEDIA_TYPE,
            "roles": ["data"],
            "title": b.description,
            **_asset_fields(b),
        }
        for b in spec.bands
    }

    for grid in grids:
        X, Y = grid.coords()
        for index, day in enumerate(spec.dates(grid.region, time_factor)):
            item_id = f"{spec.id}_{grid.region}_{day:%Y%m%d}"
            item_dir = root / spec.id / item_id
            item_dir.mkdir(parents=True, exist_ok=True)
            item = pystac.Item(
                id=item_id,
                geometry=_bbox_polygon(grid.bbox_wgs84()),
                bbox=grid.bbox_wgs84(),
                datetime=_timestamp(day),
                properties={SITE_FIELD: [spec.site], "region": grid.region},
                stac_extensions=list(EXTENSIONS),
            )
            if spec.id == "SENTINEL2_L2A":
                item.properties["eo:cloud_cover"] = [12.0, 48.0, 3.0][index % 3]
            item.properties.update(
                {
                    "proj:code": f"EPSG:{grid.epsg}",
                    "proj:shape": [grid.height, grid.width],
                    "proj:transform": list(from_origin(grid.x0, grid.y0, grid.res, grid.res))[:6],
                    "proj:bbox": list(grid.bounds),
                }
            )
            for band in spec.bands:
                rng = np.random.default_rng(_seed(spec.id, grid.region, day, band.name))
                data = spec.values(band.name, grid, day, index, X, Y, rng)
                path = item_dir / f"{band.name}.tif"
                _write_cog(path, data, grid, band)
                item.add_asset(
                    band.name,
                    pystac.Asset(
                        href=str(path),
                        media_type=COG_MEDIA_TYPE,
                        roles=["data"],
                        title=band.description,
                        extra_fields=_asset_fields(band),
                    ),
                )
            coll.add_item(item)
    return coll


def _bbox_polygon(bbox: list[float]) -> dict:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _write_regions(root: Path) -> None:
    """Administrative-region-like polygons (a grid of named cells) for each AOI."""
    regions = {
        "pakistan_districts.geojson": (
            PAK_FLOOD_20M.bbox_wgs84(),
            ["Larkana", "Dadu", "Khairpur", "Naushahro Feroze", "Jamshoro", "Shaheed Benazirabad"],
        ),
        "po_valley_provinces.geojson": (
            PO_S1_500M.bbox_wgs84(),
            ["Milano", "Lodi", "Cremona", "Pavia", "Piacenza", "Parma"],
        ),
    }
    (root / "regions").mkdir(exist_ok=True)
    for filename, (bbox, names) in regions.items():
        w, s, e, n = bbox
        cols, rows = 3, 2
        features = []
        for i, name in enumerate(names):
            r, c = divmod(i, cols)
            cell = [
                w + (e - w) * c / cols,
                n - (n - s) * (r + 1) / rows,
                w + (e - w) * (c + 1) / cols,
                n - (n - s) * r / rows,
            ]
            features.append(
                {
                    "type": "Feature",
                    "id": i + 1,
                    "properties": {"id": i + 1, "name": name},
                    "geometry": _bbox_polygon([round(v, 6) for v in cell]),
                }
            )
        doc = {"type": "FeatureCollection", "features": features}
        (root / "regions" / filename).write_text(json.dumps(doc, indent=1) + "\n")


def generate_demo_catalog(out_dir: Path, size: Size = "small", overwrite: bool = False) -> Path:
    """Write the demo STAC catalog and its COGs into ``out_dir``; return ``catalog.json``.

    Returns at once when ``out_dir`` already holds a complete catalog of the same size and
    generator version. Writing happens in a sibling directory renamed into place at the end, so an
    interrupted run never looks complete.
    """
    # Absolute: asset hrefs are made relative to item files, which needs both absolute.
    out_dir = Path(out_dir).resolve()
    if size not in SIZE_FACTORS:
        raise ValueError(f"size must be one of {sorted(SIZE_FACTORS)}, not {size!r}")
    marker = out_dir / MARKER
    wanted = {"size": size, "version": GENERATOR_VERSION}
    if not overwrite and marker.exists() and json.loads(marker.read_text()) == wanted:
        return out_dir / "catalog.json"

    pystac.set_stac_version(STAC_VERSION)
    staging = out_dir.with_name(out_dir.name + "-partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    catalog = pystac.Catalog(
        id="openeo-dedl-demo",
        description="Demo data of openeo-dedl: collections held at the sites central, lumi and "
        "leonardo (see summaries['federation:backends']).",
        title="openeo-dedl demo catalog",
    )
    for spec in COLLECTIONS:
        catalog.add_child(_build_collection(spec, size, staging))
    # A trailing slash: pystac would take a last path part with a dot for a file name.
    catalog.normalize_hrefs(str(staging) + "/")
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    _write_regions(staging)
    (staging / MARKER).write_text(json.dumps(wanted) + "\n")

    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir / "catalog.json"
