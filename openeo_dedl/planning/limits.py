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
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from openeo_dedl.errors import (
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessParameterInvalid,
)
from openeo_dedl.planning.limit_checks import (
    KEEPS_EXTENT,
    PROCESS_CHECKS,
    integer_power_bits,
    is_literal_int,
    json_kind,
    wgs84_box,
)

# Re-exported: the process implementations check computed values with the same rules.
from openeo_dedl.planning.limit_checks import crs_problem as crs_problem
from openeo_dedl.planning.limit_checks import date_shift_problem as date_shift_problem
from openeo_dedl.planning.limit_checks import is_geographic_crs as is_geographic_crs
from openeo_dedl.planning.limit_checks import longest_string as longest_string
from openeo_dedl.planning.walk import is_callback

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
                            f"{json_kind(node['result'])}."
                        )
                    )
                callbacks = self.values(node_id, node, depth + 1, level)
                graphs.extend(callbacks)
            for node_id, node in graph.items():
                if isinstance(node, dict) and isinstance(node.get("arguments"), dict):
                    check = PROCESS_CHECKS.get(node.get("process_id"))
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
                box = wgs84_box(args.get("spatial_extent"))
                break
            if pid == "filter_bbox":
                box = wgs84_box(args.get("extent"))
                break
            if pid not in KEEPS_EXTENT:
                break
            data = args.get("data")
            node_id = data.get("from_node") if isinstance(data, dict) else None
        for visited in path:
            self.extents[(id(graph), visited)] = box
        return box


# Processes whose output covers the same area as their ``data``.
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
    if is_literal_int(base) and is_literal_int(p):
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
    if is_literal_int(x) and is_literal_int(y):
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
