"""The Adige valley south of Bolzano in June 2022, as Sentinel-2 L2A would see it.

A valley floor of apple orchards and meadows, vineyards on the western terrace, forest on the
slopes, alpine grassland and rock above, the river and the towns; reflectances are mixtures of
vegetation and background spectra with hill shading; each date has its own clouds and their
shadows, and the SCL band classifies all of it. Absolute UTM 32N coordinates (EPSG:32632).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
from pyproj import Transformer
from scipy.stats import norm

from openeo_dedl.demo_data.grid import Block
from openeo_dedl.demo_data.noise import (
    hash_normal,
    hash_uniform,
    kernel_field,
    seed,
    smooth_field,
    warped_cells,
)

# South-west of Bolzano's centre (about 11.31°E 46.47°N): orchards, the Adige, vineyard terraces.
CENTRE = (677_600.0, 5_148_600.0)
_AXIS_POINT = (679_000.0, 5_149_000.0)  # on the valley axis
# Unit vector down the valley (azimuth 200°, towards Salorno).
_DOWN = (np.sin(np.radians(200.0)), np.cos(np.radians(200.0)))
FLOOR_HALF_WIDTH = 1_500.0

# Sun at the June overpass (about 10:10 UTC): azimuth and elevation in degrees.
SUN_AZIMUTH, SUN_ELEVATION = 145.0, 64.0
CLOUD_HEIGHT = 2_000.0  # m; sets how far from its cloud a shadow falls

# Share of the towns' irregular stands that are parks and gardens.
URBAN_GREEN_SHARE = 0.15

# Cover types of the surface model.
WATER, URBAN, ORCHARD, VINEYARD, MEADOW, FOREST, GRASSLAND, ROCK, BARE = range(9)

# Spectra (B02, B03, B04, B08 reflectance) of the mixture's end members.
_VEGETATION = np.array([0.025, 0.055, 0.030, 0.43])
_CONIFER = np.array([0.018, 0.035, 0.018, 0.26])
_SOIL = np.array([0.075, 0.105, 0.135, 0.21])
_URBAN = np.array([0.100, 0.110, 0.120, 0.16])
_ROCK = np.array([0.140, 0.160, 0.175, 0.22])
_WATER = np.array([0.060, 0.075, 0.045, 0.02])  # the Adige is milky with glacier silt
_SNOW = np.array([0.860, 0.850, 0.830, 0.74])
BANDS = ("B02", "B03", "B04", "B08")

# Towns (lon, lat, peak density, radius m): Bolzano, Laives, Appiano, Caldaro, Terlano, Ora.
_TOWNS = (
    (11.354, 46.498, 1.0, 1_600.0),
    (11.339, 46.427, 0.9, 700.0),
    (11.258, 46.457, 0.85, 600.0),
    (11.241, 46.414, 0.85, 500.0),
    (11.247, 46.531, 0.8, 400.0),
    (11.298, 46.347, 0.8, 400.0),
)


def _along_across(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx, dy = x - _AXIS_POINT[0], y - _AXIS_POINT[1]
    return dx * _DOWN[0] + dy * _DOWN[1], -dx * _DOWN[1] + dy * _DOWN[0]


def elevation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height (m): flat floor, a terraced west side (Oltradige) and steep flanks."""
    u, v = _along_across(x, y)
    a = np.abs(v)
    # Many waves per octave: with few, hill shading shows their regular interference pattern.
    rough = smooth_field(x, y, seed("bz-relief"), 3_500.0, terms=24) + 0.2 * smooth_field(
        x, y, seed("bz-relief-fine"), 900.0, terms=16
    )
    floor = 240.0 - 0.004 * u
    # v < 0 is west of the axis (the terrace side), v > 0 east.
    terrace = np.where(v < 0, 0.09 * np.clip(a - FLOOR_HALF_WIDTH, 0.0, 3_000.0), 0.0)
    flank_start = np.where(v < 0, FLOOR_HALF_WIDTH + 3_000.0, FLOOR_HALF_WIDTH)
    # Softplus instead of a hard kink where the floor meets the flank (it would shade as a line).
    beyond = 150.0 * np.logaddexp(0.0, (a - flank_start) / 150.0)
    flank = 1_700.0 * (1.0 - np.exp(-beyond / 2_600.0))
    ridges = 450.0 * smooth_field(x, y, seed("bz-ridges"), 7_000.0, terms=16)
    relief = terrace + flank
    weight = np.clip(relief / 300.0, 0.0, 1.0)
    h = floor + relief + (ridges + 220.0 * rough) * weight
    return np.clip(h, floor, 3_000.0)


