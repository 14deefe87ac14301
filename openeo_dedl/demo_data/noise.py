"""Deterministic random building blocks for the value models.

Two kinds of randomness are used:

* *Parameters* (town positions, wave directions, per-day weather) come from ``numpy`` Generators
  seeded with :func:`seed`, a stable hash of a name, so adding a collection does not shift others.
* *Per-pixel noise* (speckle, sensor noise, patch attributes) is a counter-based hash of the
  absolute pixel index, not a Generator stream: a pixel gets the same value whatever the raster
  size or the row block it is computed in, which keeps ``small``/``medium``/``large`` consistent
  where they overlap and lets the writer work in strips.
"""

from __future__ import annotations

import zlib

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_K_X = np.uint64(0x9E3779B97F4A7C15)
_K_Y = np.uint64(0xC2B2AE3D27D4EB4F)
_K_Z = np.uint64(0x165667B19E3779F9)


def seed(*parts: object) -> int:
    """A stable 32-bit seed from names/numbers (Python's ``hash`` is salted per process)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def _mix(v: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: good avalanche, cheap, and wraps identically on every platform.
    v = (v ^ (v >> np.uint64(30))) * _M1
    v = (v ^ (v >> np.uint64(27))) * _M2
    return v ^ (v >> np.uint64(31))


def hash_uniform(ix: np.ndarray, iy: np.ndarray, key: int) -> np.ndarray:
    """Uniform values in (0, 1), one per integer cell (ix, iy), independent for each ``key``."""
    ix = np.asarray(ix).astype(np.int64).view(np.uint64)
    iy = np.asarray(iy).astype(np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        h = _mix(ix * _K_X ^ _mix(iy * _K_Y ^ np.uint64(key) * _K_Z))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def hash_normal(ix: np.ndarray, iy: np.ndarray, key: int) -> np.ndarray:
    """Standard normal values per integer cell (Box-Muller on two hashed uniforms)."""
    u1 = hash_uniform(ix, iy, key)
    u2 = hash_uniform(ix, iy, key ^ 0x5BD1E995)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def smooth_field(
    x: np.ndarray, y: np.ndarray, key: int, scale: float, terms: int = 10
) -> np.ndarray:
    """A smooth random field of roughly unit amplitude (about -1.5 … 1.5).

    A sum of plane waves with seeded directions, phases and wavelengths spread around ``scale``
    (in the units of x/y). Many directions and a spread of wavelengths avoid the regular
    interference pattern a handful of equal waves would show.
    """
    rng = np.random.default_rng(key)
    angles = rng.uniform(0.0, np.pi, terms)
    wavelengths = scale * np.exp(rng.uniform(np.log(0.4), np.log(1.6), terms))
    phases = rng.uniform(0.0, 2.0 * np.pi, terms)
    out = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(y)))
    for a, w, p in zip(angles, wavelengths, phases, strict=True):
        out += np.sin((x * np.cos(a) + y * np.sin(a)) * (2.0 * np.pi / w) + p)
    return out * np.sqrt(2.0 / terms)


def warped_cells(
    x: np.ndarray, y: np.ndarray, size: float, key: int, warp: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """Integer ids of irregular patches about ``size`` wide (a domain-warped square lattice).

    Used for fields, parcels and land-cover patches: a plain lattice looks like graph paper,
    warping its coordinates with smooth fields gives curved, uneven borders.
    """
    wx = smooth_field(x, y, key, 3.0 * size, terms=6) * warp * size
    wy = smooth_field(x, y, key + 1, 3.0 * size, terms=6) * warp * size
    return np.floor((x + wx) / size).astype(np.int64), np.floor((y + wy) / size).astype(np.int64)


def gaussian(d2: np.ndarray, sigma: float) -> np.ndarray:
    """exp(-d²/2σ²) for squared distances."""
    return np.exp(-0.5 * d2 / sigma**2)


def kernel_field(
    xs: np.ndarray, ys: np.ndarray, kernels: np.ndarray, reach: float, *, summed: bool
) -> np.ndarray:
    """Gaussian kernels ``(x, y, peak, sigma)`` on the grid of columns ``xs`` and rows ``ys``
    (decreasing down the rows), each cut off at ``reach`` sigmas; overlapping kernels add up
    (``summed``) or the highest wins."""
    out = np.zeros((len(ys), len(xs)))
    for x, y, peak, radius in kernels:
        cut = reach * radius
        c0, c1 = np.searchsorted(xs, [x - cut, x + cut])
        r0, r1 = np.searchsorted(-ys, [-(y + cut), -(y - cut)])
        if c0 >= c1 or r0 >= r1:
            continue
        d2 = (xs[np.newaxis, c0:c1] - x) ** 2 + (ys[r0:r1, np.newaxis] - y) ** 2
        if summed:
            out[r0:r1, c0:c1] += peak * gaussian(d2, radius)
        else:
            out[r0:r1, c0:c1] = np.maximum(out[r0:r1, c0:c1], peak * gaussian(d2, radius))
    return out
