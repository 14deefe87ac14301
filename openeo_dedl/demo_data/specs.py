"""The demo collections, one table: where, in which CRS and grid, when, which bands, which model.

Sizes scale the pixel count (the area grows around a fixed centre at the same resolution) and the
number of time steps; the value models are functions of absolute coordinates and dates, so the
sizes agree wherever they overlap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from openeo_dedl.demo_data import bolzano, pakistan, po_valley
from openeo_dedl.demo_data.climate import ERA5_GRIDS, region_climate
from openeo_dedl.demo_data.grid import Block, Grid

Size = Literal["small", "medium", "large"]
SIZES: tuple[Size, ...] = ("small", "medium", "large")
NAN = float("nan")

# model(block, day) -> {band name: 2-D array for the block's rows}
Model = Callable[[Block, dt.date], dict[str, np.ndarray]]


@dataclass(frozen=True)
class ClassValue:
    """One class of a categorical band (STAC classification extension)."""

    value: int
    name: str
    description: str
    color_hint: str | None = None


@dataclass(frozen=True)
class Band:
    name: str
    dtype: str
    nodata: float | int | None
    unit: str
    description: str
    scale: float | None = None
    offset: float | None = None
    # eo:bands fields (common_name, center_wavelength, full_width_half_max) for optical bands.
    eo: Mapping[str, Any] | None = None
    classes: tuple[ClassValue, ...] | None = None

    @property
    def categorical(self) -> bool:
        return self.classes is not None


@dataclass(frozen=True)
class Area:
    """One region of a collection: its native grid per size and its dates per size."""

    region: str
    epsg: int
    centre: tuple[float, float]
    res: float
    shape: Mapping[Size, tuple[int, int]]  # (width, height) in pixels
    dates: Mapping[Size, tuple[dt.date, ...]]

    def grid(self, size: Size) -> Grid:
        return Grid.centred(self.epsg, self.centre, self.res, self.shape[size])


@dataclass(frozen=True)
class CollectionSpec:
    id: str
    site: str
    title: str
    description: str
    keywords: tuple[str, ...]
    bands: tuple[Band, ...]
    areas: tuple[Area, ...]
    model: Model
    # Constant extra item properties (platform, instruments, …).
    properties: Mapping[str, Any] = field(default_factory=dict)
    # Item properties computed from the item's data (e.g. eo:cloud_cover).
    derived_properties: Callable[[dict[str, np.ndarray]], dict[str, Any]] | None = None


# -- date helpers --------------------------------------------------------------------------------


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def every(start: str, end: str, step_days: int = 1) -> tuple[dt.date, ...]:
    """Dates from ``start`` to ``end`` (inclusive) every ``step_days`` days."""
    first, last = day(start), day(end)
    n = (last - first).days // step_days + 1
    return tuple(first + dt.timedelta(days=i * step_days) for i in range(n))


def monthly(start: str, end: str, day_of_month: int = 15) -> tuple[dt.date, ...]:
    """The ``day_of_month`` of every month from ``start`` to ``end``."""
    first, last = day(start), day(end)
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(dt.date(y, m, day_of_month))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(d for d in out if first <= d <= last)


def same(value):
    """The same value for every size."""
    return {size: value for size in SIZES}


# -- value models that are not in a theme module ---------------------------------------------


def era5_bands(block: Block, day_: dt.date) -> dict[str, np.ndarray]:
    """Rows of the simulated ERA5 fields of the block's box."""
    region = next((r for r, g in ERA5_GRIDS.items() if g == block.grid), None)
    if region is None:
        raise ValueError(f"ERA5 values exist only on the simulated boxes, not on {block.grid}")
    climate = region_climate(region)
    i = climate.index(day_)
    rows = slice(block.row0, block.row1)
    return {
        "total_precipitation": climate.precipitation[i, rows],
        "soil_moisture": climate.soil_moisture[i, rows],
    }


def _s2_properties(bands: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"eo:cloud_cover": bolzano.cloud_cover(bands)}


# -- the table -----------------------------------------------------------------------------------

_FLOOD_CLASSES = (
    ClassValue(0, "no_water", "no water observed"),
    ClassValue(1, "water", "water observed", "0000FF"),
)
_SCL_CLASSES = tuple(
    ClassValue(v, n, d)
    for v, n, d in (
        (0, "no_data", "No data"),
        (1, "saturated_or_defective", "Saturated or defective"),
        (2, "dark_area_pixels", "Dark area pixels (topographic shadow)"),
        (3, "cloud_shadows", "Cloud shadows"),
        (4, "vegetation", "Vegetation"),
        (5, "not_vegetated", "Not vegetated"),
        (6, "water", "Water"),
        (7, "unclassified", "Unclassified"),
        (8, "cloud_medium_probability", "Cloud medium probability"),
        (9, "cloud_high_probability", "Cloud high probability"),
        (10, "thin_cirrus", "Thin cirrus"),
        (11, "snow", "Snow or ice"),
    )
)
_CLC_CLASSES = tuple(
    ClassValue(code, f"clc_{code}", label, colour)
    for code, (label, colour) in po_valley.CLC_LEGEND.items()
)