def _terrain(x: np.ndarray, y: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Elevation at the pixel centres and hill shading (illumination relative to flat ground).

    The slope comes from central differences over the neighbouring pixel centres, evaluated on a
    grid one pixel larger on every side: one elevation evaluation instead of five, and the same
    value for a pixel whatever strip or grid size it is computed in.
    """
    xe = np.concatenate([x[:, :1] - step, x, x[:, -1:] + step], axis=1)
    ye = np.concatenate([y[:1] + step, y, y[-1:] - step], axis=0)
    h = elevation(xe, ye)
    dzdx = (h[1:-1, 2:] - h[1:-1, :-2]) / (2 * step)
    # Rows run southwards, so the northern neighbour is the row above.
    dzdy = (h[:-2, 1:-1] - h[2:, 1:-1]) / (2 * step)
    zen = np.radians(90.0 - SUN_ELEVATION)
    az = np.radians(SUN_AZIMUTH)
    # Dot product of the surface normal with the direction to the sun.
    sx, sy, sz = np.sin(zen) * np.sin(az), np.sin(zen) * np.cos(az), np.cos(zen)
    shade = (-dzdx * sx - dzdy * sy + sz) / np.sqrt(1.0 + dzdx**2 + dzdy**2)
    return h[1:-1, 1:-1], np.clip(shade / sz, 0.05, 1.4)


def _river(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    u, v = _along_across(x, y)
    centre = (
        900.0 + 260.0 * np.sin(2 * np.pi * u / 4_200.0) + 90.0 * np.sin(2 * np.pi * u / 1_300.0)
    )
    return np.abs(v - centre) < 32.0


@lru_cache(maxsize=1)
def _towns() -> np.ndarray:
    t = Transformer.from_crs(4326, 32632, always_xy=True)
    rows = []
    for lon, lat, peak, radius in _TOWNS:
        x, y = t.transform(lon, lat)
        rows.append((x, y, peak, radius))
    rng = np.random.default_rng(seed("bz-hamlets"))
    n = 600
    hx = CENTRE[0] + rng.uniform(-25_000.0, 25_000.0, n)
    hy = CENTRE[1] + rng.uniform(-25_000.0, 25_000.0, n)
    low = elevation(hx, hy) < 1_300.0
    hamlets = np.column_stack([hx, hy, rng.uniform(0.3, 0.7, n), rng.uniform(60.0, 160.0, n)])
    return np.concatenate([np.array(rows), hamlets[low]])


def _urban(block: Block) -> np.ndarray:
    return kernel_field(block.x[0], block.y[:, 0], _towns(), 3.0, summed=False)


def _surface(block: Block) -> dict[str, np.ndarray]:
    """Static layers: cover type, vegetation fraction, parcel ids, elevation, shading."""

    def compute():
        h, shade = _terrain(block.x, block.y, block.grid.res)
        x, y = np.broadcast_arrays(block.x, block.y)
        u, v = _along_across(x, y)
        # Parcels on the floor are long strips along the valley (orchard rows run that way).
        warp = 25.0 * smooth_field(x, y, seed("bz-parcel-warp"), 600.0, terms=6)
        pu = np.floor((u + warp) / 140.0).astype(np.int64)
        pv = np.floor((v + warp) / 55.0).astype(np.int64)
        parcel = hash_uniform(pu, pv, seed("bz-parcel"))
        # Larger, irregular stands on the slopes.
        su, sv = warped_cells(x, y, 300.0, seed("bz-stand-cells"), warp=0.6)
        stand = hash_uniform(su, sv, seed("bz-stand"))
        floor = h < 300.0
        cover = np.full(x.shape, FOREST, dtype=np.uint8)
        cover[floor] = np.select(
            [parcel[floor] < 0.68, parcel[floor] < 0.78, parcel[floor] < 0.95],
            [ORCHARD, VINEYARD, MEADOW],
            BARE,
        )
        slope_farm = (h >= 300.0) & (h < 650.0)
        cover[slope_farm] = np.select(
            [stand[slope_farm] < 0.45, stand[slope_farm] < 0.65, stand[slope_farm] < 0.8],
            [VINEYARD, ORCHARD, MEADOW],
            FOREST,
        )
        montane = (h >= 650.0) & (h < 1_800.0)
        cover[montane] = np.where(stand[montane] < 0.12, MEADOW, FOREST)
        alpine = h >= 1_800.0
        cover[alpine] = np.select(
            [stand[alpine] < 0.65, stand[alpine] < 0.85], [GRASSLAND, FOREST], ROCK
        )
        cover[h >= 2_500.0] = ROCK
        urban = _urban(block) * (0.8 + 0.4 * hash_uniform(block.ix, block.iy, seed("bz-grain")))
        cover[urban > 0.35] = URBAN
        cover[_river(x, y)] = WATER
        # Vegetation fraction in June: full canopies in forest and meadows, rows in vineyards.
        fv = np.select(
            [
                cover == ORCHARD,
                cover == VINEYARD,
                cover == MEADOW,
                cover == FOREST,
                cover == GRASSLAND,
                cover == URBAN,
            ],
            [
                0.62 + 0.25 * parcel,
                0.42 + 0.2 * parcel,
                0.9 + 0.0 * parcel,
                0.92 + 0.0 * h,
                0.55 + 0.3 * stand,
                # Parks, gardens and tree-lined squares (about one stand in seven) are green
                # in June; the rest is built up, greener towards the edge of town.
                np.where(
                    stand < URBAN_GREEN_SHARE, 0.85, 0.35 * (1.0 - np.clip(urban, 0.0, 1.0)) + 0.05
                ),
            ],
            0.04,
        )
        return {
            "cover": cover,
            "fv": fv.astype(np.float32),
            "parcel": parcel.astype(np.float32),
            "h": h.astype(np.float32),
            "shade": shade.astype(np.float32),
            # Evergreen stands above 1000 m are spruce and larch, darker in the NIR.
            "conifer": (h > 1_000.0) & (stand > 0.2),
        }

    return block.cached("bz-surface", compute)


def _mowing(parcel: np.ndarray, day: dt.date) -> np.ndarray:
    """Vegetation fraction of meadows: each parcel is cut once, some time in June."""
    cut = dt.date(day.year, 5, 28).toordinal() + np.floor(parcel * 1_000.0 % 1.0 * 40.0)
    since = day.toordinal() - cut
    return np.where(since < 0, 0.9, np.clip(0.3 + 0.03 * since, 0.3, 0.9))


# Cloudiness of the scenes the small catalog uses: one clear, one hazy, one half cloudy.
_CLOUD_FRACTION = {
    dt.date(2022, 6, 5): 0.01,
    dt.date(2022, 6, 15): 0.35,
    dt.date(2022, 6, 25): 0.08,
}


def _cloud_fraction(day: dt.date) -> float:
    if day in _CLOUD_FRACTION:
        return _CLOUD_FRACTION[day]
    rng = np.random.default_rng(seed("bz-cloud-cover", day))
    # June 2022 was sunny in the Alps; most scenes are clear, some are half covered.
    return float(rng.choice([0.01, 0.08, 0.2, 0.45], p=[0.3, 0.3, 0.25, 0.15]))


def _cloudiness(x: np.ndarray, y: np.ndarray, h: np.ndarray, day: dt.date) -> np.ndarray:
    key = seed("bz-clouds", day)
    # Convective clouds build over the mountains first.
    return (
        smooth_field(x, y, key, 1_500.0)
        + 0.4 * smooth_field(x, y, key + 1, 500.0)
        + 0.5 * np.clip((h - 1_200.0) / 1_500.0, 0.0, 1.0)
    )


def s2_bands(block: Block, day: dt.date) -> dict[str, np.ndarray]:
    """B02, B03, B04, B08 (reflectance x 10000, uint16, 0 = nodata) and the SCL classes."""
    s = _surface(block)
    cover, fv, shade = s["cover"], s["fv"].astype(np.float64), s["shade"]
    fv = np.where(cover == MEADOW, _mowing(s["parcel"], day), fv)
    veg = np.where(s["conifer"][..., None], _CONIFER, _VEGETATION)
    background = np.select(
        [cover[..., None] == URBAN, np.isin(cover, (ROCK, GRASSLAND))[..., None]],
        [_URBAN, _ROCK],
        _SOIL,
    )
    refl = fv[..., None] * veg + (1.0 - fv[..., None]) * background
    refl = np.where((cover == WATER)[..., None], _WATER, refl)
    # Snow lingers above a snow line that rises through June.
    snowline = 2_500.0 + 12.0 * (day - dt.date(day.year, 6, 1)).days
    snow = s["h"] > snowline + 120.0 * smooth_field(block.x, block.y, seed("bz-snow"), 900.0)
    refl = np.where(snow[..., None], _SNOW, refl)
    refl = refl * shade[..., None]

    ndvi = (refl[..., 3] - refl[..., 2]) / (refl[..., 3] + refl[..., 2])
    scl = np.where(ndvi > 0.4, 4, 5).astype(np.uint8)
    scl[shade < 0.3] = 2
    scl[cover == WATER] = 6
    scl[snow] = 11
    scl[hash_uniform(block.ix, block.iy, seed("bz-unclassified", day)) < 0.002] = 7

    # Clouds, their shadows (cast away from the sun), and thin cirrus on some days.
    x, y = np.broadcast_arrays(block.x, block.y)
    threshold = float(norm.ppf(1.0 - _cloud_fraction(day))) * 1.08
    c = _cloudiness(x, y, s["h"], day)
    reach = CLOUD_HEIGHT / np.tan(np.radians(SUN_ELEVATION))
    sx = reach * np.sin(np.radians(SUN_AZIMUTH))
    sy = reach * np.cos(np.radians(SUN_AZIMUTH))
    # The terrain under the cloud is taken from the shadowed pixel: close enough, and cheap.
    c_sunward = _cloudiness(x + sx, y + sy, s["h"], day)
    thick = c > threshold
    medium = (c > threshold - 0.3) & ~thick
    shadow = (c_sunward > threshold) & ~thick & ~medium
    cirrus_field = smooth_field(x, y, seed("bz-cirrus", day), 6_000.0, terms=6)
    cirrus = (cirrus_field > 1.1) & (_cloud_fraction(day) >= 0.2) & ~thick & ~medium

    refl = np.where(shadow[..., None], 0.35 * refl + 0.005, refl)
    refl = refl + 0.05 * cirrus[..., None]
    cloud_refl = (0.45 + 0.3 * np.clip(c - threshold, 0.0, 1.0))[..., None] * np.array(
        [1.0, 1.0, 0.98, 0.95]
    )
    refl = np.where(thick[..., None], cloud_refl, refl)
    refl = np.where(medium[..., None], 0.5 * refl + 0.5 * cloud_refl * 0.8, refl)
    scl[shadow] = 3
    scl[cirrus] = 10
    scl[medium] = 8
    scl[thick] = 9

    out: dict[str, np.ndarray] = {}
    for i, band in enumerate(BANDS):
        noise = 0.004 * hash_normal(block.ix, block.iy, seed("bz-noise", band, day))
        dn = np.round((refl[..., i] + noise) * 10_000.0)
        # 0 is the nodata value, so valid pixels start at 1; bright snow saturates at 1.0.
        out[band] = np.clip(dn, 1, 10_000).astype(np.uint16)
    out["SCL"] = scl
    return out


def cloud_cover(bands: dict[str, np.ndarray]) -> float:
    """eo:cloud_cover (%) of an item: medium/high probability clouds and cirrus in its SCL."""
    scl = bands["SCL"]
    return round(100.0 * float(np.isin(scl, (8, 9, 10)).mean()), 2)
