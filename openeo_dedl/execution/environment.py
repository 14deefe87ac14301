"""The planning environment of this deployment: what ``planning.prepare`` needs to know.

The specs of the processes that run here (the registry), the catalog's collections and their
planning facts, and the configured sites.
"""

from __future__ import annotations

from openeo_dedl.catalog import Catalog
from openeo_dedl.config import Settings
from openeo_dedl.errors import CollectionNotFound, OpenEOError
from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.facts import collection_facts
from openeo_dedl.locations import UrlPrefix
from openeo_dedl.planning import CollectionFacts, Environment


def planning_environment(settings: Settings, catalog: Catalog) -> Environment:
    """The environment of ``settings`` and ``catalog`` (loads the process registry's specs)."""
    # The catalog does not change while the server runs: each collection's facts are read once.
    facts: dict[str, CollectionFacts] = {}

    def collection_error(collection_id: str) -> OpenEOError | None:
        try:
            catalog.record(collection_id)
        except CollectionNotFound as exc:
            return exc
        return None

    def facts_of(collection_id: str) -> CollectionFacts:
        if collection_id not in facts:
            facts[collection_id] = collection_facts(catalog, collection_id)
        return facts[collection_id]

    return Environment(
        specs=process_registry.available_specs(),
        sites=tuple(site.name for site in settings.sites),
        result_site=settings.default_site,
        collection_error=collection_error,
        collection_facts=facts_of,
        allowed_urls=tuple(UrlPrefix.parse(u) for u in settings.security.allowed_urls),
        workspaces=frozenset(w.id.lower() for w in settings.export_workspaces),
    )
