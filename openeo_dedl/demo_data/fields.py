"""Synthetic but plausible value models for the demo collections.

Each model takes the pixel-centre coordinates of its grid (native CRS), the time step and a seeded
generator, and returns one band. Fields are smooth (sums of seeded sinusoids) so that resampling
and aggregation give meaningful numbers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

# Classes of the CORINE-like land cover (CLC level 3 codes) with their labels.
CLC_CLASSES: dict[int, str] = {
    111: "Continuous urban fabric",
    112: "Discontinuous urban fabric",
    121: "Industrial or commercial units",
    211: "Non-irrigated arable land",
    212: "Permanently irrigated land",
    221: "Vineyards",
    222: "Fruit trees and berry plantations",
    231: "Pastures",
    242: "Complex cultivation patterns",
    243: "Agriculture with natural vegetation",
    311: "Broad-leaved forest",
    312: "Coniferous forest",
    313: "Mixed forest",
    321: "Natural grasslands",
    324: "Transitional woodland-shrub",
    511: "Water courses",
    512: "Water bodies",
}
AGRICULTURAL_CLASSES = (211, 212, 221, 222, 231, 242, 243)


def smooth_field(
    x: np.ndarray, y: np.ndarray, seed: int, scale: float, terms: int = 6
) -> np.ndarray:
    """A smooth field in [-1, 1]: seeded sinusoids with wavelengths around ``scale``."""
    rng = np.random.default_rng(seed)
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    for _ in range(terms):
        angle = rng.uniform(0, np.pi)
        wavelength = scale * rng.uniform(0.5, 1.5)
        phase = rng.uniform(0, 2 * np.pi)
        out += np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / wavelength + phase)
    return out / terms * 1.6


def _river_distance(x: np.ndarray, y: np.ndarray, x0: float, y0: float, span: float) -> np.ndarray:
    """Distance (m) to a meandering river running north-east through the AOI centre."""
    u = (x - x0) * 0.8 + (y - y0) * 0.6
    v = -(x - x0) * 0.6 + (y - y0) * 0.8
    meander = 0.08 * span * np.sin(2 * np.pi * u / (0.45 * span)) + 0.03 * span * np.sin(
        2 * np.pi * u / (0.13 * span)
    )
    return np.abs(v - meander)


# -- Pakistan 2022 flood --------------------------------------------------------------------------

FLOOD_PEAK = dt.date(2022, 8, 30)


def flood_water_level(day: dt.date) -> float:
    """Height (m) above the river of the flood water: rises to the end of August, then recedes."""
    days = (day - FLOOD_PEAK).days
    return 0.3 + 4.5 * np.exp(-0.5 * (days / (9.0 if days < 0 else 16.0)) ** 2)


def pakistan_elevation(x, y, centre, span):
    d = _river_distance(x, y, centre[0], centre[1], span)
    return 0.9 * np.sqrt(d / 100.0) + 1.5 * smooth_field(x, y, 11, span / 3), d


def gfm_flood(band, day, x, y, centre, span):
    elevation, d = pakistan_elevation(x, y, centre, span)
    if band == "reference_water":
        return (d < 60).astype("uint8")
    return ((elevation < flood_water_level(day)) | (d < 60)).astype("uint8")


def ghsl_built(x, y, centre, span, seed=21):
    rng = np.random.default_rng(seed)
    built = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    for _ in range(14):
        tx = centre[0] + rng.uniform(-0.45, 0.45) * span
        ty = centre[1] + rng.uniform(-0.45, 0.45) * span
        radius = rng.uniform(0.01, 0.05) * span
        density = rng.uniform(0.3, 0.9)
        built += density * np.exp(-(((x - tx) ** 2 + (y - ty) ** 2) / (2 * radius**2)))
    # Built surface in m² per 100 m cell (10 000 m²), rounded like the GHSL product.
    return np.round(np.clip(built, 0, 1) * 10000.0).astype("float32")


def pakistan_precipitation(day: dt.date, lon, lat, rng) -> np.ndarray:
    """Daily precipitation (mm): monsoon background plus the late-August 2022 extreme event."""
    doy = day.timetuple().tm_yday
    monsoon = 4.0 * np.exp(-0.5 * ((doy - 215) / 30.0) ** 2)
    event = 55.0 * np.exp(-0.5 * (((day - dt.date(2022, 8, 25)).days) / 4.0) ** 2)
    spatial = 1.0 + 0.4 * smooth_field(lon, lat, 31, 3.0)
    noise = rng.gamma(2.0, 0.5, size=np.broadcast_shapes(lon.shape, lat.shape))
    return np.clip((monsoon + event) * spatial * noise, 0, None).astype("float32")


# -- Po valley 2022 drought ---------------------------------------------------------------------


def po_drought_factor(day: dt.date) -> float:
    """Fraction of normal rain: 2022 was dry from winter to the end of summer."""
    if day.year == 2022 and day.month <= 8:
        return 0.35
    return 1.0


def po_precipitation(day: dt.date, lon, lat, rng) -> np.ndarray:
    doy = day.timetuple().tm_yday
    seasonal = 2.6 + 1.2 * np.cos(2 * np.pi * (doy - 300) / 365.25)
    spatial = 1.0 + 0.3 * smooth_field(lon, lat, 41, 2.0) + 0.05 * (lat - 44.0)
    noise = rng.gamma(1.5, 1 / 1.5, size=np.broadcast_shapes(lon.shape, lat.shape))
    return np.clip(seasonal * po_drought_factor(day) * spatial * noise, 0, None).astype("float32")


def po_soil_moisture_volumetric(day: dt.date, x, y, scale) -> np.ndarray:
    """Volumetric soil moisture (m³/m³): seasonal cycle, lower in the 2022 drought."""
    doy = day.timetuple().tm_yday
    seasonal = 0.29 + 0.07 * np.cos(2 * np.pi * (doy - 40) / 365.25)
    deficit = 0.0
    if day.year == 2022 and 3 <= day.month <= 9:
        deficit = 0.09 * np.sin(np.pi * (day.month - 3 + day.day / 31) / 7)
    spatial = 0.03 * smooth_field(x, y, 51, scale)
    return np.clip(seasonal - deficit + spatial, 0.05, 0.48).astype("float32")


def pakistan_soil_moisture(day: dt.date, lon, lat) -> np.ndarray:
    wetness = np.exp(-0.5 * (((day - dt.date(2022, 8, 28)).days) / 10.0) ** 2)
    base = 0.12 + 0.06 * np.exp(-0.5 * ((day.timetuple().tm_yday - 215) / 30.0) ** 2)
    spatial = 0.02 * smooth_field(lon, lat, 61, 3.0)
    return np.clip(base + 0.25 * wetness + spatial, 0.03, 0.48).astype("float32")


def s1_ssm(day: dt.date, x, y, rng) -> np.ndarray:
    """Surface soil moisture in percent of saturation (Sentinel-1 style), with speckle."""
    volumetric = po_soil_moisture_volumetric(day, x, y, 40_000.0)
    speckle = rng.normal(0.0, 3.0, size=np.broadcast_shapes(x.shape, y.shape))
    return np.clip(volumetric / 0.45 * 100.0 + speckle, 0, 100).astype("float32")


def corine(x, y, y_south, y_north, span) -> np.ndarray:
    """CLC-like classes: Alps in the north, Apennines in the south, arable plain, towns, river."""
    rel = (y - y_south) / (y_north - y_south)  # 0 south … 1 north
    noise = smooth_field(x, y, 71, span / 6)
    detail = smooth_field(x, y, 72, span / 25)
    out = np.full(np.broadcast_shapes(x.shape, y.shape), 211, dtype="uint16")
    plain = (rel > 0.18) & (rel < 0.8)
    out[plain & (detail > 0.35)] = 242
    out[plain & (detail < -0.45)] = 212
    out[plain & (noise > 0.55)] = 221
    out[plain & (noise < -0.6)] = 222
    out[plain & (detail > 0.6) & (noise < 0)] = 231
    north = rel >= 0.8
    out[north] = np.where(noise[north] > 0, 312, 313)
    out[north & (rel > 0.92) & (detail > 0.3)] = 321
    out[north & (detail < -0.5)] = 324
    south = rel <= 0.18
    out[south] = np.where(noise[south] > 0.1, 311, 243)
    towns = smooth_field(x, y, 73, span / 8) * smooth_field(x, y, 74, span / 5)
    out[plain & (towns > 0.45)] = 112
    out[plain & (towns > 0.62)] = 111
    out[plain & (towns > 0.5) & (detail > 0.5)] = 121
    river = _river_distance(x, y, x.mean(), y_south + 0.45 * (y_north - y_south), span)
    out[river < 250] = 511
    out[(river < 900) & (detail < -0.85)] = 512
    return out


def sentinel2(band: str, day_index: int, x, y, rng) -> np.ndarray:
    """Reflectance ×10000 (uint16) over Alpine valley vegetation; SCL scene classes."""
    ndvi = 0.55 + 0.3 * smooth_field(x, y, 81, 800.0) + 0.02 * day_index
    ndvi = np.clip(ndvi, 0.05, 0.92)
    shape = np.broadcast_shapes(x.shape, y.shape)
    cloud = smooth_field(x, y, 90 + day_index, 600.0) > (0.6 if day_index != 1 else 0.2)
    red = 0.03 + 0.12 * (1 - ndvi)
    nir = red * (1 + ndvi) / (1 - ndvi)
    values = {"B02": 0.6 * red + 0.01, "B03": 0.8 * red + 0.02, "B04": red, "B08": nir}
    if band == "SCL":
        scl = np.where(ndvi > 0.3, 4, 5).astype("uint8")
        scl[cloud] = 9
        return scl
    refl = values[band] + rng.normal(0, 0.003, size=shape)
    refl = np.where(cloud, 0.6 + 0.05 * rng.random(size=shape), refl)
    return np.clip(np.round(refl * 10000), 1, 10000).astype("uint16")
