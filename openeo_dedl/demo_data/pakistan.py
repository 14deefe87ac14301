"""Sindh, 2022: an Indus-like river, its floodplain, the flood and the settlements on it.

Everything is a function of absolute UTM 42N coordinates (EPSG:32642), so every catalog size
shows the same river, villages and flood where their areas overlap.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
from pyproj import Transformer

from openeo_dedl.demo_data.grid import Block
from openeo_dedl.demo_data.noise import hash_uniform, kernel_field, seed, smooth_field

# The flood AOI is centred near 68.0°E 27.0°N (between Dadu and Mohenjo-daro).
CENTRE = (400_000.0, 2_988_000.0)
# The river runs from NNE to SSW; unit vector pointing upstream (azimuth 15°).
_UP = (np.sin(np.radians(15.0)), np.cos(np.radians(15.0)))
# Meander harmonics of the channel's centreline: (amplitude m, wavelength m, phase).
_MEANDERS = ((2600.0, 23_000.0, 0.7), (1100.0, 8_700.0, 2.1), (330.0, 3_100.0, 4.0))
CHANNEL_HALF_WIDTH = 200.0  # m; the Indus is several hundred metres wide in the monsoon
# A large irrigation canal parallel to the river, 7 km west of its mean course.
_CANAL = (-7_000.0, 22.0)  # (cross-river offset, half width) in m

# River stage above the dry-season level (m): it rises with the late-August rain and recedes
# slowly; standing rain water in depressions lingers even longer (Sindh stayed flooded for weeks).
FLOOD_PEAK = dt.date(2022, 8, 31)
RAIN_PEAK = dt.date(2022, 8, 25)
HOLLOW_DEPTH = -1.1  # m of microrelief below which rain water collects


def _along_across(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx, dy = x - CENTRE[0], y - CENTRE[1]
    return dx * _UP[0] + dy * _UP[1], dx * _UP[1] - dy * _UP[0]


def _centreline(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-river offset of the channel centre at along-river position ``u``, and its slope."""
    offset = np.zeros_like(u)
    slope = np.zeros_like(u)
    for amplitude, wavelength, phase in _MEANDERS:
        k = 2.0 * np.pi / wavelength
        offset = offset + amplitude * np.sin(k * u + phase)
        slope = slope + amplitude * k * np.cos(k * u + phase)
    return offset, slope


def river_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Approximate distance (m) from the channel centreline (signed: + east, - west)."""
    u, v = _along_across(x, y)
    offset, slope = _centreline(u)
    # Dividing by the secant of the local direction turns the cross-axis offset into a distance.
    return (v - offset) / np.sqrt(1.0 + slope**2)


def _oxbows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cut-off meander lakes: seeded ellipses near the channel, wherever the AOI is."""
    u, v = _along_across(x, y)
    lakes = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(y)), dtype=bool)
    # One candidate lake per 6 km of river; hashed so it does not depend on the AOI size.
    cells = np.floor(u / 6000.0).astype(np.int64)
    for cell in np.unique(cells):
        r = hash_uniform(np.array([cell]), np.array([0]), seed("oxbow"))[0]
        r2 = hash_uniform(np.array([cell]), np.array([1]), seed("oxbow"))[0]
        uc = (cell + 0.2 + 0.6 * r) * 6000.0
        side = 1.0 if r2 > 0.5 else -1.0
        vc = _centreline(np.array([uc]))[0][0] + side * (900.0 + 1400.0 * r2)
        du, dv = (u - uc) / 650.0, (v - vc) / 110.0
        # A crescent: an ellipse minus a shifted one.
        inside = du**2 + dv**2 < 1.0
        inner = du**2 + ((v - vc + side * 120.0) / 110.0) ** 2 < 0.85
        lakes |= inside & ~inner
    return lakes


