"""The backend as the API sees it: one object composing catalog, planning and execution.

The API layer translates HTTP into calls on :class:`Backend` and its answers back into
HTTP; it never reaches past this facade.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from openeo_dedl import __version__
from openeo_dedl.catalog import SITE_FIELD, Catalog
from openeo_dedl.config import Settings
from openeo_dedl.errors import OpenEOError
from openeo_dedl.planning import limits as graph_limits

# Output formats of save_result, as /file_formats reports them (openEO API 1.2 schema).
OUTPUT_FORMATS: dict[str, dict] = {
    "GTiff": {
        "title": "GeoTIFF",
        "description": "Cloud-optimized GeoTIFF; time steps of a synchronous result become bands.",
        "gis_data_types": ["raster"],
        "parameters": {},
    },
    "netCDF": {
        "title": "Network Common Data Form",
        "description": "netCDF4 with one variable per band and CF grid mapping.",
        "gis_data_types": ["raster", "other"],
        "parameters": {},
    },
    "JSON": {
        "title": "JavaScript Object Notation",
        "description": "Scalars and arrays as JSON values; data cubes as {dims, coords, data}.",
        "gis_data_types": ["other"],
        "parameters": {},
    },
}


@dataclass
class SyncResult:
    """The outcome of a synchronous run: the file to send back and what it cost."""

    path: Path
    media_type: str
    # Usage in openEO's `usage` shape plus our per-site figures (bytes moved, seconds per site).
    usage: dict = field(default_factory=dict)
    plan: dict = field(default_factory=dict)


class Backend:
    """Everything the API needs, built from one :class:`Settings`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # The limits of validation and of the processes' run-time checks (process-wide).
        graph_limits.configure(graph_limits.GraphLimits.from_config(settings.limits))
        self.catalog = Catalog(settings)
        self.version = __version__
        # Built lazily: importing openeo-processes-dask and starting clusters is slow.
        self._executor = None

    # -- discovery ---------------------------------------------------------------------------
    def sites(self) -> list[dict]:
        """The sites as openEO federation backends (for capabilities' `federation` object)."""
        return [
            {
                "name": s.name,
                "title": s.title or s.name,
                "description": s.description or f"Site {s.name} ({s.cluster.kind} Dask cluster)",
            }
            for s in self.settings.sites
        ]

    def collection_ids(self) -> list[str]:
        return self.catalog.collection_ids()

    def collection_metadata(self, collection_id: str) -> dict:
        """A full STAC Collection dict, with the sites in ``summaries['federation:backends']``.

        Links are relative to nothing: the API layer adds self/root/parent/items links.
        Raises CollectionNotFound.
        """
        record = self.catalog.record(collection_id)
        doc = copy.deepcopy(
            record.collection.to_dict(include_self_link=False, transform_hrefs=False)
        )
        doc.setdefault("summaries", {})[SITE_FIELD] = self.catalog.collection_sites(collection_id)
        doc["links"] = [link for link in doc.get("links", []) if link.get("rel") == "license"]
        return doc

    def process_specs(self) -> list[dict]:
        """Specs of every process that really runs here (openEO process JSON), sorted by id."""
        return self.executor.process_specs()

    def file_formats(self) -> dict:
        return {"input": {}, "output": copy.deepcopy(OUTPUT_FORMATS)}

    # -- processing --------------------------------------------------------------------------
    # ``user_processes``: the calling user's user-defined processes (id -> process), whose
    # calls in the process are inlined; None or empty when the user has none.
    def validate(
        self, process: dict, user_processes: Mapping[str, dict] | None = None
    ) -> list[OpenEOError]:
        """Errors in a process (``{"process_graph": ...}``); empty when it is valid."""
        return self.executor.validate(process, user_processes=user_processes)

    def explain(self, process: dict, user_processes: Mapping[str, dict] | None = None) -> dict:
        """The plan of a valid process: sites, partitions, transfers, estimated bytes.

        Raises OpenEOError when the process cannot be planned.
        """
        return self.executor.explain(process, user_processes=user_processes)

    def run_sync(
        self,
        process: dict,
        work_dir: Path,
        user: str | None = None,
        user_processes: Mapping[str, dict] | None = None,
        control=None,
    ) -> SyncResult:
        """Run a process synchronously in this process, writing the result file into
        ``work_dir`` (worker processes and ``openeo-dedl run`` do; the API hands runs to
        workers). ``control`` (a RunControl) cancels it.

        Raises OpenEOError subclasses for anything the user did wrong (unknown collection or
        process, missing argument, too large for synchronous processing, ...).
        """
        return self.executor.run_sync(
            process, work_dir, user=user, user_processes=user_processes, control=control
        )

    @property
    def executor(self):
        if self._executor is None:
            from openeo_dedl.execution.executor import Executor

            self._executor = Executor(self.settings, self.catalog)
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
