"""Site labels of loads: replicas, and item-level splits rewritten into per-site loads.

A ``load_collection`` may run at every site that holds all the items it reads (replicas; the
placement picks one). When no site holds them all, the load is split: one load per site, each
reading only the items whose *first* site (``federation:backends``) is that site, combined by a
merge node. The graph is rewritten as follows (``L`` the user's load, ``s`` a site):

- ``L__s``: ``load_collection`` with L's arguments plus ``dedl_item_site: s``. The runner reads only
  the items first held at ``s``, on the grid the whole load would have (same extent, resolution
  and CRS), so the parts line up.
- When the sites hold disjoint time steps (a *temporal* split), the chain of per-time-step nodes
  that follows L (filters, ``apply``, reductions over bands, ``resample_spatial``, ...) is copied
  per site (``N__s``), so this work runs at each site before anything moves; a following
  ``reduce_dimension`` over time with ``min``, ``max`` or ``sum`` is copied too (a partial
  reduction, combined at the merge by the same process), and one with ``mean`` becomes a
  per-site ``dedl_partial_mean`` (NaN-skipping sum and count of non-NaN values), combined as the
  sum of the sums over the sum of the counts: exactly ``mean``'s result. Other reducers (median,
  ...) are not decomposable: the parts merge before them.
- When the parts are by area (a *spatial* split), each part lies on the whole grid and is NaN
  outside its own items, provided the bands read are floating point with NaN (or no) nodata.
  Then the chain of per-pixel nodes that keep NaN NaN (filters, ``apply`` of arithmetic,
  ``ndvi``, ``mask_polygon`` without replacement, reductions over bands with a NaN-skipping
  reducer) is copied per site, and so is a following ``reduce_dimension`` over time with a
  reducer that skips NaN and gives NaN where everything is NaN (``mean``, ``median``, ``min``,
  ``max``, ``first``, ``last``): a part's result is the whole's in its area and NaN elsewhere,
  and the parts do not overlap, so taking the first valid value is exact. ``sum`` gives 0 where
  a part has nothing, so the parts' sums are added. Integer bands (nodata values, which
  arithmetic changes), comparisons (NaN becomes a value), ``count``, ``sd`` and resampling
  (neighbours across the border) stop the chain: the parts merge before them.
- The last node of that chain (or L itself) keeps its id and becomes ``dedl_merge_sites(cube1,
  cube2, combine)``; with more than two sites, a chain of merges (``N__merge1`` ...).
  ``combine`` is ``concat`` (along time), ``first`` (first valid value per element, for parts on
  the same grid: spatial splits), the partial reduction's ``min``/``max``/``sum``, or for means
  ``mean_parts`` (add sums and counts, between merges) and ``mean`` (add, then divide, last).

Consumers of L (or of the last copied node) keep referring to the same id, now the merge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from openeo_dedl.planning import extents as ext
from openeo_dedl.planning.estimate import Estimator
from openeo_dedl.planning.facts import CollectionFacts
from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.internal import (
    COMBINE_CONCAT,
    COMBINE_FIRST,
    COMBINE_MEAN,
    COMBINE_MEAN_PARTS,
    COMBINE_REDUCERS,
    ITEM_SITE_ARGUMENT,
    MERGE_PROCESS,
    PARTIAL_MEAN_PROCESS,
)
from openeo_dedl.planning.traits import Split, has_split
from openeo_dedl.planning.walk import callback_graph, renamed, replace_references


@dataclass(frozen=True)
class SplitLoad:
    """A load whose items live at several sites, as rewritten into per-site parts."""

    node: str  # the user's load_collection node
    collection: str
    kind: str  # "temporal" (disjoint time steps per site) or "spatial"
    parts: tuple[tuple[str, str], ...]  # (site, per-site load node)
    pushed_down: tuple[str, ...]  # user nodes copied per site before the merge
    merge_node: str  # the node holding the combined value ("" when one site was left)
    combine: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["parts"] = [{"site": s, "node": n} for s, n in self.parts]
        d["pushed_down"] = list(self.pushed_down)
        return d


@dataclass(frozen=True)
class LoadLabels:
    graph: FlatGraph  # the graph after splits (the input graph when nothing was split)
    options: Mapping[str, tuple[str, ...]]  # load node → sites it may run at (first preferred)
    splits: tuple[SplitLoad, ...]


def _ordered_sites(sites, facts: CollectionFacts) -> list[str]:
    rank = {s: i for i, s in enumerate(facts.sites)}
    return sorted(set(sites), key=lambda s: (rank.get(s, len(rank)), s))


def _single_reducer(reducer) -> str | None:
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


def _decomposable_reducer(reducer) -> str | None:
    """The process of a reducer over time whose per-site results can be combined exactly into
    the whole's result, for parts with disjoint time steps: ``min``, ``max``, ``sum`` (combined
    by the same process) and ``mean`` (per-site sum and count, see PARTIAL_MEAN_PROCESS)."""
    pid = _single_reducer(reducer)
    return pid if pid in (*COMBINE_REDUCERS, COMBINE_MEAN) else None


def _float_bands(coll: CollectionFacts, args: Mapping) -> bool:
    """Whether every band the load reads is floating point with NaN (or no) nodata: then a part
    of an area split is NaN wherever the part has no items."""
    names = args.get("bands")
    if not isinstance(names, list | tuple):
        names = [b.name for b in coll.bands]
    if not names:
        return False
    for name in names:
        band = coll.band(name) if isinstance(name, str) else None
        if band is None or not str(band.dtype).startswith("float"):
            return False
        if band.nodata is not None and not (
            isinstance(band.nodata, float) and math.isnan(band.nodata)
        ):
            return False
    return True


def _nan_preserving_callback(process) -> bool:
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


def _area_step(coll: CollectionFacts, process_id: str, args: Mapping) -> bool:
    """Whether a node can run on each part of an area split on its own: per pixel, not along
    time, and missing (NaN) stays missing, so the part is still NaN outside its own area."""
    if _touches_time(coll, process_id, args):
        return False
    if has_split(process_id, Split.PER_PIXEL):
        return True
    if process_id == "mask_polygon":
        return args.get("replacement") is None
    if process_id == "apply":
        return _nan_preserving_callback(args.get("process"))
    if process_id == "reduce_dimension" and _kind(coll, args.get("dimension")) == "bands":
        reducer = _single_reducer(args.get("reducer"))
        return reducer is not None and has_split(reducer, Split.MISSING_PRESERVING)
    return False


def _kind(facts: CollectionFacts, dimension) -> str | None:
    for kind, name in facts.dimensions.items():
        if name == dimension:
            return kind
    return None


def _touches_time(facts: CollectionFacts, process_id: str, args: Mapping) -> bool:
    along = process_id in ("reduce_dimension", "apply_dimension", "rename_labels")
    if along and _kind(facts, args.get("dimension")) == "t":
        return True
    return process_id == "apply_dimension" and _kind(facts, args.get("target_dimension")) == "t"


class _Ids:
    def __init__(self, taken):
        self.taken = set(taken)

    def fresh(self, base: str) -> str:
        candidate, i = base, 1
        while candidate in self.taken:
            i += 1
            candidate = f"{base}_{i}"
        self.taken.add(candidate)
        return candidate


def label_loads(
    graph: FlatGraph,
    facts: Mapping[str, CollectionFacts],
    estimator: Estimator,
    fallback_site: str,
) -> LoadLabels:
    """Sites every load may run at; loads whose items are spread over sites are split."""
    options: dict[str, tuple[str, ...]] = {}
    nodes = dict(graph.nodes)
    ids = _Ids(nodes)
    splits: list[SplitLoad] = []
    for node_id in graph.nodes:
        if graph.process_id(node_id) != "load_collection":
            continue
        args = graph.arguments(node_id)
        cid = args.get("id")
        coll = facts.get(cid) if isinstance(cid, str) else None
        if coll is None:
            options[node_id] = (fallback_site,)
            continue
        whole = tuple(coll.sites) or (fallback_site,)
        chosen = estimator.matching_items(coll, args) if coll.items else []
        if not chosen:
            options[node_id] = whole
            continue
        items = [coll.items[i] for i in chosen]  # type: ignore[index]
        common = set(items[0].sites).intersection(*(it.sites for it in items[1:]))
        if common:
            options[node_id] = tuple(_ordered_sites(common, coll))
            continue
        split = _split(graph, nodes, ids, node_id, coll, estimator, chosen, options)
        if split is not None:
            splits.append(split)
    if not splits:
        return LoadLabels(graph, options, ())
    return LoadLabels(FlatGraph(nodes), options, tuple(splits))


def _split(
    graph: FlatGraph,
    nodes: dict,
    ids: _Ids,
    load: str,
    coll: CollectionFacts,
    estimator: Estimator,
    chosen: list[int],
    options: dict[str, tuple[str, ...]],
) -> SplitLoad | None:
    items = coll.items or ()
    item_times = estimator.item_times(coll)
    by_site: dict[str, set] = {}
    for i in chosen:
        by_site.setdefault(items[i].site, set()).add(item_times[i])
    sites = _ordered_sites(by_site, coll)
    all_times = [t for ts in by_site.values() for t in ts]
    temporal = None not in all_times and len(all_times) == len(set(all_times))

    chain: list[str] = []
    combine = COMBINE_CONCAT if temporal else COMBINE_FIRST
    times = {s: set(by_site[s]) for s in sites}
    # Parts by area are NaN outside their own items: NaN-preserving work runs per part.
    by_area = not temporal and _float_bands(coll, graph.arguments(load))
    partial_mean: str | None = None  # the reduction replaced by per-site sums and counts
    current = load
    while temporal or by_area:
        consumers = graph.consumers(current)
        if len(consumers) != 1 or graph.producers(consumers[0]) != [current]:
            break
        nxt = consumers[0]
        pid, args = graph.process_id(nxt), graph.arguments(nxt)
        if pid == "reduce_dimension" and _kind(coll, args.get("dimension")) == "t":
            if temporal:
                reducer = _decomposable_reducer(args.get("reducer"))
                if reducer is not None:
                    chain.append(nxt)
                    combine = reducer
                    if reducer == COMBINE_MEAN:
                        partial_mean = nxt
            else:
                # Each part holds its own area at every time step it has (NaN elsewhere).
                reducer = _single_reducer(args.get("reducer"))
                if reducer is not None and has_split(reducer, Split.MISSING_PRESERVING):
                    chain.append(nxt)
                elif reducer == "sum":  # 0 where a part has nothing: parts add up
                    chain.append(nxt)
                    combine = "sum"
            break
        if temporal and (not has_split(pid, Split.PER_TIME_STEP) or _touches_time(coll, pid, args)):
            break
        if by_area and not _area_step(coll, pid, args):
            break
        if pid == "filter_temporal":
            interval = ext.interval_of_extent(args.get("extent"))
            times = {s: {t for t in ts if ext.in_interval(t, interval)} for s, ts in times.items()}
        chain.append(nxt)
        current = nxt
    sites = [s for s in sites if times[s]] or sites[:1]

    if len(sites) == 1:
        # Only one site's items are needed after all: read just those, no merge.
        node = dict(nodes[load])
        node["arguments"] = {**node.get("arguments", {}), ITEM_SITE_ARGUMENT: sites[0]}
        nodes[load] = node
        options[load] = (sites[0],)
        kind = "temporal" if temporal else "spatial"
        return SplitLoad(load, coll.id, kind, ((sites[0], load),), (), "", "")

    last = chain[-1] if chain else load
    parts: list[tuple[str, str]] = []  # (site, the node whose value the merge takes)
    part_loads: list[tuple[str, str]] = []
    for site in sites:
        rename: dict[str, str] = {}
        part_load = ids.fresh(f"{load}__{site}")
        node = {k: v for k, v in nodes[load].items() if k != "result"}
        node["arguments"] = {**node.get("arguments", {}), ITEM_SITE_ARGUMENT: site}
        nodes[part_load] = node
        options[part_load] = (site,)
        part_loads.append((site, part_load))
        rename[load] = part_load
        for original in chain:
            copy_id = ids.fresh(f"{original}__{site}")
            node = {k: v for k, v in nodes[original].items() if k != "result"}
            node["arguments"] = replace_references(node.get("arguments", {}), renamed(rename))
            if original == partial_mean:
                node = {
                    "process_id": PARTIAL_MEAN_PROCESS,
                    "arguments": {
                        "data": node["arguments"]["data"],
                        "dimension": node["arguments"]["dimension"],
                    },
                }
            nodes[copy_id] = node
            rename[original] = copy_id
        parts.append((site, rename[last]))
    for original in [load, *chain]:
        if original != last:
            del nodes[original]
    result_flag = bool(nodes[last].get("result"))
    previous = parts[0][1]
    for i, (_, part) in enumerate(parts[1:], start=1):
        final = i == len(parts) - 1
        merge_id = last if final else ids.fresh(f"{last}__merge{i}")
        how = COMBINE_MEAN_PARTS if combine == COMBINE_MEAN and not final else combine
        nodes[merge_id] = {
            "process_id": MERGE_PROCESS,
            "arguments": {
                "cube1": {"from_node": previous},
                "cube2": {"from_node": part},
                "combine": how,
            },
        }
        previous = merge_id
    if result_flag:
        nodes[last]["result"] = True
    return SplitLoad(
        node=load,
        collection=coll.id,
        kind="temporal" if temporal else "spatial",
        parts=tuple(part_loads),
        pushed_down=tuple(chain),
        merge_node=last,
        combine=combine,
    )
