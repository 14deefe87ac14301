"""The Po valley: river, plain, Alpine and Apennine edges, towns; land cover and soil moisture.

Geography follows the real valley loosely (the Po's course, the foothill lines, the big lakes and
the main cities come from real coordinates); the detail in between is seeded. Everything is a
function of absolute UTM 32N coordinates (EPSG:32632), so each catalog size shows the same
landscape where their areas overlap, and the land cover and the soil moisture agree.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
from pyproj import Transformer
from scipy.ndimage import map_coordinates

from openeo_dedl.demo_data.climate import region_climate
from openeo_dedl.demo_data.grid import Block
from openeo_dedl.demo_data.noise import (
    hash_normal,
    hash_uniform,
    kernel_field,
    seed,
    smooth_field,
    warped_cells,
)

# Centre of the S1/CORINE AOI: the Po between Piacenza and Cremona, Apennine foothills south.
CENTRE = (580_000.0, 4_985_000.0)

# CORINE Land Cover level-3 classes used here: label and the official CLC colour.
CLC_LEGEND: dict[int, tuple[str, str]] = {
    111: ("Continuous urban fabric", "E6004D"),
    112: ("Discontinuous urban fabric", "FF0000"),
    121: ("Industrial or commercial units", "CC4DF2"),
    211: ("Non-irrigated arable land", "FFFFA8"),
    212: ("Permanently irrigated land", "FFFF00"),
    221: ("Vineyards", "E68000"),
    222: ("Fruit trees and berry plantations", "F2A64D"),
    231: ("Pastures", "E6E64D"),
    242: ("Complex cultivation patterns", "FFE64D"),
    243: (
        "Land principally occupied by agriculture with significant areas of natural vegetation",
        "E6CC4D",
    ),
    311: ("Broad-leaved forest", "80FF00"),
    312: ("Coniferous forest", "00A600"),
    313: ("Mixed forest", "4DFF00"),
    321: ("Natural grasslands", "CCF24D"),
    324: ("Transitional woodland-shrub", "A6F200"),
    511: ("Water courses", "00CCF2"),
    512: ("Water bodies", "80F2E6"),
}
# Code -> label.
CLC_CLASSES: dict[int, str] = {code: label for code, (label, _) in CLC_LEGEND.items()}

# Coordinate and weight tables stay in rows, as tables.
# fmt: off
# Land-cover mix of each landscape: (class, weight); a patch draws its class from its zone's mix.
_ZONES: dict[str, tuple[tuple[int, float], ...]] = {
    # Lombardy north of the Po is largely irrigated (canals from the Alpine rivers).
    "plain_north": (
        (211, 0.38), (212, 0.30), (242, 0.10), (231, 0.06), (243, 0.05),
        (222, 0.03), (311, 0.04), (324, 0.03), (221, 0.01),
    ),
    "plain_south": (
        (211, 0.58), (212, 0.08), (242, 0.12), (231, 0.05), (222, 0.05),
        (221, 0.03), (243, 0.05), (311, 0.02), (324, 0.02),
    ),
    # The Po's floodplain between the embankments: poplar plantations, meadows, some fields.
    "riparian": ((311, 0.30), (211, 0.30), (231, 0.15), (242, 0.15), (324, 0.10)),
    "hills": (
        (221, 0.28), (243, 0.20), (242, 0.18), (311, 0.14), (231, 0.10),
        (211, 0.06), (222, 0.04),
    ),
    "mountains": ((311, 0.38), (313, 0.20), (312, 0.12), (324, 0.14), (231, 0.10), (243, 0.06)),
    "high_mountains": ((312, 0.40), (321, 0.32), (324, 0.18), (313, 0.10)),
}

# The Po's course (lon, lat), Turin to the delta.
_PO_COURSE = (
    (7.40, 44.95), (7.70, 45.07), (8.10, 45.16), (8.45, 45.13), (8.64, 45.02), (9.00, 45.08),
    (9.25, 45.13), (9.50, 45.10), (9.69, 45.065), (10.02, 45.115), (10.25, 45.03),
    (10.42, 44.99), (10.75, 45.05), (11.14, 45.07), (11.60, 44.89), (12.00, 44.95),
    (12.50, 44.96), (13.00, 44.96),
)
# Foothill lines (lon, lat): Apennines south of the plain, Alps north of it.
_APENNINES = (
    (6.80, 44.70), (7.90, 44.75), (8.60, 44.80), (9.00, 44.85), (9.40, 44.93), (9.80, 44.93),
    (10.20, 44.76), (10.60, 44.62), (11.00, 44.52), (11.40, 44.42), (11.90, 44.30),
    (12.30, 44.15), (13.20, 43.90),
)
_ALPS = (
    (6.80, 45.25), (7.80, 45.45), (8.40, 45.65), (8.90, 45.75), (9.30, 45.82), (9.70, 45.73),
    (10.20, 45.60), (10.60, 45.50), (11.00, 45.58), (11.50, 45.70), (12.20, 45.85),
    (13.20, 46.05),
)
# Pre-Alpine lakes: lon, lat of the centre, semi-axes east-west and north-south in km.
_LAKES = (
    (8.62, 45.93, 2.5, 18.0),  # Maggiore
    (9.26, 45.92, 1.5, 13.0),  # Como
    (10.07, 45.72, 1.5, 10.0),  # Iseo
    (10.68, 45.63, 7.0, 20.0),  # Garda
    (10.80, 45.165, 0.8, 1.0),  # Mantova's lakes
)
# Cities: lon, lat, peak built density (0-1), radius (m).
_CITIES = (
    (9.19, 45.465, 1.0, 5500.0), (7.68, 45.07, 1.0, 4500.0), (11.34, 44.495, 1.0, 3500.0),
    (10.99, 45.44, 0.95, 2800.0), (10.22, 45.54, 0.95, 2500.0), (9.67, 45.695, 0.95, 2200.0),
    (10.33, 44.80, 0.95, 2200.0), (10.93, 44.645, 0.95, 2200.0), (10.63, 44.70, 0.95, 2000.0),
    (9.69, 45.05, 0.95, 1800.0), (11.62, 44.84, 0.9, 1800.0), (10.02, 45.135, 0.95, 1600.0),
    (9.16, 45.19, 0.9, 1500.0), (8.62, 45.45, 0.9, 1500.0), (8.61, 44.91, 0.9, 1500.0),
    (10.79, 45.155, 0.9, 1300.0), (9.50, 45.31, 0.9, 1200.0), (8.42, 45.32, 0.9, 1200.0),
    (9.69, 45.36, 0.85, 1000.0), (10.06, 44.87, 0.8, 800.0), (9.70, 45.165, 0.8, 700.0),
    (9.91, 44.925, 0.8, 700.0), (10.42, 44.99, 0.75, 600.0), (9.43, 45.06, 0.75, 600.0),
)
# fmt: on
RIVER_HALF_WIDTH = 170.0  # m


def _to_utm(points) -> np.ndarray:
    t = Transformer.from_crs(4326, 32632, always_xy=True)
    lon, lat = np.array(points, dtype=float).T[:2]
    x, y = t.transform(lon, lat)
    return np.column_stack([x, y, *np.array(points, dtype=float).T[2:]])


@lru_cache(maxsize=1)
def _lines() -> dict[str, np.ndarray]:
    return {"po": _to_utm(_PO_COURSE), "apennines": _to_utm(_APENNINES), "alps": _to_utm(_ALPS)}


def _line_y(name: str, x: np.ndarray) -> np.ndarray:
    pts = _lines()[name]
    return np.interp(x, pts[:, 0], pts[:, 1])


def river_offset(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed north-south distance (m) from the Po's channel centre (positive: north)."""
    meander = (
        1_700.0 * np.sin(2 * np.pi * x / 15_500.0 + 0.4)
        + 600.0 * np.sin(2 * np.pi * x / 5_300.0 + 1.9)
        + 250.0 * np.sin(2 * np.pi * x / 2_100.0 + 3.1)
    )
    slope = (
        1_700.0 * 2 * np.pi / 15_500.0 * np.cos(2 * np.pi * x / 15_500.0 + 0.4)
        + 600.0 * 2 * np.pi / 5_300.0 * np.cos(2 * np.pi * x / 5_300.0 + 1.9)
        + 250.0 * 2 * np.pi / 2_100.0 * np.cos(2 * np.pi * x / 2_100.0 + 3.1)
    )
    return (y - _line_y("po", x) - meander) / np.sqrt(1.0 + slope**2)


