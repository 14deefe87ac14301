"""Which nodes after a split load run on each part on its own (see planning/split.py).

Parts with disjoint time steps (a temporal split) take the per-time-step work that does not
touch time; parts by area (NaN outside their own items) take per-pixel work that keeps NaN NaN;
a reduction over time follows when the parts' results combine exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

from openeo_dedl.planning.facts import CollectionFacts
from openeo_dedl.planning.internal import COMBINE_MEAN, COMBINE_REDUCERS
from openeo_dedl.planning.traits import Split, has_split
from openeo_dedl.planning.walk import callback_graph


def single_reducer(reducer) -> str | None:
    """The process of a one-node reducer over ``data`` skipping missing values (no other
    arguments; ``ignore_nodata`` absent or true), else None."""
    graph = callback_graph(reducer)
    if graph is None:
        return None
    nodes = list(graph.values())
    if len(nodes) != 1 or not isinstance(nodes[0], dict):
        return None
    node = nodes[0]
    args = node.get("arguments") or {}
    if args.get("data") != {"from_parameter": "data"}:
        return None
    if set(args) - {"data", "ignore_nodata"} or args.get("ignore_nodata", True) is not True:
        return None
    pid = node.get("process_id")
    return pid if isinstance(pid, str) else None


def decomposable_reducer(reducer) -> str | None:
    """The process of a reducer over time whose per-site results can be combined exactly into
    the whole's result, for parts with disjoint time steps: ``min``, ``max``, ``sum`` (combined
    by the same process) and ``mean`` (per-site sum and count, see PARTIAL_MEAN_PROCESS)."""
    pid = single_reducer(reducer)
    return pid if pid in (*COMBINE_REDUCERS, COMBINE_MEAN) else None


def float_bands(coll: CollectionFacts, args: Mapping) -> bool:
    """Whether every band the load reads is missing (NaN) where it has no data: floating point
    bands, and integer bands with a nodata value (the loader makes them floats with NaN, see
    ``execution/nodata.py``). Then a part of an area split is NaN wherever the part has no
    items."""
    names = args.get("bands")
    if not isinstance(names, list | tuple):
        names = [b.name for b in coll.bands]
    if not names:
        return False
    for name in names:
        band = coll.band(name) if isinstance(name, str) else None
        if band is None:
            return False
        if band.nodata is None and not str(band.dtype).startswith("float"):
            return False
    return True


def nan_preserving_callback(process) -> bool:
    """Whether a callback of ``apply`` is element-wise arithmetic that maps NaN to NaN."""
    graph = callback_graph(process)
    if graph is None:
        return False

    def plain(value) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return True
        if isinstance(value, dict):
            return value == {"from_parameter": "x"} or (
                set(value) == {"from_node"} and value["from_node"] in graph
            )
        return False

    return bool(graph) and all(
        isinstance(node, dict)
        and has_split(node.get("process_id"), Split.NAN_PRESERVING)
        and all(plain(v) for v in (node.get("arguments") or {}).values())
        for node in graph.values()
    )


def area_step(coll: CollectionFacts, process_id: str, args: Mapping) -> bool:
    """Whether a node can run on each part of an area split on its own: per pixel, not along
    time, and missing (NaN) stays missing, so the part is still NaN outside its own area."""
    if touches_time(coll, process_id, args):
        return False
    if has_split(process_id, Split.PER_PIXEL):
        return True
    if process_id == "mask_polygon":
        return args.get("replacement") is None
    if process_id == "apply":
        return nan_preserving_callback(args.get("process"))
    if process_id == "reduce_dimension" and dimension_kind(coll, args.get("dimension")) == "bands":
        reducer = single_reducer(args.get("reducer"))
        return reducer is not None and has_split(reducer, Split.MISSING_PRESERVING)
    return False


def dimension_kind(facts: CollectionFacts, dimension) -> str | None:
    """The kind ("x", "y", "t", "bands") of a dimension name of the collection."""
    for kind, name in facts.dimensions.items():
        if name == dimension:
            return kind
    return None


def touches_time(facts: CollectionFacts, process_id: str, args: Mapping) -> bool:
    """Whether the node works along (or creates) the time dimension."""
    along = process_id in ("reduce_dimension", "apply_dimension", "rename_labels")
    if along and dimension_kind(facts, args.get("dimension")) == "t":
        return True
    return (
        process_id == "apply_dimension"
        and dimension_kind(facts, args.get("target_dimension")) == "t"
    )