# Sindh flood AOI (GFM and GHSL share it).
_SINDH = {
    "region": "sindh",
    "epsg": 32642,
    "centre": pakistan.CENTRE,
}
# Po valley AOI (S1 and CORINE share it).
_PO = {"region": "po_valley", "epsg": 32632, "centre": po_valley.CENTRE}


def _era5_area(region: str, dates: Mapping[Size, tuple[dt.date, ...]]) -> Area:
    g = ERA5_GRIDS[region]
    w, s, e, n = g.bounds
    return Area(region, 4326, ((w + e) / 2, (s + n) / 2), g.res, same((g.width, g.height)), dates)


COLLECTIONS: tuple[CollectionSpec, ...] = (
    CollectionSpec(
        id="GFM_FLOOD",
        site="central",
        title="Flood extent (GFM-like), Sindh, 2022",
        description=(
            "Observed flood extent and reference water in the style of the Copernicus Global Flood "
            "Monitoring (GFM) product (Sentinel-1, 20 m) along an Indus-like river in Sindh during "
            "the 2022 Pakistan floods: the flood grows from mid-August, peaks around 31 August "
            "and recedes through September. As in GFM, `flood_extent` is water outside the "
            "reference (permanent) water. Synthetic demo data."
        ),
        keywords=("flood", "GFM", "Sentinel-1", "Pakistan", "Sindh", "2022"),
        bands=(
            Band(
                "flood_extent",
                "uint8",
                255,
                "1",
                "1 = flooded (outside reference water)",
                classes=_FLOOD_CLASSES,
            ),
            Band(
                "reference_water",
                "uint8",
                255,
                "1",
                "1 = permanent or reference water",
                classes=_FLOOD_CLASSES,
            ),
        ),
        areas=(
            Area(
                **_SINDH,
                res=20.0,
                shape={"small": (600, 600), "medium": (1500, 1500), "large": (5000, 5000)},
                dates={
                    "small": every("2022-08-11", "2022-09-16", 6),
                    "medium": every("2022-08-01", "2022-09-30", 3),
                    "large": every("2022-07-15", "2022-10-15", 1),
                },
            ),
        ),
        model=pakistan.flood_bands,
        properties={"constellation": "sentinel-1", "instruments": ["c-sar"]},
    ),
    CollectionSpec(
        id="GHSL_BUILT_S",
        site="central",
        title="Built-up surface (GHSL-like), Sindh, 2020",
        description=(
            "Built-up surface in square metres per 100 m cell in the style of the Global Human "
            "Settlement Layer GHS-BUILT-S, epoch 2020: towns and villages, many of them on the "
            "floodplain of GFM_FLOOD. Synthetic demo data."
        ),
        keywords=("GHSL", "built-up", "settlement", "exposure", "Pakistan"),
        bands=(
            Band("built_surface", "float32", NAN, "m2", "built-up surface per cell (0-10000 m²)"),
        ),
        areas=(
            Area(
                **_SINDH,
                res=100.0,
                shape={"small": (120, 120), "medium": (300, 300), "large": (1000, 1000)},
                dates=same((day("2020-01-01"),)),
            ),
        ),
        model=pakistan.built_surface_bands,
    ),
    CollectionSpec(
        id="ERA5_LAND",
        site="lumi",
        title="Daily precipitation and soil moisture (ERA5-Land-like)",
        description=(
            "Daily total precipitation and volumetric soil water of the top layer (swvl1-like) "
            "at 0.1° in the style of ERA5-Land, standing in for climate data held at the LUMI "
            "site. Two boxes, one item per box and day: Pakistan (65-71°E, 24-30°N; the 2022 "
            "monsoon with an extreme rain event peaking on 24/25 August 2022) and the Po valley "
            "(7-13°E, 44-46°N; seasonal cycle and the 2022 drought, December 2021 to August "
            "2022). Synthetic demo data from a seeded weather generator and a soil bucket model."
        ),
        keywords=("ERA5-Land", "precipitation", "soil moisture", "climate", "reanalysis"),
        bands=(
            Band("total_precipitation", "float32", NAN, "mm/day", "daily total precipitation"),
            Band("soil_moisture", "float32", NAN, "m3/m3", "volumetric soil water, 0-7 cm (swvl1)"),
        ),
        areas=(
            _era5_area(
                "pakistan",
                {
                    "small": every("2022-08-14", "2022-09-05"),
                    "medium": every("2022-06-01", "2022-10-31"),
                    "large": every("2020-01-01", "2022-12-31"),
                },
            ),
            _era5_area(
                "po_valley",
                {
                    "small": monthly("2020-01-01", "2022-12-31"),
                    "medium": every("2020-01-01", "2022-12-31", 5),
                    "large": every("2020-01-01", "2022-12-31"),
                },
            ),
        ),
        model=era5_bands,
    ),
    CollectionSpec(
        id="S1_SSM",
        site="leonardo",
        title="Surface soil moisture (Sentinel-1-like), Po valley",
        description=(
            "Surface soil moisture in percent of saturation at 500 m in the style of Sentinel-1 "
            "based SSM products, held at the LEONARDO site: several years of acquisitions for a "
            "climatology, with the 2022 summer drought well below normal. NaN where there is no "
            "retrieval (water, dense towns, snow-covered mountains in winter). Synthetic demo "
            "data, consistent with ERA5_LAND's Po valley box and with CORINE_LAND_COVER."
        ),
        keywords=("Sentinel-1", "soil moisture", "drought", "Po valley", "SAR"),
        bands=(Band("ssm", "float32", NAN, "%", "surface soil moisture, percent of saturation"),),
        areas=(
            Area(
                **_PO,
                res=500.0,
                shape={"small": (120, 80), "medium": (300, 200), "large": (800, 520)},
                dates={
                    "small": every("2020-01-04", "2022-12-31", 12),
                    "medium": every("2020-01-04", "2022-12-31", 6),
                    "large": every("2017-01-03", "2022-12-31", 6),
                },
            ),
        ),
        model=po_valley.ssm_bands,
        properties={
            "constellation": "sentinel-1",
            "platform": "sentinel-1a",
            "instruments": ["c-sar"],
        },
    ),
    CollectionSpec(
        id="CORINE_LAND_COVER",
        site="central",
        title="Land cover (CORINE-like), Po valley, 2018",
        description=(
            "Land cover as CORINE Land Cover level-3 codes at 100 m, reference year 2018: arable "
            "land dominating the plain (irrigated north of the Po), riparian woods and the river, "
            "towns, vineyards and forests on the Apennine foothills (and the Alps in the larger "
            "sizes). Covers the same area as S1_SSM. Synthetic demo data."
        ),
        keywords=("CORINE", "land cover", "CLC", "Po valley"),
        bands=(
            Band(
                "land_cover",
                "uint16",
                0,
                "1",
                "CORINE Land Cover level-3 code",
                classes=_CLC_CLASSES,
            ),
        ),
        areas=(
            Area(
                **_PO,
                res=100.0,
                shape={"small": (600, 400), "medium": (1500, 1000), "large": (4000, 2600)},
                dates=same((day("2018-01-01"),)),
            ),
        ),
        model=po_valley.land_cover_bands,
    ),
    CollectionSpec(
        id="SENTINEL2_L2A",
        site="central",
        title="Surface reflectance (Sentinel-2 L2A-like), Adige valley near Bolzano, 2022",
        description=(
            "Bottom-of-atmosphere reflectance (digital numbers = reflectance x 10000, offset 0) "
            "at 10 m with the scene classification (SCL) band, south-west of Bolzano: orchards, "
            "vineyards, meadows (mown during June), forests, rock and snow, clouds and their "
            "shadows. Synthetic demo data."
        ),
        keywords=("Sentinel-2", "reflectance", "L2A", "optical", "Bolzano"),
        bands=(
            *(
                Band(
                    name,
                    "uint16",
                    0,
                    "1",
                    f"{common} reflectance",
                    scale=0.0001,
                    offset=0.0,
                    eo={
                        "common_name": common,
                        "center_wavelength": wl,
                        "full_width_half_max": fwhm,
                    },
                )
                for name, common, wl, fwhm in (
                    ("B02", "blue", 0.49, 0.098),
                    ("B03", "green", 0.56, 0.045),
                    ("B04", "red", 0.665, 0.038),
                    ("B08", "nir", 0.842, 0.145),
                )
            ),
            Band("SCL", "uint8", 0, "1", "scene classification", classes=_SCL_CLASSES),
        ),
        areas=(
            Area(
                region="bolzano",
                epsg=32632,
                centre=bolzano.CENTRE,
                res=10.0,
                shape={"small": (256, 256), "medium": (1024, 1024), "large": (4096, 4096)},
                dates={
                    "small": (day("2022-06-05"), day("2022-06-15"), day("2022-06-25")),
                    "medium": every("2022-06-01", "2022-06-26", 5),
                    "large": every("2022-05-02", "2022-08-30", 5),
                },
            ),
            # The openEO compliance suite's workflows read B04/B08 at 679720-680680 E,
            # 5151080-5151920 N (EPSG:32632) in June 2022, one date in 1-2 June and five weeks
            # with data: north-east of the small area, so the small catalog gets this patch
            # (the larger sizes cover it with their main area).
            Area(
                region="bolzano_north",
                epsg=32632,
                centre=(680_200.0, 5_151_500.0),
                res=10.0,
                shape={"small": (100, 100), "medium": (100, 100), "large": (100, 100)},
                dates={
                    # Clear days: 1 June in the suite's one-day window, then one per week.
                    "small": tuple(day(f"2022-06-{d:02d}") for d in (1, 9, 16, 23, 30)),
                    "medium": (),
                    "large": (),
                },
            ),
        ),
        model=bolzano.s2_bands,
        properties={"constellation": "sentinel-2", "instruments": ["msi"]},
        derived_properties=_s2_properties,
    ),
)

DEMO_COLLECTIONS: dict[str, str] = {spec.id: spec.site for spec in COLLECTIONS}