def reference_water(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Permanent water (GFM's reference water): the channel, oxbow lakes and the canal."""
    d = np.abs(river_distance(x, y))
    _, v = _along_across(x, y)
    canal = np.abs(v - _CANAL[0]) < _CANAL[1]
    return (d < CHANNEL_HALF_WIDTH) | _oxbows(x, y) | canal


def _microrelief(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.45 * smooth_field(x, y, seed("pk-terrain"), 2_500.0) + 0.2 * smooth_field(
        x, y, seed("pk-terrain-fine"), 600.0
    )


def height_above_river(x: np.ndarray, y: np.ndarray, micro: np.ndarray | None = None) -> np.ndarray:
    """Floodplain terrain (m above the dry-season river): flat, levees, old channels, hollows."""
    d = np.abs(river_distance(x, y))
    u, v = _along_across(x, y)
    slope = 1.2 * np.sqrt(d / 1000.0)
    levee = 0.8 * np.exp(-(((d - 450.0) / 260.0) ** 2))
    # Abandoned channels: shifted copies of the meander, a little below the plain.
    paleo = np.zeros_like(d)
    for shift, offset in ((5_200.0, 3_600.0), (-9_700.0, -4_300.0)):
        dp = v - (_centreline(u + shift)[0] * 0.8 + offset)
        paleo = paleo - 0.6 * np.exp(-((dp / 230.0) ** 2))
    if micro is None:
        micro = _microrelief(x, y)
    return slope + levee + paleo + micro


def river_stage(day: dt.date) -> float:
    """Water level above the dry-season river (m)."""
    lag = (day - FLOOD_PEAK).days
    width = 7.0 if lag < 0 else 17.0
    return 0.05 + 1.6 * float(np.exp(-0.5 * (lag / width) ** 2))


def ponding(day: dt.date) -> float:
    """How deep rain water stands in hollows (m): fills with the rain, drains over weeks."""
    lag = (day - RAIN_PEAK).days
    if lag < -7:
        return 0.0
    if lag < 0:
        return 0.65 * (lag + 7) / 7.0
    return 0.65 * float(np.exp(-lag / 22.0))


def flood_bands(block: Block, day: dt.date) -> dict[str, np.ndarray]:
    """GFM-like bands: observed flood (water outside reference water) and reference water."""

    def static():
        x, y = block.x, block.y
        micro = _microrelief(x, y)
        h = height_above_river(x, y, micro).astype(np.float32)
        return h, micro.astype(np.float32), reference_water(x, y)

    h, micro, ref = block.cached("pk-flood", static)
    # River water spreads over land lower than the stage; rain stands where hollows are deep.
    flooded = (h < river_stage(day)) | (micro < HOLLOW_DEPTH + ponding(day))
    return {
        "flood_extent": (flooded & ~ref).astype(np.uint8),
        "reference_water": ref.astype(np.uint8),
    }


# -- settlements ------------------------------------------------------------------------------

# Real towns of the wider area (lon, lat, peak density, radius m); most lie outside the small AOI.
_TOWNS_LONLAT = (
    (68.212, 27.559, 0.9, 1800.0),  # Larkana
    (67.777, 26.731, 0.85, 1300.0),  # Dadu
    (68.003, 26.662, 0.8, 900.0),  # Moro
    (68.094, 27.373, 0.7, 600.0),  # Dokri
    (67.948, 27.205, 0.65, 500.0),  # Radhan
    (68.142, 26.845, 0.7, 700.0),  # Kandiaro
)
# Villages placed on purpose on the floodplain of the small AOI: (along, off-channel) metres.
_FLOODPLAIN_VILLAGES = (
    (-3_500.0, 900.0),
    (1_200.0, -1_500.0),
    (4_300.0, 2_300.0),
    (-800.0, -600.0),
)


@lru_cache(maxsize=1)
def settlements() -> np.ndarray:
    """(n, 4) array of x, y, peak built fraction, radius (m) for towns and villages."""
    rng = np.random.default_rng(seed("pk-settlements"))
    rows = []
    to_utm = Transformer.from_crs(4326, 32642, always_xy=True)
    for lon, lat, peak, radius in _TOWNS_LONLAT:
        x, y = to_utm.transform(lon, lat)
        rows.append((x, y, peak, radius))
    for along, off in _FLOODPLAIN_VILLAGES:
        offset, slope = _centreline(np.array([along]))
        v = offset[0] + off * np.sqrt(1.0 + slope[0] ** 2)
        x = CENTRE[0] + along * _UP[0] + v * _UP[1]
        y = CENTRE[1] + along * _UP[1] - v * _UP[0]
        rows.append((x, y, rng.uniform(0.35, 0.6), rng.uniform(180.0, 320.0)))
    # Villages over a 120 km square, denser near the river (water, fertile soil).
    n, half = 2_500, 60_000.0
    x = CENTRE[0] + rng.uniform(-half, half, n)
    y = CENTRE[1] + rng.uniform(-half, half, n)
    d = np.abs(river_distance(x, y))
    keep = rng.random(n) < 0.25 + 0.75 * np.exp(-d / 4_000.0)
    villages = np.column_stack([x, y, rng.uniform(0.2, 0.55, n), rng.uniform(120.0, 300.0, n)])[
        keep
    ]
    return np.concatenate([np.array(rows), villages])


def built_fraction(block: Block) -> np.ndarray:
    """Share of each cell covered by buildings (0-1), summed over settlement kernels."""
    out = kernel_field(block.x[0], block.y[:, 0], settlements(), 3.5, summed=True)
    # Built-up areas are granular (courtyards, lanes), and farmsteads lie between villages.
    out = out * (0.7 + 0.6 * hash_uniform(block.ix, block.iy, seed("pk-grain")))
    scatter = hash_uniform(block.ix, block.iy, seed("pk-farmsteads")) > 0.985
    out = out + 0.04 * scatter
    return np.clip(out, 0.0, 0.95)


def built_surface_bands(block: Block, day: dt.date) -> dict[str, np.ndarray]:
    """GHSL-like built-up surface in m² per cell, whole square metres as in GHS-BUILT-S."""
    cell_area = block.grid.res**2
    built = np.round(built_fraction(block) * cell_area)
    built[built < 0.01 * cell_area] = 0.0
    return {"built_surface": built.astype(np.float32)}
