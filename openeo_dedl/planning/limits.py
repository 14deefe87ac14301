"""Limits before any work: static checks of a process graph's JSON (pure, linear time).

Every process that can blow up from small inputs (``power`` on integers, ``array_create``'s
repeat, ``text_concat``, ``resample_spatial`` to tiny resolutions, ``apply_kernel`` sizes, date
shifts) and every structure that can (nodes, nesting, literal sizes) is bounded here, before a
graph is parsed, planned or run. Exceeding a limit is a ``ProcessGraphComplexity`` naming the
limit's Settings key (``limits.<name>``) and the value; a malformed value (a bounding box north
of the pole, ``bands`` that is not a list of strings, ``"result": "yes"``, a number that JSON
cannot hold such as ``1e400``) is a ``ProcessParameterInvalid`` or ``ProcessGraphInvalid``.

The limits come as a :class:`GraphLimits` (the same names as ``limits.*`` in Settings; this
module does not import the configuration). :func:`configure` sets the process-wide default that
:func:`active_limits` returns, which the process implementations use for the same checks on
values computed at run time (``runtime`` helpers below).

One pass over the JSON with an explicit stack (no recursion: a body may be nested 10,000 deep),
constant work per value, so the checks are linear in the size of the graph.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from openeo_dedl.errors import (
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessParameterInvalid,
)
from openeo_dedl.planning.walk import is_callback, is_reference

LOG2_10 = math.log2(10)


@dataclass(frozen=True)
class GraphLimits:
    """What one process graph may use; each field is ``limits.<field>`` in Settings."""

    # Nodes of the graph and all its callbacks, after user-defined processes are inlined.
    max_nodes: int = 5000
    # Callbacks inside callbacks (``apply`` → ``array_apply`` → ... ).
    max_callback_depth: int = 30
    # Nesting of JSON arrays and objects (also of request bodies).
    max_json_depth: int = 256
    # Elements of an array: literal, or computed (array_create, array_concat, ...).
    max_array_length: int = 1_000_000
    # Characters of a string: literal, or computed (text_concat).
    max_string_length: int = 1_000_000
    # Bits of an integer: literal, or computed on exact integers (power, multiply).
    max_integer_bits: int = 1024
    # Rows and columns of an apply_kernel kernel.
    max_kernel_size: int = 101
    # x × y pixels of a resample_spatial output.
    max_resample_pixels: int = 10_000_000_000

    @classmethod
    def from_config(cls, config: Any) -> GraphLimits:
        """The limits of a ``LimitsConfig`` (any object with attributes of these names)."""
        return cls(
            **{
                f.name: getattr(config, f.name)
                for f in dataclasses.fields(cls)
                if hasattr(config, f.name)
            }
        )


_active = GraphLimits()


def configure(limits: GraphLimits) -> None:
    """Make ``limits`` the process-wide default (the server does this from its Settings)."""
    global _active
    _active = limits


def active_limits() -> GraphLimits:
    """The limits set by :func:`configure` (the defaults until then)."""
    return _active


def exceeded(name: str, value: float, limit: float, what: str) -> ProcessGraphComplexity:
    """The error of ``what`` (its ``value``) over ``limits.<name>`` (``limit``)."""
    shown = f"{value:.3g}" if isinstance(value, float) else str(value)
    return ProcessGraphComplexity(
        f"{what} is {shown}, more than limits.{name} = {limit} allows: make it smaller, or ask "
        "the operator to raise the limit."
    )


class _Refused(Exception):
    """Stops the walk at the first exceeded limit: the rest need not be looked at."""

    def __init__(self, error: OpenEOError):
        super().__init__(error.message)
        self.error = error


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
        return f"a CRS is an EPSG code (integer) or a WKT2 string, not {_kind(value)}"
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


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_literal_int(value: Any) -> bool:
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


# -- the walk -----------------------------------------------------------------------------------


_CONTAINERS = (dict, list)


class _Walk:
    def __init__(self, limits: GraphLimits):
        self.limits = limits
        self.nodes = 0
        self.errors: list[OpenEOError] = []
        # Literal spatial extents (west, south, east, north in degrees) of nodes, per graph.
        self.extents: dict[tuple[int, str], tuple[float, float, float, float] | None] = {}

    def refuse(self, name: str, value: float, what: str) -> None:
        raise _Refused(exceeded(name, value, getattr(self.limits, name), what))

    def run(self, process_graph: Any) -> None:
        # (graph, callback depth, JSON depth of the graph object)
        graphs: list[tuple[Any, int, int]] = [(process_graph, 0, 1)]
        while graphs:
            graph, level, depth = graphs.pop()
            if not isinstance(graph, dict):
                continue  # FlatGraph says what is wrong with it
            self.nodes += len(graph)
            if self.nodes > self.limits.max_nodes:
                self.refuse("max_nodes", self.nodes, "The number of process graph nodes")
            for node_id, node in graph.items():
                self.scalar(node_id, depth + 1)
                if not isinstance(node, dict):
                    continue
                if "result" in node and not isinstance(node["result"], bool):
                    self.errors.append(
                        ProcessGraphInvalid(
                            f"Node '{node_id}': 'result' must be true or false, not "
                            f"{_kind(node['result'])}."
                        )
                    )
                callbacks = self.values(node_id, node, depth + 1, level)
                graphs.extend(callbacks)
            for node_id, node in graph.items():
                if isinstance(node, dict) and isinstance(node.get("arguments"), dict):
                    check = _PROCESS_CHECKS.get(node.get("process_id"))
                    if check is not None:
                        check(self, graph, str(node_id), node["arguments"])

    def scalar(self, value: Any, depth: int) -> None:
        if isinstance(value, str):
            if len(value) > self.limits.max_string_length:
                self.refuse("max_string_length", len(value), "The length of a string")
        elif isinstance(value, bool):
            pass
        elif isinstance(value, int):
            bits = value.bit_length()
            if bits > self.limits.max_integer_bits:
                self.refuse("max_integer_bits", bits, "The size in bits of an integer")

    def values(
        self, node_id: Any, node: dict, depth: int, level: int
    ) -> list[tuple[Any, int, int]]:
        """Check every value of ``node``; returns its callbacks (graph, level, depth)."""
        callbacks: list[tuple[Any, int, int]] = []
        stack: list[tuple[Any, int, str]] = [(node, depth, "")]
        limits = self.limits
        max_string, max_bits = limits.max_string_length, limits.max_integer_bits
        while stack:
            value, d, where = stack.pop()
            if d > limits.max_json_depth:
                self.refuse("max_json_depth", d, f"The JSON nesting depth (node '{node_id}')")
            if type(value) is dict:
                # A callback (planning/walk.py) whose graph is an object: walked as a graph.
                if (
                    "process_graph" in value
                    and d > depth
                    and is_callback(value)
                    and type(value["process_graph"]) is dict
                ):
                    if level + 1 > limits.max_callback_depth:
                        self.refuse(
                            "max_callback_depth",
                            level + 1,
                            f"The nesting depth of callbacks (node '{node_id}')",
                        )
                    callbacks.append((value["process_graph"], level + 1, d + 1))
                    value = {k: v for k, v in value.items() if k != "process_graph"}
                for key, child in value.items():
                    kind = type(child)
                    if kind is dict or kind is list:
                        # Messages name the argument: the key one level below "arguments".
                        stack.append((child, d + 1, key if d <= depth + 1 else where))
                    elif kind is int:
                        if child.bit_length() > max_bits:
                            self.scalar(child, d)
                    elif kind is str:
                        if len(child) > max_string:
                            self.scalar(child, d)
                    elif kind is not bool and kind is not type(None):
                        self.leaf(child, node_id, key if d <= depth + 1 else where)
                    if len(key) > max_string:  # keys are strings (JSON)
                        self.scalar(key, d)
            else:  # a list (the walk starts at a node and pushes only containers)
                if len(value) > limits.max_array_length:
                    self.refuse(
                        "max_array_length", len(value), f"The length of an array (node '{node_id}')"
                    )
                if (len(value) >= 64 or (value and type(value[0]) is list)) and self.numeric(
                    value, d, node_id
                ):
                    continue
                # Scalars in place: long arrays of numbers are the bulk of large graphs.
                for child in value:
                    kind = type(child)
                    if kind is dict or kind is list:
                        stack.append((child, d + 1, where))
                    elif kind is float:
                        if child - child != 0.0:  # inf or NaN, without a call per number
                            self.leaf(child, node_id, where)
                    elif kind is str:
                        if len(child) > max_string:
                            self.scalar(child, d)
                    elif kind is int:
                        if child.bit_length() > max_bits:
                            self.scalar(child, d)
                    elif kind is not bool and kind is not type(None):
                        self.leaf(child, node_id, where)
        return callbacks

    def numeric(self, value: list, d: int, node_id: Any) -> bool:
        """Check an array of numbers (or of arrays of numbers, ...) at C speed: True when it is
        one and within the limits, False when the element-wise walk must look at it."""
        try:
            array = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            return False  # strings, objects, ragged arrays, integers beyond floats
        if d + array.ndim - 1 > self.limits.max_json_depth:
            return False
        if array.ndim > 1 and max(array.shape) > self.limits.max_array_length:
            return False
        if array.size and not np.isfinite(array).all():
            return False  # the walk says where
        # Integers of more bits than allowed (floats of that size are no less suspicious).
        bound = 2.0 ** min(self.limits.max_integer_bits, 1023)
        return not (array.size and np.abs(array).max() >= bound)

    def leaf(self, value: Any, node_id: Any, where: str) -> None:
        if type(value) is float:
            if not math.isfinite(value):
                self.errors.append(
                    ProcessParameterInvalid(
                        f"Node '{node_id}', '{where}': {value} is not a number JSON can hold "
                        "(numbers must be finite; 1e400 is read as infinity)."
                    )
                )
        else:
            self.scalar(value, 0)

    # -- the extent a cube has at a node (for resample_spatial's output size) ------------------

    def extent_at(self, graph: dict, ref: Any) -> tuple[float, float, float, float] | None:
        """WGS84 box of the cube a ``from_node`` reference gives, when literal arguments say."""
        path: list[str] = []
        box = None
        node_id = ref.get("from_node") if isinstance(ref, dict) else None
        while isinstance(node_id, str):
            key = (id(graph), node_id)
            if key in self.extents:
                box = self.extents[key]
                break
            node = graph.get(node_id)
            if not isinstance(node, dict) or node_id in path:
                break
            path.append(node_id)
            pid, args = node.get("process_id"), node.get("arguments")
            if not isinstance(args, dict):
                break
            if pid == "load_collection":
                box = _wgs84_box(args.get("spatial_extent"))
                break
            if pid == "filter_bbox":
                box = _wgs84_box(args.get("extent"))
                break
            if pid not in _KEEPS_EXTENT:
                break
            data = args.get("data")
            node_id = data.get("from_node") if isinstance(data, dict) else None
        for visited in path:
            self.extents[(id(graph), visited)] = box
        return box


# Processes whose output covers the same area as their ``data``.
_KEEPS_EXTENT = frozenset(
    {
        "apply", "apply_dimension", "apply_kernel", "filter_bands", "filter_temporal",
        "reduce_dimension", "ndvi", "mask", "mask_polygon", "rename_labels", "rename_dimension",
        "aggregate_temporal", "aggregate_temporal_period", "drop_dimension", "add_dimension",
        "linear_scale_range", "resample_spatial", "save_result",
    }
)  # fmt: skip


def _wgs84_box(extent: Any) -> tuple[float, float, float, float] | None:
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


def _check_power(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
    base, p = args.get("base"), args.get("p")
    if _is_literal_int(base) and _is_literal_int(p):
        bits = integer_power_bits(base, p)
        if bits > walk.limits.max_integer_bits:
            walk.refuse(
                "max_integer_bits",
                math.ceil(bits),
                f"The size in bits of power({base}, {p}) (node '{node_id}')",
            )


def _check_array_create(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
    repeat, data = args.get("repeat", 1), args.get("data")
    if not _is_literal_int(repeat):
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


def _check_text_concat(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
    data = args.get("data")
    if not isinstance(data, list):
        return
    total = sum(_text_length(v) for v in data)
    total += _text_length(args.get("separator", "")) * max(len(data) - 1, 0)
    if total > walk.limits.max_string_length:
        walk.refuse(
            "max_string_length", total, f"The length of the text_concat result (node '{node_id}')"
        )


def _check_resample_spatial(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
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


def _check_apply_kernel(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
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
    if not _is_literal_int(value) or unit not in _UNIT_YEARS:
        return None
    if abs(value) * _UNIT_YEARS[unit] > MAX_DATE_SHIFT_YEARS:
        return f"{value} {unit}s leave the calendar's years 1 to 9999"
    return None


def _check_date_shift(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
    problem = date_shift_problem(args.get("value"), args.get("unit"))
    if problem:
        walk.errors.append(_invalid(node_id, "date_shift", "value", problem))


def _check_bbox(walk: _Walk, node_id: str, pid: str, name: str, extent: Any) -> None:
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
                _invalid(node_id, pid, name, f"'{key}' must be a finite number, not {_kind(v)}")
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


def _check_load_collection(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
    _check_bbox(walk, node_id, "load_collection", "spatial_extent", args.get("spatial_extent"))
    bands = args.get("bands")
    if bands is not None and not is_reference(bands):
        if not isinstance(bands, list) or not bands:
            walk.errors.append(
                _invalid(
                    node_id,
                    "load_collection",
                    "bands",
                    f"a non-empty list of band names or null is needed, not {_kind(bands)}",
                )
            )
        elif not all(isinstance(b, str) or is_reference(b) for b in bands):
            walk.errors.append(
                _invalid(node_id, "load_collection", "bands", "band names must be strings")
            )


def _check_filter_bbox(walk: _Walk, graph: dict, node_id: str, args: Mapping) -> None:
    _check_bbox(walk, node_id, "filter_bbox", "extent", args.get("extent"))


_PROCESS_CHECKS = {
    "power": _check_power,
    "array_create": _check_array_create,
    "text_concat": _check_text_concat,
    "resample_spatial": _check_resample_spatial,
    "apply_kernel": _check_apply_kernel,
    "date_shift": _check_date_shift,
    "load_collection": _check_load_collection,
    "filter_bbox": _check_filter_bbox,
}


def check_limits(process_graph: Any, limits: GraphLimits | None = None) -> list[OpenEOError]:
    """Problems of ``process_graph`` (with its callbacks) against ``limits`` (by default the
    :func:`active_limits`): the first exceeded limit alone (``ProcessGraphComplexity``), else
    every malformed value found. Empty when all is within bounds."""
    walk = _Walk(limits or active_limits())
    try:
        walk.run(process_graph)
    except _Refused as refused:
        return [refused.error]
    return walk.errors


# -- run-time checks (values computed while the graph runs) -------------------------------------


def check_integer_power(base: Any, p: Any, limits: GraphLimits | None = None) -> None:
    """Refuse ``base ** p`` on exact integers whose result would have too many bits."""
    limits = limits or active_limits()
    if _is_literal_int(base) and _is_literal_int(p):
        bits = integer_power_bits(base, p)
        if bits > limits.max_integer_bits:
            raise exceeded(
                "max_integer_bits",
                math.ceil(bits),
                limits.max_integer_bits,
                f"The size in bits of power({_short(base)}, {_short(p)})",
            )


def check_integer_product(x: Any, y: Any, limits: GraphLimits | None = None) -> None:
    """Refuse ``x * y`` on exact integers whose result would have too many bits."""
    limits = limits or active_limits()
    if _is_literal_int(x) and _is_literal_int(y):
        bits = x.bit_length() + y.bit_length()
        if bits > limits.max_integer_bits:
            raise exceeded(
                "max_integer_bits", bits, limits.max_integer_bits, "The size in bits of a product"
            )


def check_array_length(length: int, what: str, limits: GraphLimits | None = None) -> None:
    """Refuse an array of ``length`` elements that ``what`` would make."""
    limits = limits or active_limits()
    if length > limits.max_array_length:
        raise exceeded("max_array_length", length, limits.max_array_length, f"The length of {what}")


def check_string_length(length: int, what: str, limits: GraphLimits | None = None) -> None:
    """Refuse a string of ``length`` characters that ``what`` would make."""
    limits = limits or active_limits()
    if length > limits.max_string_length:
        raise exceeded(
            "max_string_length", length, limits.max_string_length, f"The length of {what}"
        )


def check_pixels(pixels: float, what: str, limits: GraphLimits | None = None) -> None:
    """Refuse a resampled grid of ``pixels`` (x × y)."""
    limits = limits or active_limits()
    if pixels > limits.max_resample_pixels:
        raise exceeded("max_resample_pixels", float(pixels), limits.max_resample_pixels, what)


def check_kernel(kernel: Any, limits: GraphLimits | None = None) -> None:
    """Refuse an apply_kernel kernel with more rows or columns than allowed."""
    limits = limits or active_limits()
    shape = getattr(kernel, "shape", None)
    if shape is None and isinstance(kernel, list):
        shape = (len(kernel), max((len(r) for r in kernel if isinstance(r, list)), default=0))
    size = max(shape or (0,))
    if size > limits.max_kernel_size:
        raise exceeded(
            "max_kernel_size", int(size), limits.max_kernel_size, "The size of the kernel"
        )


def _short(value: int) -> str:
    text = str(value) if value.bit_length() < 200 else f"<an integer of {value.bit_length()} bits>"
    return text
