"""Placement: the site of every node, chosen to move the fewest estimated bytes.

Rules, in order:

1. A load runs at a site holding its data (one of its replicas).
2. A reduction (``reduce_dimension``, ``reduce_spatial``, ``aggregate_*``) directly after a load
   runs at the load's site (*pinned*), so raw data never moves for its sake.
3. Every other node runs where the bytes moved are least, counting each value once per site it
   must reach. This is solved exactly for tree-shaped graphs by dynamic programming over the
   sites (forward: each node's extra cost per site relative to its best site; backward: each
   node's site given where its consumers run), which also picks among replicas; a few passes of
   single-node moves then repair what sharing (one value, several consumers) spoilt.
4. Ties go to the site of the largest input, then to the result site (a last pass applies this
   to the final sites, see :meth:`_Problem.settle_ties`).

The dynamic programme can over-count values shared by several consumers, so the plan is compared
with the "everything at one site" plans (loads at their sites; the chain of work hanging off a
load stays with it up to its smallest value; a pinned reduction stays with its load unless that
moves more bytes than shipping the load itself, e.g. when the raw load moves anyway for another
consumer) and the cheapest is taken. Since the unpinned "everything at site S"
plan is exactly the naive baseline for S, the chosen plan never moves more than the naive one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.options import AUTO, COST, SINGLE_SITE
from openeo_dedl.planning.traits import traits_of

INF = float("inf")


def pinned_load(graph: FlatGraph, node: str, loads: Mapping[str, object]) -> str | None:
    """The load a reduction directly follows (its ``data``), if ``node`` is such a reduction."""
    if not traits_of(graph.process_id(node)).pinned:
        return None
    data = graph.arguments(node).get("data")
    if isinstance(data, dict) and set(data) == {"from_node"} and data["from_node"] in loads:
        return data["from_node"]
    return None


@dataclass(frozen=True)
class Placement:
    sites: dict[str, str]  # node → site
    bytes_moved: float
    naive_bytes: float
    naive_site: str
    strategy: str  # "cost" or "single-site:<site>"


class _Problem:
    """The graph as integer-indexed lists, for fast repeated evaluation."""

    def __init__(
        self,
        graph: FlatGraph,
        order: Sequence[str],
        sizes: Mapping[str, float],
        options: Mapping[str, tuple[str, ...]],
        sites: Sequence[str],
        result_site: str,
    ):
        self.order = list(order)
        self.index = {n: i for i, n in enumerate(self.order)}
        self.sites = list(sites)
        self.site_index = {s: i for i, s in enumerate(self.sites)}
        self.result = self.site_index[result_site]
        self.size = [float(sizes[n]) for n in self.order]
        self.producers = [sorted(self.index[p] for p in graph.producers(n)) for n in self.order]
        self.consumers = [sorted(self.index[c] for c in graph.consumers(n)) for n in self.order]
        self.allowed: list[tuple[int, ...] | None] = [
            tuple(self.site_index[s] for s in options[n]) if n in options else None
            for n in self.order
        ]
        # Reduction index → the load it is pinned to (the load must be its ``data``).
        self.pin: dict[int, int] = {}
        for i, n in enumerate(self.order):
            load = pinned_load(graph, n, options)
            if load is not None:
                self.pin[i] = self.index[load]
        self.pinned_by: dict[int, list[int]] = {}
        for r, load in self.pin.items():
            self.pinned_by.setdefault(load, []).append(r)

    def preferences(self, i: int, site_of: Sequence[int]) -> list[int]:
        """Tie-breaking order for node ``i``: the site of its largest input (when the largest
        inputs agree on one), the result site, then the sites of its other inputs, largest
        first. ``site_of`` gives the inputs' (tentative) sites."""
        producers = sorted(self.producers[i], key=lambda p: -self.size[p])
        if not producers:
            return [self.result]
        top = self.size[producers[0]]
        largest_sites = {site_of[p] for p in producers if self.size[p] == top}
        first = [largest_sites.pop()] if len(largest_sites) == 1 else []
        return [*first, self.result, *(site_of[p] for p in producers)]

    def pick(self, costs: Sequence[float], preferred: Sequence[int]) -> int:
        best = min(costs)
        tied = [s for s, c in enumerate(costs) if c == best]
        if len(tied) > 1:
            for p in preferred:
                if p in tied:
                    return p
        return tied[0]

    def cost(self, site: Sequence[int]) -> float:
        """Bytes moved: each value once per other site where some consumer runs."""
        total = 0.0
        size = self.size
        for i, consumers in enumerate(self.consumers):
            if not consumers:
                continue
            here = site[i]
            if len(consumers) == 1:
                total += size[i] if site[consumers[0]] != here else 0.0
                continue
            targets = {site[c] for c in consumers}
            total += size[i] * (len(targets) - (here in targets))
        return total

    def local_cost(self, site: Sequence[int], nodes) -> float:
        """The part of :meth:`cost` owed by ``nodes``."""
        total = 0.0
        for i in nodes:
            targets = {site[c] for c in self.consumers[i]}
            targets.discard(site[i])
            total += self.size[i] * len(targets)
        return total

    # -- dynamic programme -----------------------------------------------------------------------
    def solve(self) -> list[int]:
        k = len(self.sites)
        n = len(self.order)
        regret: list[list[float]] = [[0.0] * k for _ in range(n)]
        tentative = [self.result] * n
        for i in range(n):
            allowed = self.allowed[i]
            if allowed is not None:
                row = [0.0 if s in allowed else INF for s in range(k)]
                # A replicated load leans to the result site, else to its first replica.
                tentative[i] = self.result if self.result in allowed else allowed[0]
                regret[i] = row
                continue
            row = [0.0] * k
            pin = self.pin.get(i)
            for p in self.producers[i]:
                rp, b = regret[p], self.size[p]
                if p == pin:
                    for s in range(k):
                        row[s] += rp[s]
                else:
                    for s in range(k):
                        row[s] += rp[s] if rp[s] < b else b
            low = min(row)
            row = [c - low for c in row]
            regret[i] = row
            tentative[i] = self.pick(row, self.preferences(i, tentative))

        site = [-1] * n
        pin_site: dict[int, int] = {}
        for i in range(n - 1, -1, -1):
            pinned_consumers = self.pinned_by.get(i)
            if pinned_consumers:
                site[i] = site[pinned_consumers[0]]
                continue
            pin = self.pin.get(i)
            if pin is not None and pin in pin_site:
                site[i] = pin_site[pin]
                continue
            targets = {site[c] for c in self.consumers[i]}
            b = self.size[i]
            costs = [regret[i][s] + b * (len(targets) - (s in targets)) for s in range(k)]
            site[i] = self.pick(costs, self.preferences(i, tentative))
            if pin is not None:
                pin_site[pin] = site[i]
        return self.settle_ties(self.improve(site))

    def _mover(self, site: list[int]):
        """(cost of a node's value, move a group of nodes to a site) over ``site``, in place."""
        k = len(self.sites)
        # counts[i][s]: consumers of i at site s, kept up to date so that a node's cost is O(k).
        counts = [[0] * k for _ in self.order]
        for i, consumers in enumerate(self.consumers):
            row = counts[i]
            for c in consumers:
                row[site[c]] += 1

        def node_cost(a: int) -> float:
            here, row = site[a], counts[a]
            return self.size[a] * sum(1 for s in range(k) if s != here and row[s])

        def move(group: list[int], to: int) -> None:
            for g in group:
                for p in self.producers[g]:
                    counts[p][site[g]] -= 1
                    counts[p][to] += 1
                site[g] = to

        return node_cost, move

    def _movable(self, i: int) -> tuple[list[int], set[int], Sequence[int]] | None:
        """(the nodes moving with ``i``, the nodes whose cost that changes, ``i``'s sites), or
        None when ``i`` cannot move on its own (a pinned reduction, a load with one site)."""
        if i in self.pin:
            return None  # moves with its load
        allowed = self.allowed[i]
        options = range(len(self.sites)) if allowed is None else allowed
        if len(options) < 2:
            return None
        group = [i, *self.pinned_by.get(i, ())]
        affected = set(group)
        for g in group:
            affected.update(self.producers[g])
        return group, affected, options

    def improve(self, site: list[int], passes: int = 3) -> list[int]:
        """Move single nodes (a load with its pinned reductions as one) while that moves fewer
        bytes: repairs choices the programme made blind to values shared by several consumers."""
        node_cost, move = self._mover(site)
        for _ in range(passes):
            changed = False
            for i in range(len(self.order)):
                movable = self._movable(i)
                if movable is None:
                    continue
                group, affected, options = movable
                original = site[i]
                best, best_site = sum(node_cost(a) for a in affected), original
                for s in options:
                    if s == original:
                        continue
                    move(group, s)
                    cost = sum(node_cost(a) for a in affected)
                    if cost < best:
                        best, best_site = cost, s
                move(group, best_site)
                changed |= best_site != original
            if not changed:
                break
        return site

    def settle_ties(self, site: list[int], passes: int = 3) -> list[int]:
        """Apply the tie rule to the final sites: a node moves to a site the rule prefers (its
        largest input's site, then the result site, ...) when that moves no more bytes.

        The backward pass broke ties by *tentative* input sites and :meth:`improve` moves only
        on a strict saving, so a node could stay away from its only input at equal cost."""
        node_cost, move = self._mover(site)
        for _ in range(passes):
            changed = False
            for i in range(len(self.order)):  # producers first: their sites settle first
                movable = self._movable(i)
                if movable is None:
                    continue
                group, affected, options = movable
                preferred = self.preferences(i, site)
                rank = {s: len(preferred) for s in options}
                for r, s in enumerate(preferred):
                    if s in rank:
                        rank[s] = min(rank[s], r)
                original = site[i]
                current = sum(node_cost(a) for a in affected)
                best_site = original
                for s in sorted(options, key=rank.__getitem__):
                    if rank[s] >= rank[best_site]:
                        break
                    move(group, s)
                    if sum(node_cost(a) for a in affected) <= current:
                        best_site = s
                        break
                move(group, best_site)
                changed |= best_site != original
            if not changed:
                break
        return site

    # -- single-site plans ---------------------------------------------------------------------
    def single_site(self, s: int, pin: bool) -> list[int]:
        """Everything at ``s`` but loads; with ``pin``, reductions stay with their loads when
        that moves fewer bytes (the rule yields where it would move more)."""
        site = [s] * len(self.order)
        for i, allowed in enumerate(self.allowed):
            if allowed is not None:
                site[i] = s if s in allowed else allowed[0]
        if not pin:
            return site
        for i, allowed in enumerate(self.allowed):
            if allowed is not None and site[i] != s:
                self._keep_chain_with_load(i, site)
        for load, reductions in self.pinned_by.items():
            if site[load] == s:
                continue
            affected = {load, *reductions}
            for r in reductions:
                affected.update(self.producers[r])
            before = self.local_cost(site, affected)
            previous = {r: site[r] for r in reductions}
            for r in reductions:
                site[r] = site[load]
            if self.local_cost(site, affected) > before:
                for r, old in previous.items():
                    site[r] = old
        return site

    def _keep_chain_with_load(self, load: int, site: list[int]) -> None:
        """Run a prefix of the chain hanging off ``load`` (each node the only consumer of the
        one before, which is its only input) at the load's site when the value then crossing is
        not larger than the load's: e.g. a site's part of a split load, filtered and reduced
        there, rather than shipped raw. The smallest crossing wins; on a tie, the longest prefix
        (so reductions run at the data)."""
        chain: list[int] = []
        node = load
        while len(self.consumers[node]) == 1:
            nxt = self.consumers[node][0]
            if self.producers[nxt] != [node] or self.allowed[nxt] is not None:
                break
            if not self.consumers[nxt]:
                break  # an end node (e.g. the result) stays where the plan puts it
            chain.append(nxt)
            node = nxt
        best, best_size = -1, self.size[load]
        for k, n in enumerate(chain):
            if self.size[n] <= best_size:
                best, best_size = k, self.size[n]
        for n in chain[: best + 1]:
            site[n] = site[load]


