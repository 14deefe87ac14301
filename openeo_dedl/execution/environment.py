"""The planning environment of this deployment: what ``planning.prepare`` needs to know.

The specs of the processes that run here (the registry), the catalog's collections and their
planning facts, the configured sites, and what load_stac URLs name (``stac_sources.py``).
"""

from __future__ import annotations

from openeo_dedl.catalog import Catalog
from openeo_dedl.config import Settings
from openeo_dedl.errors import CollectionNotFound, OpenEOError
from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.facts import collection_facts
from openeo_dedl.execution.stac_sources import StacSources
from openeo_dedl.locations import UrlPrefix
from openeo_dedl.planning import CollectionFacts, Environment, SearchBounds


def planning_environment(settings: Settings, catalog: Catalog) -> Environment:
    """The environment of ``settings`` and ``catalog`` (loads the process registry's specs)."""
    # A static catalog does not change while the server runs: its collections' facts are read
    # once. A STAC API's are gathered for each plan, within the graph's extents, from the
    # catalog's searches (cached for catalog_cache_seconds, so that new items are used).
    facts: dict[str, CollectionFacts] = {}

    def collection_error(collection_id: str) -> OpenEOError | None:
        try:
            catalog.record(collection_id)
        except CollectionNotFound as exc:
            return exc
        return None

    def facts_of(collection_id: str) -> CollectionFacts:
        # A STAC API's: its collection's metadata as the catalog has it now (no item search:
        # the items are searched within a graph's extents, by bounded_facts).
        if catalog.record(collection_id).source.kind == "stac_api":
            return collection_facts(catalog, collection_id)
        if collection_id not in facts:
            facts[collection_id] = collection_facts(catalog, collection_id)
        return facts[collection_id]

    stac_sources = StacSources(settings, catalog, facts_of)

    def bounded_facts(collection_id: str, bounds: SearchBounds) -> CollectionFacts:
        # A static catalog's items are all listed: as read once, unless the loads' properties
        # select some of them (then those, as a STAC API's search within them gives).
        static = catalog.record(collection_id).source.kind != "stac_api"
        if static and not bounds.properties:
            return facts_of(collection_id)
        return collection_facts(catalog, collection_id, bounds)

    return Environment(
        specs=process_registry.available_specs(),
        sites=tuple(site.name for site in settings.sites),
        result_site=settings.default_site,
        collection_error=collection_error,
        collection_facts=facts_of,
        bounded_facts=bounded_facts,
        allowed_urls=tuple(UrlPrefix.parse(u) for u in settings.security.allowed_urls),
        stac_allowed=stac_sources.allow,
        stac_source=stac_sources,
        workspaces=frozenset(w.id.lower() for w in settings.export_workspaces),
    )
