"""The per-process limit checks of ``planning/limits.py`` and the helpers they share (pure).

Each check looks at one node's literal arguments (``walk`` is the limits walk: its limits,
its errors, ``refuse`` for an exceeded limit and ``extent_at`` for the extent of a cube).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openeo_dedl.errors import ProcessParameterInvalid
from openeo_dedl.planning.walk import is_callback, is_reference

if TYPE_CHECKING:
    from openeo_dedl.planning.limits import _Walk as Walk

# -- CRS ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _crs_problem(kind: type, value: int | str) -> str | None:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        if kind is int or (kind is str and str(value).isdigit()):
            CRS.from_epsg(int(value))
        elif "init=" in str(value) or "@" in str(value):
            # PROJ init files and grid lists name files on the server: not a user's to name.
            return "PROJ strings that name files are not accepted"
        else:
            CRS.from_user_input(value)
    except (CRSError, ValueError, TypeError, OverflowError) as exc:
        return str(exc).split("\n")[0][:200]
    return None


def crs_problem(value: Any) -> str | None:
    """Why ``value`` is not a CRS (an EPSG code, ``AUTH:code`` or WKT/PROJ text), None if it is.

    Cached: the same few codes come again and again, and pyproj's parsing is not free.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        return f"a CRS is an EPSG code (integer) or a WKT2 string, not {json_kind(value)}"
    if isinstance(value, int) and not 0 < value < 2**31:
        return f"{value} is not an EPSG code"
    if isinstance(value, str) and not value.strip():
        return "an empty string is not a CRS"
    return _crs_problem(type(value), value)


@functools.lru_cache(maxsize=1024)
def _is_geographic(kind: type, value: int | str) -> bool:
    from pyproj import CRS

    return bool(CRS.from_user_input(int(value) if kind is int else value).is_geographic)


def is_geographic_crs(value: Any) -> bool:
    """Whether a valid CRS ``value`` (or None: WGS84) has degrees as units."""
    if value is None:
        return True
    return _is_geographic(type(value), value)


# -- helpers ------------------------------------------------------------------------------------


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_literal_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer_power_bits(base: int, p: int) -> float:
    """Bits of ``base ** p`` for integers (0 when the result stays small: |base| < 2 or p < 1)."""
    if abs(base) < 2 or p < 1:
        return 0.0
    return p * math.log2(abs(base))


def _invalid(node_id: str, pid: str, name: str, why: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process '{pid}' (node '{node_id}') is "
        f"invalid: {why}."
    )


KEEPS_EXTENT = frozenset(
    {
        "apply", "apply_dimension", "apply_kernel", "apply_polygon", "filter_bands",
        "filter_temporal", "reduce_dimension", "ndvi", "mask", "mask_polygon", "rename_labels",
        "rename_dimension",
        "aggregate_temporal", "aggregate_temporal_period", "drop_dimension", "add_dimension",
        "linear_scale_range", "resample_spatial", "save_result",
    }
)  # fmt: skip


def wgs84_box(extent: Any) -> tuple[float, float, float, float] | None:
    if not isinstance(extent, dict):
        return None
    values = [extent.get(k) for k in ("west", "south", "east", "north")]
    if not all(_is_number(v) and math.isfinite(v) for v in values):
        return None
    crs = extent.get("crs")
    if crs is not None and (crs_problem(crs) or not is_geographic_crs(crs)):
        return None  # projected boxes: no static bound (the run-time check still applies)
    w, s, e, n = (float(v) for v in values)
    return (w, s, e, n)


# -- per-process checks ---------------------------------------------------------------------------