def place(
    graph: FlatGraph,
    order: Sequence[str],
    sizes: Mapping[str, float],
    options: Mapping[str, tuple[str, ...]],
    sites: Sequence[str],
    result_site: str,
    strategy: str = AUTO,
) -> Placement:
    """Sites of all nodes of ``graph``; ``options`` gives each load's possible sites.

    ``strategy`` (``planning/options.py``): ``auto``, the cheapest of the cost-based plan and
    every single-site plan; ``cost``, the cost-based plan; ``single-site:<S>``, everything at
    ``S`` but loads of data ``S`` does not hold (``S`` must be one of ``sites``).
    """
    problem = _Problem(graph, order, sizes, options, sites, result_site)
    naive = [(problem.cost(problem.single_site(s, pin=False)), s) for s in range(len(sites))]
    naive_bytes = min(c for c, _ in naive)
    # Among equally cheap naive sites prefer the result site, then the configured order.
    naive_site = min(naive, key=lambda cs: (cs[0], cs[1] != problem.result, cs[1]))[1]

    candidates = []
    if strategy in (AUTO, COST):
        candidates.append((COST, problem.solve()))
    for s in range(len(sites)):
        name = f"{SINGLE_SITE}{sites[s]}"
        if strategy in (AUTO, name):
            candidates.append((name, problem.single_site(s, pin=True)))
    if not candidates:
        raise ValueError(f"placement strategy {strategy!r} names no site of {list(sites)}")
    scored = [(problem.cost(site), i, name, site) for i, (name, site) in enumerate(candidates)]
    cost, _, strategy, site = min(scored, key=lambda x: (x[0], x[1]))
    return Placement(
        sites={n: problem.sites[site[i]] for i, n in enumerate(problem.order)},
        bytes_moved=cost,
        naive_bytes=naive_bytes,
        naive_site=sites[naive_site],
        strategy=strategy,
    )
