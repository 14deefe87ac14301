"""The size of a node's value as the planner estimates it (see planning/estimate.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from openeo_dedl.planning.facts import DEFAULT_DIMENSIONS, BBox

# Used where facts say nothing: a 1000 × 1000 pixel scene, 10 time steps, one float32 band.
DEFAULT_SHAPE = (1000, 1000)
DEFAULT_TIME_STEPS = 10
DEFAULT_ITEMSIZE = 4
DEFAULT_GEOMETRIES = 100
SCALAR_BYTES = 8

METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Estimate:
    """Size of a node's value. A dimension that is None does not exist."""

    x: float | None = None
    y: float | None = None
    t: float | None = None
    bands: float | None = None
    geometries: float | None = None
    itemsize: int = SCALAR_BYTES
    # Known labels, kept when cheap: time labels (POSIX seconds, sorted) and band names.
    times: tuple[float, ...] | None = None
    band_names: tuple[str, ...] | None = None
    bbox: BBox | None = None  # WGS84 footprint
    crs: str | None = None
    res: tuple[float, float] | None = None  # pixel size in ``crs`` units
    dims: Mapping[str, str] = field(default_factory=lambda: DEFAULT_DIMENSIONS)
    # Bytes of a value that is not a cube (number, string, array, geometry).
    other_bytes: float = SCALAR_BYTES

    @cached_property
    def is_cube(self) -> bool:
        return any(d is not None for d in (self.x, self.y, self.t, self.bands, self.geometries))

    @cached_property
    def nbytes(self) -> float:
        if not self.is_cube:
            return self.other_bytes
        size = float(self.itemsize)
        for d in (self.x, self.y, self.t, self.bands, self.geometries):
            if d is not None:
                size *= max(d, 0.0)
        return size

    def kind_of(self, dimension: Any) -> str | None:
        """The kind ("x", "y", "t", "bands") of a dimension name of this cube."""
        if not isinstance(dimension, str):
            return None
        for kind, name in self.dims.items():
            if name == dimension:
                return kind
        return dimension if dimension in DEFAULT_DIMENSIONS else None

    def without(self, kind: str) -> Estimate:
        if kind == "t":
            return replace(self, t=None, times=None)
        if kind == "bands":
            return replace(self, bands=None, band_names=None)
        if kind in ("x", "y"):
            return replace(self, **{kind: None})
        return self


SCALAR = Estimate()


def float_itemsize(itemsize: int) -> int:
    # Arithmetic on integer cubes yields float64 in numpy; float32 stays float32.
    """Bytes per value after arithmetic on values of ``itemsize`` bytes."""
    return itemsize if itemsize >= 4 else 8


def steps(times: tuple[float, ...]) -> float:
    """The number of time steps of these time labels."""
    return float(len(times))