def terrain(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Terrain height (m) and relief above the plain (m): the plain rising gently north and
    west, then the Apennines and the Alps beyond their foothill lines."""
    plain = (
        25.0
        + 0.0009 * np.abs(y - _line_y("po", x))
        + 0.0006 * np.clip(640_000.0 - x, 0.0, None)
        + 6.0 * smooth_field(x, y, seed("po-plain"), 15_000.0, terms=6)
    )
    into_apennines = np.clip(_line_y("apennines", x) - y, 0.0, None)
    into_alps = np.clip(y - _line_y("alps", x), 0.0, None)
    rough = smooth_field(x, y, seed("po-relief"), 6_000.0) + 0.5 * smooth_field(
        x, y, seed("po-relief-fine"), 1_800.0
    )
    hills = 0.035 * into_apennines + 180.0 * rough * np.clip(into_apennines / 4_000.0, 0.0, 1.0)
    alps = 0.06 * into_alps + 400.0 * rough * np.clip(into_alps / 4_000.0, 0.0, 1.0)
    relief = np.clip(hills, 0.0, None) + np.clip(alps, 0.0, None)
    return plain + relief, relief


def elevation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Terrain height (m)."""
    return terrain(x, y)[0]


def _lakes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = np.broadcast_arrays(x, y)
    out = np.zeros(x.shape, dtype=bool)
    for i, (cx, cy, ax, ay) in enumerate(_to_utm(_LAKES)):
        r2 = ((x - cx) / (ax * 1000.0)) ** 2 + ((y - cy) / (ay * 1000.0)) ** 2
        near = r2 < 1.4
        if not near.any():
            continue
        # Wobbly shores: the ellipse radius varies smoothly with position.
        wobble = 1.0 + 0.15 * smooth_field(x[near], y[near], seed("po-lake", i), 3_000.0, terms=6)
        out[near] |= r2[near] < wobble
    # Gravel-pit ponds near the river (one candidate per 3 km cell).
    cx_id, cy_id = np.floor(x / 3_000.0).astype(np.int64), np.floor(y / 3_000.0).astype(np.int64)
    r = hash_uniform(cx_id, cy_id, seed("po-pits"))
    px = (cx_id + 0.5) * 3_000.0 + (r - 0.5) * 1_500.0
    py = (cy_id + 0.5) * 3_000.0
    near_river = np.abs(river_offset(px, py)) < 2_500.0
    pond = ((x - px) / 260.0) ** 2 + ((y - py) / 160.0) ** 2 < 1.0
    return out | (pond & near_river & (r < 0.35))


@lru_cache(maxsize=1)
def settlements() -> np.ndarray:
    """(n, 4): x, y, peak built density, radius (m) of cities, towns and villages."""
    rows = [tuple(r) for r in _to_utm(_CITIES)]
    rng = np.random.default_rng(seed("po-settlements"))
    # Villages over the whole valley, about one per 12 km² of plain, fewer in the mountains.
    n = 12_000
    x = rng.uniform(360_000.0, 800_000.0, n)
    y = rng.uniform(4_840_000.0, 5_140_000.0, n)
    keep = (elevation(x, y) < 600.0) | (rng.random(n) < 0.3)
    villages = np.column_stack([x, y, rng.uniform(0.12, 0.5, n), rng.uniform(180.0, 450.0, n)])[
        keep
    ]
    return np.concatenate([np.array(rows), villages])


def urban_density(block: Block) -> np.ndarray:
    """Built-up density (0-1) from the settlement kernels."""
    out = kernel_field(block.x[0], block.y[:, 0], settlements(), 3.0, summed=False)
    # Towns are not round: their outskirts follow roads and old field borders.
    shape = 0.75 + 0.35 * smooth_field(block.x, block.y, seed("po-urban-shape"), 1_500.0, terms=8)
    return out * shape


def _draw(zone: str, u: np.ndarray) -> np.ndarray:
    classes = np.array([c for c, _ in _ZONES[zone]])
    weights = np.array([w for _, w in _ZONES[zone]])
    edges = np.cumsum(weights) / weights.sum()
    return classes[np.minimum(np.searchsorted(edges, u), len(classes) - 1)]


def _land(block: Block) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Land cover codes, urban density, offset from the river (m) and elevation (m); cached."""

    def compute():
        x, y = np.broadcast_arrays(block.x, block.y)
        h, relief = terrain(x, y)
        d_river = river_offset(x, y)
        # Patches of about 25-100 ha (CLC's minimum mapping unit is 25 ha).
        px, py = warped_cells(x, y, 900.0, seed("po-patches"))
        u = hash_uniform(px, py, seed("po-patch-class"))
        zones = list(_ZONES)
        riparian = np.abs(d_river) < 1_800.0
        zone = np.select(
            [relief > 1_300.0, relief > 350.0, relief > 60.0, riparian, d_river > 0],
            [
                zones.index(z)
                for z in ("high_mountains", "mountains", "hills", "riparian", "plain_north")
            ],
            zones.index("plain_south"),
        )
        out = np.zeros(x.shape, dtype=np.uint16)
        for i, name in enumerate(zones):
            sel = zone == i
            out[sel] = _draw(name, u[sel])
        urban = urban_density(block)
        ix, iy = warped_cells(x, y, 450.0, seed("po-industry"))
        industry = hash_uniform(ix, iy, seed("po-industry-class")) < 0.25
        out[(urban > 0.08) & (urban < 0.45) & industry] = 121
        out[urban > 0.18] = 112
        out[urban > 0.55] = 111
        out[_lakes(x, y)] = 512
        out[np.abs(d_river) < RIVER_HALF_WIDTH] = 511
        return out, urban.astype(np.float32), d_river.astype(np.float32), h.astype(np.float32)

    return block.cached("po-land", compute)


def land_cover_bands(block: Block, day: dt.date) -> dict[str, np.ndarray]:
    """CORINE-like level-3 codes (uint16) at the block's pixel centres."""
    return {"land_cover": _land(block)[0]}


def _era5_soil_moisture(block: Block, day: dt.date) -> np.ndarray:
    """ERA5's Po-box soil moisture interpolated bilinearly to the pixel centres."""
    climate = region_climate("po_valley")
    field = climate.soil_moisture[climate.index(day)]
    lon, lat = block.lonlat()
    g = climate.grid
    col = (lon - g.x0) / g.res - 0.5
    row = (g.y0 - lat) / g.res - 0.5
    return map_coordinates(field, [row, col], order=1, mode="nearest")


# Range of the soil moisture retrieval: dry and wet reference in m³/m³.
SSM_DRY, SSM_WET = 0.06, 0.46


def ssm_bands(block: Block, day: dt.date) -> dict[str, np.ndarray]:
    """Sentinel-1-like surface soil moisture (% of saturation) with speckle; NaN where masked."""
    lc, urban, d_river, h = _land(block)
    texture = block.cached(
        "po-ssm-texture", lambda: 7.0 * smooth_field(block.x, block.y, seed("po-ssm"), 4_000.0)
    )
    theta = _era5_soil_moisture(block, day)
    ssm = (theta - SSM_DRY) / (SSM_WET - SSM_DRY) * 100.0 + texture
    if 5 <= day.month <= 9:
        # Irrigated fields and rice are wetter in the irrigation season.
        ssm = ssm + 9.0 * (lc == 212)
    # Radar soil moisture reads low under forest canopies.
    ssm = ssm - 6.0 * np.isin(lc, (311, 312, 313))
    ssm = ssm + 4.5 * hash_normal(block.ix, block.iy, seed("s1-speckle", day))
    ssm = np.round(np.clip(ssm, 0.0, 100.0), 1)
    # No retrieval over water, dense towns, and snow-covered mountains in winter.
    masked = (lc == 511) | (lc == 512) | (urban > 0.5) | (np.abs(d_river) < 250.0)
    if day.month in (12, 1, 2, 3):
        masked |= h > 1_200.0
    ssm[masked] = np.nan
    return {"ssm": ssm.astype(np.float32)}