def _check_power(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    base, p = args.get("base"), args.get("p")
    if is_literal_int(base) and is_literal_int(p):
        bits = integer_power_bits(base, p)
        if bits > walk.limits.max_integer_bits:
            walk.refuse(
                "max_integer_bits",
                math.ceil(bits),
                f"The size in bits of power({base}, {p}) (node '{node_id}')",
            )


def _check_array_create(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    repeat, data = args.get("repeat", 1), args.get("data")
    if not is_literal_int(repeat):
        return
    length = len(data) if isinstance(data, list) else 1
    if repeat * length > walk.limits.max_array_length:
        walk.refuse(
            "max_array_length",
            repeat * length,
            f"The length of the array array_create makes (node '{node_id}')",
        )
    characters = repeat * length * longest_string(data)
    if characters > walk.limits.max_string_length:
        walk.refuse(
            "max_string_length",
            characters,
            f"The characters of the strings array_create makes (node '{node_id}')",
        )


def longest_string(data: Any) -> int:
    """Characters of the longest string element of a (flat) array: arrays of strings are
    stored with every element that long (numpy), so they count repeat x length x this."""
    values = data if isinstance(data, list | tuple) else [data]
    return max((len(v) for v in values if isinstance(v, str)), default=0)


def _text_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if value is None or isinstance(value, bool):
        return 5
    if _is_number(value):
        return len(repr(value))
    return 0  # a reference: unknown before the run (checked then)


def _check_text_concat(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    data = args.get("data")
    if not isinstance(data, list):
        return
    total = sum(_text_length(v) for v in data)
    total += _text_length(args.get("separator", "")) * max(len(data) - 1, 0)
    if total > walk.limits.max_string_length:
        walk.refuse(
            "max_string_length", total, f"The length of the text_concat result (node '{node_id}')"
        )


def _check_resample_spatial(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    pid = "resample_spatial"
    resolution = args.get("resolution", 0)
    if is_reference(resolution):
        res = None
    elif _is_number(resolution):
        res = (resolution, resolution)
    elif isinstance(resolution, list) and len(resolution) == 2:
        res = tuple(resolution)
    else:
        walk.errors.append(
            _invalid(node_id, pid, "resolution", "a number or two numbers [x, y] are needed")
        )
        return
    if res is not None and not all(_is_number(r) and math.isfinite(r) and r >= 0 for r in res):
        walk.errors.append(
            _invalid(node_id, pid, "resolution", f"{resolution!r} is not a resolution >= 0")
        )
        return
    projection = args.get("projection")
    if projection is not None and not is_reference(projection):
        problem = crs_problem(projection)
        if problem:
            walk.errors.append(_invalid(node_id, pid, "projection", problem))
            return
    if res is None or min(res) == 0:
        return
    box = walk.extent_at(graph, args.get("data"))
    if box is None:
        return
    w, s, e, n = box
    width, height = abs(e - w), abs(n - s)
    if (
        projection is not None
        and not is_reference(projection)
        and not is_geographic_crs(projection)
    ):
        # Metres: a degree is at least ~1.1 km here (cos of the latitude farthest out).
        lat = min(max(abs(s), abs(n)), 89.0)
        width *= 111_320.0 * max(math.cos(math.radians(lat)), 0.01)
        height *= 110_000.0
    # With the native CRS unknown, degrees give the fewest pixels: a lower bound.
    pixels = (width / res[0]) * (height / res[1])
    if pixels > walk.limits.max_resample_pixels:
        walk.refuse(
            "max_resample_pixels",
            float(pixels),
            f"The number of pixels resample_spatial makes at resolution {resolution} "
            f"(node '{node_id}')",
        )


def _check_apply_kernel(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    kernel = args.get("kernel")
    if not isinstance(kernel, list):
        return
    size = max([len(kernel), *(len(row) for row in kernel if isinstance(row, list))])
    if size > walk.limits.max_kernel_size:
        walk.refuse(
            "max_kernel_size", size, f"The size of the apply_kernel kernel (node '{node_id}')"
        )


# Years a unit is at least (to bound a shift to the calendar's 1..9999 years).
_UNIT_YEARS = {
    "millisecond": 1 / (1000 * 86400 * 366),
    "second": 1 / (86400 * 366),
    "minute": 1 / (1440 * 366),
    "hour": 1 / (24 * 366),
    "day": 1 / 366,
    "week": 7 / 366,
    "month": 1 / 12,
    "year": 1.0,
}
MAX_DATE_SHIFT_YEARS = 10_000


def date_shift_problem(value: Any, unit: Any) -> str | None:
    """Why shifting a date by ``value`` ``unit`` cannot give a date of years 1..9999."""
    if not is_literal_int(value) or unit not in _UNIT_YEARS:
        return None
    if abs(value) * _UNIT_YEARS[unit] > MAX_DATE_SHIFT_YEARS:
        return f"{value} {unit}s leave the calendar's years 1 to 9999"
    return None


def _check_date_shift(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    problem = date_shift_problem(args.get("value"), args.get("unit"))
    if problem:
        walk.errors.append(_invalid(node_id, "date_shift", "value", problem))


def _check_bbox(walk: Walk, node_id: str, pid: str, name: str, extent: Any) -> None:
    if not isinstance(extent, dict) or "type" in extent or is_reference(extent):
        return  # GeoJSON, a reference or null: not a bounding box
    if is_callback(extent):
        return
    for key in ("west", "south", "east", "north"):
        v = extent.get(key)
        if v is None and key not in extent:
            walk.errors.append(_invalid(node_id, pid, name, f"'{key}' is missing"))
            return
        if isinstance(v, float) and not math.isfinite(v):
            return  # the walk reports every number that is not finite
        if not is_reference(v) and not (_is_number(v) and math.isfinite(v)):
            walk.errors.append(
                _invalid(node_id, pid, name, f"'{key}' must be a finite number, not {json_kind(v)}")
            )
            return
    crs = extent.get("crs")
    if crs is not None and not is_reference(crs):
        problem = crs_problem(crs)
        if problem:
            walk.errors.append(_invalid(node_id, pid, name, f"'crs': {problem}"))
            return
    if _geographic(crs):
        for key, bound in (("west", 180), ("east", 180), ("south", 90), ("north", 90)):
            v = extent[key]
            if _is_number(v) and abs(v) > bound:
                walk.errors.append(
                    _invalid(
                        node_id, pid, name, f"'{key}' is {v}, outside -{bound}..{bound} degrees"
                    )
                )
                return
        s, n = extent["south"], extent["north"]
        if _is_number(s) and _is_number(n) and s > n:
            walk.errors.append(_invalid(node_id, pid, name, f"'south' ({s}) is north of 'north'"))


def _geographic(crs: Any) -> bool:
    # Only WGS84-like boxes have the ±180/±90 ranges; other geographic CRSs might use grads.
    return crs is None or crs in (4326, "4326", "EPSG:4326", "OGC:CRS84", "epsg:4326")


def _check_load_collection(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    _check_bbox(walk, node_id, "load_collection", "spatial_extent", args.get("spatial_extent"))
    bands = args.get("bands")
    if bands is not None and not is_reference(bands):
        if not isinstance(bands, list) or not bands:
            walk.errors.append(
                _invalid(
                    node_id,
                    "load_collection",
                    "bands",
                    f"a non-empty list of band names or null is needed, not {json_kind(bands)}",
                )
            )
        elif not all(isinstance(b, str) or is_reference(b) for b in bands):
            walk.errors.append(
                _invalid(node_id, "load_collection", "bands", "band names must be strings")
            )


def _check_filter_bbox(walk: Walk, graph: dict, node_id: str, args: Mapping) -> None:
    _check_bbox(walk, node_id, "filter_bbox", "extent", args.get("extent"))


PROCESS_CHECKS = {
    "power": _check_power,
    "array_create": _check_array_create,
    "text_concat": _check_text_concat,
    "resample_spatial": _check_resample_spatial,
    "apply_kernel": _check_apply_kernel,
    "date_shift": _check_date_shift,
    "load_collection": _check_load_collection,
    "filter_bbox": _check_filter_bbox,
}
