"""One path from a process to what runs: inline the user's processes, validate, plan on demand.

Every way in uses it: ``POST /validation``, ``POST /result`` (checked in the API process before
a worker gets it), ``POST /jobs`` and ``PATCH /jobs/{id}``, job estimates, storing a
user-defined process, ``openeo-dedl plan`` and ``run``, and the executor's runs. So a process
is valid or invalid the same way everywhere.

Pure: what this needs to know about the deployment (process specs, collections, sites) comes
in an :class:`Environment` built by the execution layer (``execution/environment.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from openeo_dedl.errors import OpenEOError, ProcessGraphMissing, SiteUnavailable
from openeo_dedl.locations import StacAllowList, UrlPrefix
from openeo_dedl.planning.extents import union
from openeo_dedl.planning.facts import CollectionFacts, SearchBounds, without_sites
from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.inline import inline_calls
from openeo_dedl.planning.options import AUTO, SINGLE_SITE
from openeo_dedl.planning.partition import Plan, plan_process_graph
from openeo_dedl.planning.properties import any_filter, properties_filter, property_conditions
from openeo_dedl.planning.stac import (
    StacSource,
    load_extents,
    load_stac_urls,
    node_bounds,
    rewrite_load_stac,
)
from openeo_dedl.planning.validate import validate_process_graph


@dataclass(frozen=True)
class Environment:
    """What preparing a process needs to know about the deployment."""

    # Process id -> openEO spec of every process that runs here.
    specs: Mapping[str, dict]
    # The configured sites, in order of preference, and where results are delivered.
    sites: tuple[str, ...]
    result_site: str
    # The error for an unknown collection id, None for a known one.
    collection_error: Callable[[str], OpenEOError | None]
    # The planner's facts of a known collection (sites, footprint, time steps, bands).
    collection_facts: Callable[[str], CollectionFacts]
    # The URL prefixes the data-access policy allows (``security.allowed_urls``), so that a
    # literal URL outside them is refused before a run; None: not known (not checked then).
    allowed_urls: tuple[UrlPrefix, ...] | None = None
    # The facts of a collection as far as the graph's loads of it reach (its items and time
    # steps within them: what a STAC API is searched for); None: ``collection_facts`` only.
    bounded_facts: Callable[[str, SearchBounds], CollectionFacts] | None = None
    # Where load_stac may read (checked before a run, literals only); None: not known.
    stac_allowed: StacAllowList | None = None
    # What a load_stac URL names for a user (None: no user) and the node's bounds (where a STAC
    # API is searched): the source to load, or raises OpenEOError (refused, no such job of the
    # user's, ...). None: load_stac is refused.
    stac_source: Callable[[str, str | None, SearchBounds], StacSource] | None = None
    # The ids of the export workspaces (lower case; ``export_workspace``); None: not known.
    workspaces: frozenset[str] | None = None


@dataclass(frozen=True)
class Invalid:
    """A process that cannot run: the errors found, first the one to answer with."""

    errors: tuple[OpenEOError, ...]

    @property
    def first(self) -> OpenEOError:
        return self.errors[0]

    def valid(self) -> Prepared:
        """Never: raises the first error (for callers that answer with one error)."""
        raise self.first


@dataclass(frozen=True, eq=False)
class Prepared:
    """A valid process with every call of a user-defined process inlined; plans on demand."""

    # ``{"process_graph": ..., ...}``: the process as sent, its graph inlined.
    process: dict[str, Any]
    environment: Environment = field(repr=False)
    # Who runs it: load_stac reads the batch job results of this user only.
    user: str | None = None
    _plans: dict[tuple[frozenset[str], str], Plan] = field(default_factory=dict, repr=False)
    # What the load_stac nodes read, by the collection id of their load (set by ``plan``).
    stac_sources: dict[str, StacSource] = field(default_factory=dict, repr=False)

    # A valid process has none (so that callers may ask either kind).
    errors: tuple[OpenEOError, ...] = field(default=(), init=False, repr=False)

    @property
    def process_graph(self) -> dict[str, Any]:
        return self.process["process_graph"]

    def valid(self) -> Prepared:
        """This process (:meth:`Invalid.valid` raises instead)."""
        return self

    def plan(self, unavailable: frozenset[str] = frozenset(), strategy: str = AUTO) -> Plan:
        """Where everything runs (``Plan.graph``: the graph that runs, loads split per site).

        With ``unavailable`` sites, loads go to replicas elsewhere (SiteUnavailable when a
        collection has none) and nothing else runs there. ``strategy`` is the placement
        strategy (``planning/options.py``); a ``single-site:<S>`` with ``S`` unavailable is
        SiteUnavailable. Raises OpenEOError for what only planning finds (e.g. an extent that
        is not a finite number).
        """
        key = (unavailable, strategy)
        if key not in self._plans:
            graph, sources = rewrite_load_stac(self.process_graph, self._stac_source)
            self.stac_sources.update(sources)
            self._plans[key] = _plan(graph, self.environment, unavailable, sources, strategy)
        return self._plans[key]

    def _stac_source(self, url: str, arguments: Mapping[str, Any]) -> StacSource:
        return _stac_source(self.environment, url, self.user, node_bounds(arguments))


class Preparer(Protocol):
    """Something that prepares processes (``Backend`` and ``Executor`` are): what the services
    beside the facade need of it."""

    def prepare(
        self,
        process: Any,
        user_processes: Mapping[str, dict] | None = None,
        user: str | None = None,
    ) -> Prepared | Invalid: ...


def prepare(
    process: Any,
    user_processes: Mapping[str, dict] | None,
    environment: Environment,
    user: str | None = None,
) -> Prepared | Invalid:
    """``process`` (``{"process_graph": ...}``) checked as it will run for ``user``: calls of
    ``user_processes`` (the caller's, id -> process) inlined, then validated against the
    specs, the collections and what its load_stac URLs name. :class:`Invalid` lists what is
    wrong."""
    try:
        inlined = inline_calls(process, user_processes)
        graph = _process_graph_of(inlined)
    except OpenEOError as exc:
        return _refused(exc)
    errors = validate_process_graph(
        graph,
        environment.specs,
        environment.collection_error,
        allowed_urls=environment.allowed_urls,
        stac_allowed=environment.stac_allowed,
        workspaces=environment.workspaces,
    )
    if not errors:
        errors = _stac_errors(graph, environment, user)
    if errors:
        return Invalid(tuple(errors))
    return Prepared(process=inlined, environment=environment, user=user)


def _stac_source(env: Environment, url: str, user: str | None, bounds: SearchBounds) -> StacSource:
    if env.stac_source is None:
        from openeo_dedl.locations import stac_refusal

        raise stac_refusal()
    return env.stac_source(url, user, bounds)


def _stac_errors(graph: dict, env: Environment, user: str | None) -> list[OpenEOError]:
    """What the literal load_stac URLs name that the run would refuse (an unknown job, a job
    of another user, a location in no collection): found before the run, as it finds them."""
    errors: list[OpenEOError] = []
    for node_id, url in load_stac_urls(graph).items():
        if isinstance(url, str):
            try:
                _stac_source(env, url, user, node_bounds(graph[node_id].get("arguments") or {}))
            except OpenEOError as exc:
                errors.append(exc)
    return errors


def _refused(exc: OpenEOError) -> Invalid:
    if exc.status >= 500:
        raise exc  # our own failure, not the process's
    return Invalid((exc,))


def _process_graph_of(process: Any) -> dict:
    if not isinstance(process, dict) or not isinstance(process.get("process_graph"), dict):
        raise ProcessGraphMissing("Invalid process specified. It doesn't contain a process graph.")
    return process["process_graph"]


def _plan(
    process_graph: dict,
    env: Environment,
    unavailable: frozenset[str],
    sources: Mapping[str, StacSource],
    strategy: str,
) -> Plan:
    graph = FlatGraph(process_graph)
    loads: dict[str, list[str]] = {}
    for node_id in graph.nodes:
        cid = graph.arguments(node_id).get("id")
        is_load = graph.process_id(node_id) == "load_collection" and isinstance(cid, str)
        # Unknown collections fail at run time with their own error (validation says so).
        if is_load and env.collection_error(cid) is None:
            loads.setdefault(cid, []).append(node_id)
    # Job results and STAC locations outside the catalogs (load_stac) are no collection of
    # the catalog: their facts come with them.
    facts: dict[str, CollectionFacts] = {
        cid: without_sites(source.facts, unavailable)
        for cid, source in sources.items()
        if source.own_facts
    }
    for cid, nodes in loads.items():
        if env.bounded_facts is not None:
            found = env.bounded_facts(cid, load_bounds(graph, nodes))
        else:
            found = env.collection_facts(cid)
        facts[cid] = without_sites(found, unavailable)
    sites = [site for site in env.sites if site not in unavailable]
    result_site = env.result_site
    if result_site in unavailable and sites:
        result_site = sites[0]
    if strategy.startswith(SINGLE_SITE) and strategy[len(SINGLE_SITE) :] not in sites:
        site = strategy[len(SINGLE_SITE) :]
        raise SiteUnavailable(
            f"Site '{site}' of the placement '{strategy}' is unavailable.", site=site
        )
    plan = plan_process_graph(graph, facts, result_site, sites=sites, strategy=strategy)
    providers = {cid: f.providers for cid, f in facts.items() if f.providers}
    return replace(plan, providers=providers, facts=facts)


def load_bounds(graph: FlatGraph, nodes: list[str]) -> SearchBounds:
    """The WGS84 box and time interval the loads ``nodes`` of one collection read at most."""
    boxes, intervals, filters, properties = [], [], [], []
    for node in nodes:
        args = graph.arguments(node)
        conditions = property_conditions(args.get("properties"))
        filters.append(properties_filter(conditions))
        properties.append(conditions)
        try:
            box, interval = load_extents(args)
        except OpenEOError:  # planning reports it; the facts are then of the whole collection
            return SearchBounds()
        boxes.append(box)
        intervals.append(interval)
    bbox = None if None in boxes else union(boxes)  # type: ignore[arg-type]
    interval = None
    if intervals and None not in intervals:
        starts = [i[0] for i in intervals]  # type: ignore[index]
        ends = [i[1] for i in intervals]  # type: ignore[index]
        interval = (
            None if None in starts else min(starts),  # type: ignore[type-var]
            None if None in ends else max(ends),  # type: ignore[type-var]
        )
    chosen = None if None in properties else tuple(properties)
    return SearchBounds(bbox=bbox, interval=interval, filter=any_filter(filters), properties=chosen)
