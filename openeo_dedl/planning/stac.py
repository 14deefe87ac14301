"""``load_stac`` planned as the load of what its URL names (pure: no I/O).

A ``load_stac`` node whose ``url`` names a collection of a configured catalog (or one of its
items, or a catalog holding one collection), or the results of one of the caller's batch jobs,
becomes a ``load_collection`` node of that source with the same
``spatial_extent``, ``temporal_extent``, ``bands`` and ``properties``: the planner places, sizes
and splits it like any load (the job's results at their site, a catalog's collection where its
items are), and the runner reads it through the one loader (``execution/load.py``). The
:class:`StacSource` of each URL comes from the environment (``execution/stac_sources.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openeo_dedl.errors import OpenEOError, ProcessParameterInvalid
from openeo_dedl.planning.extents import bounding_box, time_interval
from openeo_dedl.planning.facts import CollectionFacts, SearchBounds
from openeo_dedl.planning.pixels import to_wgs84

# Collection ids of job results: a ':' is in no collection id of a catalog (openEO's pattern
# is ``^[\w\-\.~/]+$``), so a user's load_collection can never name one (validation refuses
# every id the catalog does not hold).
JOB_RESULTS_PREFIX = "dedl-job-results:"
# Collection ids of STAC locations outside the configured catalogs (``execution/
# stac_external.py``): the same reasoning keeps them out of a user's load_collection.
EXTERNAL_PREFIX = "dedl-stac:"
# Collection ids of one item of a configured catalog's collection (``execution/
# stac_items.py``): ``dedl-stac-item:<collection id>/<item id>``.
ITEM_PREFIX = "dedl-stac-item:"

LOAD_STAC_ARGUMENTS = ("spatial_extent", "temporal_extent", "bands", "properties")


@dataclass(frozen=True)
class StacSource:
    """What a load_stac URL names: the collection id the load reads (a catalog's, or
    :data:`JOB_RESULTS_PREFIX` + job id, ...), the planner's facts of it, and for job results,
    external locations and one item of a catalog the STAC items (plain dicts, hrefs where the
    files are) and collection document to read."""

    collection_id: str
    facts: CollectionFacts
    items: tuple[dict[str, Any], ...] | None = None
    collection: dict[str, Any] | None = field(default=None, repr=False)
    # For a location outside the configured catalogs: checks an asset href before it is
    # read (raises OpenEOError for one that is not allowed); None otherwise.
    guard: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    @property
    def is_job(self) -> bool:
        return self.collection_id.startswith(JOB_RESULTS_PREFIX)

    @property
    def is_external(self) -> bool:
        return self.collection_id.startswith(EXTERNAL_PREFIX)

    @property
    def is_item(self) -> bool:
        """Whether the source is one item of a configured catalog's collection."""
        return self.collection_id.startswith(ITEM_PREFIX)

    @property
    def own_facts(self) -> bool:
        """Whether the planner's facts come with the source (no collection of the catalog)."""
        return self.is_job or self.is_external or self.is_item


# (url, the node's arguments) -> the source.
StacResolver = Callable[[str, Mapping[str, Any]], StacSource]


def load_extents(arguments: Mapping[str, Any]) -> tuple[tuple | None, tuple | None]:
    """A load's ``spatial_extent`` as a WGS84 box and ``temporal_extent`` as (start, end),
    None where unbounded; OpenEOError when they are not valid extents."""
    box = bounding_box(arguments.get("spatial_extent"))
    interval = time_interval(arguments.get("temporal_extent"))
    return (
        None if box is None else to_wgs84(box),
        None if interval is None else (interval.start, interval.end),
    )


def node_bounds(arguments: Mapping[str, Any]) -> SearchBounds:
    """The WGS84 box and time interval a load_stac node's arguments read at most (a STAC API
    outside the catalogs is searched within them); unbounded where they are not literal."""
    try:
        bbox, interval = load_extents(arguments)
    except OpenEOError:  # validation reports it
        return SearchBounds()
    return SearchBounds(bbox=bbox, interval=interval)


def not_literal(node_id: str) -> OpenEOError:
    return ProcessParameterInvalid(
        f"The value passed for parameter 'url' in process 'load_stac' (node '{node_id}') is "
        "invalid: it must be a URL written in the process (or passed as a parameter of a "
        "user-defined process), not a value computed when it runs."
    )


def load_stac_urls(process_graph: Mapping[str, Any]) -> dict[str, Any]:
    """Node id -> ``url`` argument of every top-level load_stac node."""
    return {
        node_id: (node.get("arguments") or {}).get("url")
        for node_id, node in process_graph.items()
        if isinstance(node, dict) and node.get("process_id") == "load_stac"
    }


def rewrite_load_stac(
    process_graph: Mapping[str, Any], resolve: StacResolver
) -> tuple[dict[str, Any], dict[str, StacSource]]:
    """``process_graph`` with every top-level load_stac node replaced by the load of its
    source, and the sources by collection id. Raises OpenEOError for a URL that is not a
    literal string or that ``resolve`` refuses."""
    urls = load_stac_urls(process_graph)
    if not urls:
        return dict(process_graph), {}
    graph = copy.deepcopy(dict(process_graph))
    sources: dict[str, StacSource] = {}
    for node_id, url in urls.items():
        if not isinstance(url, str):
            raise not_literal(node_id)
        source = resolve(url, graph[node_id].get("arguments") or {})
        sources[source.collection_id] = source
        node = graph[node_id]
        args = node.get("arguments") or {}
        new_args: dict[str, Any] = {"id": source.collection_id}
        new_args.update({k: args[k] for k in LOAD_STAC_ARGUMENTS if k in args})
        graph[node_id] = {**node, "process_id": "load_collection", "arguments": new_args}
    return graph, sources
