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
  outside its own items, provided every band read has a missing value: floating point bands, and
  integer bands with a nodata value, which the loader turns into floats with NaN for no-data
  (``execution/nodata.py``). Then the chain of per-pixel nodes that keep NaN NaN (filters,
  ``apply`` of arithmetic, ``ndvi``, ``mask_polygon`` without replacement, reductions over bands
  with a NaN-skipping reducer) is copied per site, and so is a following ``reduce_dimension`` over
  time with a reducer that skips NaN and gives NaN where everything is NaN (``mean``, ``median``,
  ``min``, ``max``, ``first``, ``last``, ``sum``): a part's result is the whole's in its area and
  NaN elsewhere, and the parts do not overlap, so taking the first valid value is exact (``sum``
  is combined as a sum of its parts, which is the same there). Integer bands without a nodata
  value (the loader fills a part's empty area with 0), comparisons (NaN becomes a value),
  ``count``, ``sd`` and resampling (neighbours across the border) stop the chain: the parts
  merge before them.
- The last node of that chain (or L itself) keeps its id and becomes ``dedl_merge_sites(cube1,
  cube2, combine)``; with more than two sites, a chain of merges (``N__merge1`` ...).
  ``combine`` is ``concat`` (along time), ``first`` (first valid value per element, for parts on
  the same grid: spatial splits), the partial reduction's ``min``/``max``/``sum``, or for means
  ``mean_parts`` (add sums and counts, between merges) and ``mean`` (add, then divide, last).

Consumers of L (or of the last copied node) keep referring to the same id, now the merge.
"""

from __future__ import annotations

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
    ITEM_SITE_ARGUMENT,
    MERGE_PROCESS,
    PARTIAL_MEAN_PROCESS,
)
from openeo_dedl.planning.pushdown import (
    area_step,
    decomposable_reducer,
    dimension_kind,
    float_bands,
    single_reducer,
    touches_time,
)
from openeo_dedl.planning.traits import Split, has_split
from openeo_dedl.planning.walk import renamed, replace_references


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


@dataclass
class _Chain:
    """The user's nodes after a split load that run on each part before the parts merge."""

    nodes: list[str]
    combine: str  # how the parts' values (of the last node) combine
    times: dict[str, set]  # site -> the time steps its part still holds
    partial_mean: str | None = None  # the reduction replaced by per-site sums and counts


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
    kind = "temporal" if temporal else "spatial"
    chain = _pushed_down(graph, coll, load, temporal, {s: set(by_site[s]) for s in sites})
    sites = [s for s in sites if chain.times[s]] or sites[:1]

    if len(sites) == 1:
        # Only one site's items are needed after all: read just those, no merge.
        node = dict(nodes[load])
        node["arguments"] = {**node.get("arguments", {}), ITEM_SITE_ARGUMENT: sites[0]}
        nodes[load] = node
        options[load] = (sites[0],)
        return SplitLoad(load, coll.id, kind, ((sites[0], load),), (), "", "")

    last = chain.nodes[-1] if chain.nodes else load
    parts, part_loads = _copy_parts(nodes, ids, load, chain, sites, options)
    for original in [load, *chain.nodes]:
        if original != last:
            del nodes[original]
    _merge_parts(nodes, ids, last, [node for _, node in parts], chain.combine)
    return SplitLoad(
        node=load,
        collection=coll.id,
        kind=kind,
        parts=tuple(part_loads),
        pushed_down=tuple(chain.nodes),
        merge_node=last,
        combine=chain.combine,
    )


def _pushed_down(
    graph: FlatGraph, coll: CollectionFacts, load: str, temporal: bool, times: dict[str, set]
) -> _Chain:
    """The chain of nodes after ``load`` that can run on each part on its own (see module)."""
    chain = _Chain([], COMBINE_CONCAT if temporal else COMBINE_FIRST, times)
    # Parts by area are NaN outside their own items: NaN-preserving work runs per part.
    by_area = not temporal and float_bands(coll, graph.arguments(load))
    current = load
    while temporal or by_area:
        consumers = graph.consumers(current)
        if len(consumers) != 1 or graph.producers(consumers[0]) != [current]:
            break
        nxt = consumers[0]
        pid, args = graph.process_id(nxt), graph.arguments(nxt)
        if pid == "reduce_dimension" and dimension_kind(coll, args.get("dimension")) == "t":
            _reduction_over_time(chain, nxt, args.get("reducer"), temporal)
            break
        if temporal and (not has_split(pid, Split.PER_TIME_STEP) or touches_time(coll, pid, args)):
            break
        if by_area and not area_step(coll, pid, args):
            break
        if pid == "filter_temporal":
            interval = ext.interval_of_extent(args.get("extent"))
            chain.times = {
                s: {t for t in ts if ext.in_interval(t, interval)} for s, ts in chain.times.items()
            }
        chain.nodes.append(nxt)
        current = nxt
    return chain


def _reduction_over_time(chain: _Chain, node: str, reducer, temporal: bool) -> None:
    """Add a reduction over time to ``chain`` when the parts' results combine exactly."""
    if temporal:
        combine = decomposable_reducer(reducer)
        if combine is not None:
            chain.nodes.append(node)
            chain.combine = combine
            if combine == COMBINE_MEAN:
                chain.partial_mean = node
        return
    # Each part holds its own area at every time step it has (NaN elsewhere).
    single = single_reducer(reducer)
    if single is not None and has_split(single, Split.MISSING_PRESERVING):
        chain.nodes.append(node)
    elif single == "sum":  # NaN where a part has nothing: parts add up
        chain.nodes.append(node)
        chain.combine = "sum"


def _copy_parts(
    nodes: dict,
    ids: _Ids,
    load: str,
    chain: _Chain,
    sites: list[str],
    options: dict[str, tuple[str, ...]],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Per site a load of its items and copies of the chain: (site, node whose value the merge
    takes) and (site, per-site load)."""
    last = chain.nodes[-1] if chain.nodes else load
    parts: list[tuple[str, str]] = []
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
        for original in chain.nodes:
            copy_id = ids.fresh(f"{original}__{site}")
            node = {k: v for k, v in nodes[original].items() if k != "result"}
            node["arguments"] = replace_references(node.get("arguments", {}), renamed(rename))
            if original == chain.partial_mean:
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
    return parts, part_loads


def _merge_parts(nodes: dict, ids: _Ids, last: str, parts: list[str], combine: str) -> None:
    """Merge nodes combining ``parts`` in order; the last merge takes the id ``last``."""
    result_flag = bool(nodes[last].get("result"))
    previous = parts[0]
    for i, part in enumerate(parts[1:], start=1):
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
