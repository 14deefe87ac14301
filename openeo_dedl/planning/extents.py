"""Reading spatial and temporal extents out of process arguments (pure, approximate).

Arguments that are not literal values (``from_parameter``, ``from_node``) narrow nothing: the
planner then assumes the whole collection, which over-estimates sizes but never under-estimates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from openeo_dedl.errors import ProcessParameterInvalid
from openeo_dedl.planning.facts import BBox, CollectionFacts

GEOGRAPHIC_CRS = frozenset({"EPSG:4326", "OGC:CRS84", "EPSG:4258", "WGS84", "CRS84"})


def normalise_crs(crs: Any) -> str | None:
    """ "EPSG:<code>" for EPSG codes given as int or string; other strings as they are."""
    if crs is None:
        return None
    if isinstance(crs, int) or (isinstance(crs, str) and crs.isdigit()):
        return f"EPSG:{int(crs)}"
    if isinstance(crs, str):
        return crs.upper() if crs.upper().startswith(("EPSG:", "OGC:")) else crs
    return None


def is_geographic(crs: str | None) -> bool:
    return crs is not None and crs in GEOGRAPHIC_CRS


def intersect(a: BBox | None, b: BBox | None) -> BBox | None:
    """Intersection of two boxes; None means unbounded. An empty result is a zero-area box."""
    if a is None:
        return b
    if b is None:
        return a
    w, s = max(a[0], b[0]), max(a[1], b[1])
    e, n = min(a[2], b[2]), min(a[3], b[3])
    return (w, s, max(w, e), max(s, n))


def union(boxes: Sequence[BBox]) -> BBox | None:
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def overlaps(a: BBox, b: BBox) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def fraction(part: BBox | None, whole: BBox | None) -> tuple[float, float]:
    """Width and height of ``part`` relative to ``whole`` (1 when either is unknown)."""
    if part is None or whole is None:
        return 1.0, 1.0
    ww, wh = whole[2] - whole[0], whole[3] - whole[1]
    fx = (part[2] - part[0]) / ww if ww > 0 else 1.0
    fy = (part[3] - part[1]) / wh if wh > 0 else 1.0
    return _unit(fx), _unit(fy)


def _unit(value: float) -> float:
    """``value`` clipped to [0, 1]; 1 (the whole, never an under-estimate) when not finite."""
    if not math.isfinite(value):
        return 1.0
    return min(max(value, 0.0), 1.0)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and bool({"from_node", "from_parameter"} & set(value))


def _native_to_wgs84(box: BBox, facts: CollectionFacts) -> BBox | None:
    """Linear map from the collection's native frame to its WGS84 box (good for small areas)."""
    if facts.native_bbox is None or facts.bbox is None:
        return None
    nw, ns, ne, nn = facts.native_bbox
    gw, gs, ge, gn = facts.bbox
    if ne <= nw or nn <= ns:
        return None
    sx, sy = (ge - gw) / (ne - nw), (gn - gs) / (nn - ns)
    return (
        gw + (box[0] - nw) * sx,
        gs + (box[1] - ns) * sy,
        gw + (box[2] - nw) * sx,
        gs + (box[3] - ns) * sy,
    )


def bbox_of_extent(extent: Any, facts: CollectionFacts | None = None) -> BBox | None:
    """WGS84 box of an openEO bounding box argument; None when unknown or in an unknown CRS."""
    if not isinstance(extent, dict) or not {"west", "south", "east", "north"} <= set(extent):
        return None
    values = [extent[k] for k in ("west", "south", "east", "north")]
    if any(_is_reference(v) for v in values):
        return None  # not known before the run
    for key, value in zip(("west", "south", "east", "north"), values, strict=True):
        if not _is_finite_number(value):
            raise ProcessParameterInvalid(
                f"Bounding box '{key}' must be a finite number, got {value!r}."
            )
    box = tuple(float(v) for v in values)
    crs = normalise_crs(extent.get("crs")) or "EPSG:4326"
    if is_geographic(crs):
        return box  # type: ignore[return-value]
    if facts is not None and facts.crs is not None and normalise_crs(facts.crs) == crs:
        return _native_to_wgs84(box, facts)  # type: ignore[arg-type]
    return None


def bbox_of_geojson(value: Any) -> BBox | None:
    """Bounding box of the coordinates of an inline GeoJSON object."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if _is_reference(v):
                raise ValueError
            for key in ("coordinates", "geometry", "geometries", "features"):
                if key in v:
                    walk(v[key])
        elif isinstance(v, list | tuple):
            if v and not any(isinstance(c, list | tuple | dict) for c in v):
                # A position: two or more finite numbers.
                if len(v) < 2 or not all(_is_finite_number(c) for c in v):
                    raise ProcessParameterInvalid(
                        f"A GeoJSON position must be two or more finite numbers, got {list(v)!r}."
                    )
                xs.append(float(v[0]))
                ys.append(float(v[1]))
            else:
                for c in v:
                    walk(c)

    try:
        walk(value)
    except ValueError:
        return None
    if not xs:
        return None
    return (min(xs), min(ys), max(xs), max(ys))


def count_geometries(value: Any) -> int | None:
    """Number of geometries of an inline GeoJSON object (None when not inline)."""
    if not isinstance(value, dict) or "from_node" in value or "from_parameter" in value:
        return None
    kind = value.get("type")
    if kind == "FeatureCollection":
        return len(value.get("features") or [])
    if kind == "GeometryCollection":
        return len(value.get("geometries") or [])
    return 1 if kind else None


def parse_instant(value: Any) -> float | None:
    """POSIX seconds of an openEO date or date-time string (UTC when no zone is given)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def interval_of_extent(extent: Any) -> tuple[float | None, float | None] | None:
    """[start, end) in POSIX seconds of a temporal interval argument; None when unknown."""
    if not isinstance(extent, list | tuple) or len(extent) != 2:
        return None
    start, end = extent
    if (start is not None and not isinstance(start, str)) or (
        end is not None and not isinstance(end, str)
    ):
        return None
    return parse_instant(start), parse_instant(end)


def in_interval(t: float, interval: tuple[float | None, float | None] | None) -> bool:
    if interval is None:
        return True
    start, end = interval
    # openEO temporal intervals include their start and exclude their end.
    return (start is None or t >= start) and (end is None or t < end)


def timestamp(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
