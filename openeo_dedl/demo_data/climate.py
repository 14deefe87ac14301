"""ERA5-Land-like daily weather for the two climate boxes, simulated once over a fixed calendar.

Precipitation is a seeded weather generator (wet/dry days, gamma amounts, smooth rain patterns,
orographic enhancement) around a monthly climatology, with the 2022 anomalies put in on purpose:
the Pakistan monsoon and its late-August extreme, and the Po valley drought. Soil moisture is not
drawn independently but comes out of a small bucket model driven by that rain, so it rises after
rain, dries out in summer and carries the drought over from one month to the next.

The simulation always runs over the whole calendar below, whatever dates a catalog size writes:
a given day has the same values in ``small``, ``medium`` and ``large``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np

from openeo_dedl.demo_data.grid import Grid
from openeo_dedl.demo_data.noise import seed, smooth_field

CALENDAR_START = dt.date(2016, 10, 1)  # three months of spin-up before the first written day
CALENDAR_END = dt.date(2022, 12, 31)

# The 0.1° boxes (ERA5-Land's native resolution); (west, north) corner, (columns, rows).
ERA5_GRIDS: dict[str, Grid] = {
    "pakistan": Grid(4326, 65.0, 30.0, 0.1, 60, 60),  # 65–71°E, 24–30°N: Sindh and beyond
    "po_valley": Grid(4326, 7.0, 46.0, 0.1, 60, 20),  # 7–13°E, 44–46°N
}

# Extreme rain over Sindh: a multi-day system peaking on 24/25 August 2022.
PAKISTAN_EVENT_PEAK = dt.date(2022, 8, 24)
PAKISTAN_EVENT_DAYS = (dt.date(2022, 8, 19), dt.date(2022, 8, 28))
# Po valley drought: rain deficit from December 2021 to mid-August 2022.
PO_DROUGHT = (dt.date(2021, 12, 1), dt.date(2022, 8, 20))


@dataclass(frozen=True)
class RegionClimate:
    """Daily fields on one ERA5 box: precipitation in mm/day, soil moisture in m³/m³."""

    grid: Grid
    start: dt.date
    precipitation: np.ndarray  # (days, rows, cols) float32
    soil_moisture: np.ndarray  # (days, rows, cols) float32

    def index(self, day: dt.date) -> int:
        i = (day - self.start).days
        if not 0 <= i < len(self.precipitation):
            raise ValueError(f"{day} is outside the simulated calendar")
        return i


def _days() -> list[dt.date]:
    n = (CALENDAR_END - CALENDAR_START).days + 1
    return [CALENDAR_START + dt.timedelta(days=i) for i in range(n)]


def _doy_curve(monthly: list[float], doy: float) -> float:
    """Smooth interpolation of 12 monthly values (given mid-month) to a day of year."""
    mids = np.arange(12) * 30.44 + 15.2
    return float(np.interp(doy, np.concatenate([mids - 365.25, mids, mids + 365.25]), monthly * 3))


def _pixel_grid(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    lon = grid.x0 + (np.arange(grid.width) + 0.5) * grid.res
    lat = grid.y0 - (np.arange(grid.height) + 0.5) * grid.res
    return np.meshgrid(lon, lat)


def _rain_pattern(lon: np.ndarray, lat: np.ndarray, key: int, wet_fraction: float) -> np.ndarray:
    """Spatial rain pattern with mean 1: rain cells covering about ``wet_fraction`` of the box."""
    f = smooth_field(lon, lat, key, 1.4, terms=8) + 0.5 * smooth_field(lon, lat, key + 7, 0.5, 6)
    threshold = np.quantile(f, 1.0 - wet_fraction)
    pattern = np.clip(f - threshold, 0.0, None) ** 1.3
    pattern = pattern / max(float(pattern.mean()), 1e-9)
    # Soft cap at 4x the box mean: a few small cells must not get absurd totals.
    return 4.0 * np.tanh(pattern / 4.0)


def _bucket(
    precipitation: np.ndarray,
    pet: np.ndarray,
    *,
    depth_mm: float,
    wilting: float,
    field_capacity: float,
    saturation: float,
    residual: float,
) -> np.ndarray:
    """Daily soil-water balance of the top layer; returns volumetric moisture per day."""
    theta = np.full(precipitation.shape[1:], field_capacity)
    out = np.empty(precipitation.shape, dtype=np.float32)
    for i in range(len(precipitation)):
        p = precipitation[i]
        wetness = np.clip((theta - field_capacity) / (saturation - field_capacity), 0.0, 1.0)
        infiltration = p * (1.0 - 0.6 * wetness)
        stress = np.clip((theta - wilting) / (field_capacity - wilting), 0.0, 1.0) ** 0.8
        # Bare-soil evaporation keeps drying the skin below wilting point, slowly.
        evaporation = pet[i] * (stress + 0.08 * np.clip(theta - residual, 0.0, None) / wilting)
        drainage = 0.25 * np.clip(theta - field_capacity, 0.0, None)
        theta = theta + (infiltration - evaporation) / depth_mm - drainage
        theta = np.clip(theta, residual, saturation)
        out[i] = theta
    return out


def _simulate_pakistan() -> RegionClimate:
    grid = ERA5_GRIDS["pakistan"]
    lon, lat = _pixel_grid(grid)
    days = _days()
    # Monsoon rain falls in July-September; Sindh is otherwise close to desert.
    p_wet = [0.03, 0.04, 0.04, 0.03, 0.03, 0.08, 0.30, 0.32, 0.15, 0.03, 0.02, 0.03]
    wet_mm = [2.0, 2.5, 2.5, 2.0, 2.0, 4.0, 7.0, 7.5, 5.0, 2.0, 2.0, 2.0]
    # More rain to the north-east (towards the monsoon's source), drier in the west.
    orography = 1.0 + 0.25 * (lon - 68.0) / 3.0 + 0.15 * smooth_field(lon, lat, seed("pk-oro"), 2.5)
    precipitation = np.zeros((len(days), *lon.shape), dtype=np.float32)
    for i, day in enumerate(days):
        rng = np.random.default_rng(seed("pakistan", "weather", day))
        doy = day.timetuple().tm_yday
        wet_probability, amount = _doy_curve(p_wet, doy), _doy_curve(wet_mm, doy)
        if dt.date(2022, 6, 15) <= day <= dt.date(2022, 9, 10):
            # The 2022 monsoon: far more rain days and heavier rain than normal.
            wet_probability, amount = min(0.75, 2.0 * wet_probability), 1.8 * amount
        event = PAKISTAN_EVENT_DAYS[0] <= day <= PAKISTAN_EVENT_DAYS[1]
        if not event and rng.random() >= wet_probability:
            continue
        # Capped so that no ordinary rain day comes near the event.
        intensity = min(rng.gamma(1.3, amount / 1.3), 20.0)
        coverage = rng.uniform(0.25, 0.7)
        if event:
            lag = (day - PAKISTAN_EVENT_PEAK).days
            intensity = 22.0 + 50.0 * np.exp(-0.5 * (lag / 1.8) ** 2)
            coverage = 0.9
        pattern = _rain_pattern(lon, lat, seed("pakistan", "rain", day), coverage)
        precipitation[i] = intensity * pattern * orography
    pet = np.array(
        [3.5 + 2.0 * np.sin(2 * np.pi * (d.timetuple().tm_yday - 80) / 365.25) for d in days]
    )
    # Soils differ in how much water they hold.
    texture = 1.0 + 0.12 * smooth_field(lon, lat, seed("pk-soil"), 1.5)
    soil = _bucket(
        precipitation,
        pet,
        depth_mm=160.0,
        wilting=0.09,
        field_capacity=0.30,
        saturation=0.45,
        residual=0.04,
    )
    soil = np.clip(soil * texture, 0.02, 0.47)
    return RegionClimate(grid, CALENDAR_START, _quantise_rain(precipitation), _quantise_sm(soil))


def _simulate_po_valley() -> RegionClimate:
    grid = ERA5_GRIDS["po_valley"]
    lon, lat = _pixel_grid(grid)
    days = _days()
    # About 900 mm a year: wettest in autumn and late spring, driest in July and winter.
    mean_mm = [1.9, 1.9, 2.1, 2.7, 3.0, 2.4, 1.8, 2.2, 2.6, 3.4, 3.7, 2.4]
    p_wet = [0.22, 0.22, 0.25, 0.33, 0.35, 0.30, 0.22, 0.24, 0.26, 0.30, 0.33, 0.25]
    # Rain increases towards the Alps (north) and the Apennines (south).
    orography = (
        1.0
        + 0.7 / (1.0 + np.exp(-(lat - 45.75) / 0.12))
        + 0.35 / (1.0 + np.exp((lat - 44.55) / 0.12))
        + 0.1 * smooth_field(lon, lat, seed("po-oro"), 1.5)
    )
    precipitation = np.zeros((len(days), *lon.shape), dtype=np.float32)
    for i, day in enumerate(days):
        rng = np.random.default_rng(seed("po_valley", "weather", day))
        doy = day.timetuple().tm_yday
        wet_probability = _doy_curve(p_wet, doy)
        amount = _doy_curve(mean_mm, doy) / wet_probability
        # Ordinary years differ from month to month as well.
        month_rng = np.random.default_rng(seed("po_valley", "month", day.year, day.month))
        amount *= float(month_rng.lognormal(0.0, 0.3))
        if PO_DROUGHT[0] <= day <= PO_DROUGHT[1]:
            # Fewer and lighter rain days, and no wet month to make up for them.
            normal = _doy_curve(mean_mm, doy) / wet_probability
            wet_probability, amount = 0.5 * wet_probability, 0.6 * min(amount, normal)
        if rng.random() >= wet_probability:
            continue
        intensity = min(rng.gamma(0.9, amount / 0.9), 30.0)
        pattern = _rain_pattern(lon, lat, seed("po_valley", "rain", day), rng.uniform(0.3, 0.9))
        precipitation[i] = intensity * pattern * orography
    pet = np.array(
        [0.4 + 4.2 * max(0.0, np.sin(np.pi * (d.timetuple().tm_yday - 55) / 250)) for d in days]
    )
    texture = 1.0 + 0.1 * smooth_field(lon, lat, seed("po-soil"), 1.0)
    soil = _bucket(
        precipitation,
        pet,
        depth_mm=110.0,
        wilting=0.13,
        field_capacity=0.34,
        saturation=0.46,
        residual=0.06,
    )
    soil = np.clip(soil * texture, 0.03, 0.47)
    return RegionClimate(grid, CALENDAR_START, _quantise_rain(precipitation), _quantise_sm(soil))


def _quantise_rain(p: np.ndarray) -> np.ndarray:
    # 0.01 mm steps, like ERA5's packed GRIB values; also makes the files compress.
    return (np.round(p, 2)).astype(np.float32)


def _quantise_sm(sm: np.ndarray) -> np.ndarray:
    return (np.round(sm, 4)).astype(np.float32)


@cache
def region_climate(region: str) -> RegionClimate:
    """The simulated daily weather of ``pakistan`` or ``po_valley`` (computed once per process)."""
    if region == "pakistan":
        return _simulate_pakistan()
    if region == "po_valley":
        return _simulate_po_valley()
    raise ValueError(f"no climate box {region!r}")
