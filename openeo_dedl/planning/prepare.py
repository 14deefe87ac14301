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
from dataclasses import dataclass, field
from typing import Any, Protocol

from openeo_dedl.errors import OpenEOError, ProcessGraphMissing, SiteUnavailable
from openeo_dedl.locations import UrlPrefix
from openeo_dedl.planning.facts import CollectionFacts, without_sites
from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.inline import inline_calls
from openeo_dedl.planning.options import AUTO, SINGLE_SITE
from openeo_dedl.planning.partition import Plan, plan_process_graph
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
    _plans: dict[tuple[frozenset[str], str], Plan] = field(default_factory=dict, repr=False)

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
            self._plans[key] = _plan(self.process_graph, self.environment, unavailable, strategy)
        return self._plans[key]


class Preparer(Protocol):
    """Something that prepares processes (``Backend`` and ``Executor`` are): what the services
    beside the facade need of it."""

    def prepare(
        self, process: Any, user_processes: Mapping[str, dict] | None = None
    ) -> Prepared | Invalid: ...


def prepare(
    process: Any, user_processes: Mapping[str, dict] | None, environment: Environment
) -> Prepared | Invalid:
    """``process`` (``{"process_graph": ...}``) checked as it will run: calls of
    ``user_processes`` (the caller's, id -> process) inlined, then validated against the
    specs and the collections. :class:`Invalid` lists what is wrong."""
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
        workspaces=environment.workspaces,
    )
    if errors:
        return Invalid(tuple(errors))
    return Prepared(process=inlined, environment=environment)


def _refused(exc: OpenEOError) -> Invalid:
    if exc.status >= 500:
        raise exc  # our own failure, not the process's
    return Invalid((exc,))


def _process_graph_of(process: Any) -> dict:
    if not isinstance(process, dict) or not isinstance(process.get("process_graph"), dict):
        raise ProcessGraphMissing("Invalid process specified. It doesn't contain a process graph.")
    return process["process_graph"]


def _plan(
    process_graph: dict, env: Environment, unavailable: frozenset[str], strategy: str
) -> Plan:
    graph = FlatGraph(process_graph)
    facts: dict[str, CollectionFacts] = {}
    for node_id in graph.nodes:
        cid = graph.arguments(node_id).get("id")
        is_load = graph.process_id(node_id) == "load_collection" and isinstance(cid, str)
        # Unknown collections fail at run time with their own error (validation says so).
        if is_load and env.collection_error(cid) is None:
            facts[cid] = without_sites(env.collection_facts(cid), unavailable)
    sites = [site for site in env.sites if site not in unavailable]
    result_site = env.result_site
    if result_site in unavailable and sites:
        result_site = sites[0]
    if strategy.startswith(SINGLE_SITE) and strategy[len(SINGLE_SITE) :] not in sites:
        site = strategy[len(SINGLE_SITE) :]
        raise SiteUnavailable(
            f"Site '{site}' of the placement '{strategy}' is unavailable.", site=site
        )
    return plan_process_graph(graph, facts, result_site, sites=sites, strategy=strategy)
