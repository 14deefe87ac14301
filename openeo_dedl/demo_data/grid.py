"""Raster grids of the demo collections and the row strips the writer computes them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from pyproj import Transformer
from rasterio.transform import Affine, from_origin

# Strips of about this many pixels keep float64 temporaries of the large rasters in check.
BLOCK_PIXELS = 2_000_000


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid in a native CRS: top-left corner, square pixel size and shape."""

    epsg: int
    x0: float
    y0: float
    res: float
    width: int
    height: int

    @classmethod
    def centred(cls, epsg: int, centre: tuple[float, float], res: float, shape: tuple[int, int]):
        """The grid of ``shape`` (width, height) pixels whose centre is ``centre``."""
        width, height = shape
        # Rounding keeps corners such as 66.0 exact instead of 65.99999999999999.
        x0 = round(centre[0] - width * res / 2, 9)
        y0 = round(centre[1] + height * res / 2, 9)
        return cls(epsg, x0, y0, res, width, height)

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    @property
    def transform(self) -> Affine:
        return from_origin(self.x0, self.y0, self.res, self.res)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in the native CRS."""
        return (
            self.x0,
            round(self.y0 - self.height * self.res, 9),
            round(self.x0 + self.width * self.res, 9),
            self.y0,
        )

    def footprint_wgs84(self, points_per_edge: int = 8) -> list[list[float]]:
        """Outline of the grid in lon/lat (closed ring, counter-clockwise), edges densified.

        A UTM rectangle is not a lon/lat rectangle; densified edges keep the footprint (and the
        bbox derived from it) covering every pixel.
        """
        w, s, e, n = self.bounds
        t = np.linspace(0.0, 1.0, points_per_edge, endpoint=False)
        xs = np.concatenate(
            [w + (e - w) * t, np.full_like(t, e), e - (e - w) * t, np.full_like(t, w)]
        )
        ys = np.concatenate(
            [np.full_like(t, s), s + (n - s) * t, np.full_like(t, n), n - (n - s) * t]
        )
        if self.epsg != 4326:
            xs, ys = Transformer.from_crs(self.epsg, 4326, always_xy=True).transform(xs, ys)
        ring = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(xs, ys, strict=True)]
        return [*ring, ring[0]]

    def bbox_wgs84(self) -> list[float]:
        ring = np.array(self.footprint_wgs84())
        return [
            float(ring[:, 0].min()),
            float(ring[:, 1].min()),
            float(ring[:, 0].max()),
            float(ring[:, 1].max()),
        ]

    def blocks(self) -> list[Block]:
        rows = max(1, BLOCK_PIXELS // self.width)
        return [Block(self, r, min(r + rows, self.height)) for r in range(0, self.height, rows)]


@dataclass(eq=False)
class Block:
    """Rows [row0, row1) of a grid, with pixel-centre coordinates and a cache for static layers.

    Coordinates are 1-D (``x`` is a row vector, ``y`` a column vector) and broadcast, so a strip
    costs no memory until a model computes a field on it. Blocks live as long as the grid is being
    written, so layers that do not change with time (terrain, land cover) are computed once.
    """

    grid: Grid
    row0: int
    row1: int
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.row1 - self.row0, self.grid.width)

    @cached_property
    def x(self) -> np.ndarray:
        g = self.grid
        return (g.x0 + (np.arange(g.width) + 0.5) * g.res)[np.newaxis, :]

    @cached_property
    def y(self) -> np.ndarray:
        g = self.grid
        return (g.y0 - (np.arange(self.row0, self.row1) + 0.5) * g.res)[:, np.newaxis]

    @cached_property
    def ix(self) -> np.ndarray:
        """Absolute column index (x / res), the same for a location in every grid size."""
        return np.floor(self.x / self.grid.res).astype(np.int64)

    @cached_property
    def iy(self) -> np.ndarray:
        return np.floor(self.y / self.grid.res).astype(np.int64)

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre longitude/latitude (2-D)."""

        def compute():
            xx, yy = np.broadcast_arrays(self.x, self.y)
            if self.grid.epsg == 4326:
                return xx.copy(), yy.copy()
            t = Transformer.from_crs(self.grid.epsg, 4326, always_xy=True)
            return t.transform(xx, yy)

        return self.cached("lonlat", compute)

    def cached(self, name: str, compute):
        """``compute()`` once per block; for layers that are the same on every date."""
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]
