"""The backend as the API and the CLI see it: one object composing catalog, planning and
execution.

The API layer translates HTTP into calls on :class:`Backend` (and the services beside it:
``jobs.JobService``, ``user_processes.UserProcesses``, ``storage.files.UserFiles``) and their
answers back into HTTP; it never reaches past them. Every process is checked by
:meth:`Backend.prepare` (``planning/prepare.py``), the one path that inlines the user's
processes, validates and plans.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openeo_dedl import __version__
from openeo_dedl.catalog import SITE_FIELD, Catalog
from openeo_dedl.config import Settings
from openeo_dedl.errors import ServiceUnavailable
from openeo_dedl.execution.result import SyncResult
from openeo_dedl.execution.site_status import SiteMonitor
from openeo_dedl.execution.versions import PROCESSES_RC1
from openeo_dedl.formats import rfc3339
from openeo_dedl.planning import Environment, Invalid, Prepared, RunOptions, prepare
from openeo_dedl.planning import limits as graph_limits

if TYPE_CHECKING:
    from openeo_dedl.execution.executor import Executor

__all__ = ["OUTPUT_FORMATS", "Backend", "Invalid", "Prepared", "SyncResult"]

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


class Backend:
    """Everything the API needs, built from one :class:`Settings`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._checks = UserSlots(settings.limits.max_checks_per_user)
        # The limits of validation and of the processes' run-time checks (process-wide).
        graph_limits.configure(graph_limits.GraphLimits.from_config(settings.limits))
        self.catalog = Catalog(settings)
        self.version = __version__
        # Built lazily: importing openeo-processes-dask and starting clusters is slow, and the
        # API process never runs a process (it prepares them; workers run them).
        self._environment: Environment | None = None
        self._executor: Executor | None = None
        self._monitor: SiteMonitor | None = None
        self._lock = threading.Lock()

    # -- discovery ---------------------------------------------------------------------------
    def sites(self) -> list[dict]:
        """The sites as openEO federation backends (for capabilities' `federation` object),
        with their status as last checked (``execution/site_status.py``)."""
        states = self.site_monitor.states()
        out = []
        for s in self.settings.sites:
            state = states[s.name]
            description = s.description or f"Site {s.name} ({s.cluster.kind} Dask cluster)"
            if state.reason:
                description += f" Offline: {state.reason}."
            out.append(
                {
                    "name": s.name,
                    "title": s.title or s.name,
                    "description": description,
                    "status": "online" if state.online else "offline",
                    "last_status_check": rfc3339(state.checked),
                    "last_successful_check": rfc3339(state.last_online),
                }
            )
        return out

    def missing_sites(self) -> list[str]:
        """The sites offline now (``federation:missing`` of the lists)."""
        return self.site_monitor.offline()

    @property
    def site_monitor(self) -> SiteMonitor:
        with self._lock:
            if self._monitor is None:
                self._monitor = SiteMonitor(self.settings)
            return self._monitor

    def workspace_providers(self) -> dict[str, dict]:
        """``GET /workspace_providers``: the storage kinds of the export workspaces."""
        from openeo_dedl.execution.exports import provider_of

        providers: dict[str, dict] = {}
        for config in self.settings.export_workspaces:
            kind = provider_of(config)
            providers.setdefault(
                kind,
                {
                    "title": kind,
                    "description": f"fsspec '{kind}' storage configured by the operator; "
                    "users can neither create nor register workspaces.",
                    "parameters": {},
                },
            )
        return providers

    def export_workspaces(self, user_id: str) -> list[dict]:
        """The export workspaces as ``GET /workspaces/{id}`` describes them for ``user_id``."""
        from openeo_dedl.execution.exports import describe_workspace

        return [describe_workspace(c, user_id) for c in self.settings.export_workspaces]

    def export_workspace(self, user_id: str, workspace_id: str) -> dict:
        """One export workspace for ``user_id``; WorkspaceNotFound."""
        from openeo_dedl.execution.exports import describe_workspace, export_workspace_config

        return describe_workspace(export_workspace_config(self.settings, workspace_id), user_id)

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

    def process_specs(self, processes: str = PROCESSES_RC1) -> list[dict]:
        """Specs of every process that really runs here (openEO process JSON), sorted by id, as
        openeo-processes ``processes`` (``execution/versions.py``) defines them."""
        from openeo_dedl.execution.registry import process_specs_list

        return process_specs_list(processes)

    def file_formats(self) -> dict:
        return {"input": {}, "output": copy.deepcopy(OUTPUT_FORMATS)}

    # -- processing --------------------------------------------------------------------------
    def prepare(
        self,
        process: Any,
        user_processes: Mapping[str, dict] | None = None,
        user: str | None = None,
    ) -> Prepared | Invalid:
        """``process`` (``{"process_graph": ...}``) as it would run for ``user``: calls of
        ``user_processes`` (the calling user's, id -> process; None or empty when the user has
        none) inlined, validated against the specs, the catalog and what its load_stac URLs
        name (the batch job results of ``user`` only). A :class:`Prepared` plans on demand;
        an :class:`Invalid` lists the errors. ServiceUnavailable when ``user`` has
        ``limits.max_checks_per_user`` checks running here already."""
        with self._checks.slot(user):
            return prepare(process, user_processes, self.environment, user)

    def run_sync(
        self,
        process: dict,
        work_dir: Path,
        user: str | None = None,
        user_processes: Mapping[str, dict] | None = None,
        control=None,
        options: RunOptions | None = None,
    ) -> SyncResult:
        """Run a process synchronously in this process, writing the result file into
        ``work_dir`` (worker processes and ``openeo-dedl run`` do; the API hands runs to
        workers). ``control`` (a RunControl) cancels it.

        Raises OpenEOError subclasses for anything the user did wrong (unknown collection or
        process, missing argument, too large for synchronous processing, ...).
        """
        return self.executor.run_sync(
            process,
            work_dir,
            user=user,
            user_processes=user_processes,
            control=control,
            options=options,
        )

    def processing_parameters(self, user_id: str | None = None) -> dict:
        """``GET /processing_parameters`` (the ``workers`` bound of ``user_id``)."""
        from openeo_dedl.execution.options import processing_parameters

        return processing_parameters(self.settings, user_id)

    def run_options(
        self, body: Mapping[str, Any], kind: str, user_id: str, strict: bool = True
    ) -> RunOptions:
        """The checked processing options of a request body (``kind``: ``sync`` or ``job``);
        ProcessingParameterInvalid for a bad value, and (``strict``) an unknown property."""
        from openeo_dedl.execution.options import run_options

        return run_options(body, kind, self.settings, user_id, strict)

    @property
    def environment(self) -> Environment:
        """What preparing needs (process specs, collections, sites); loaded on first use."""
        with self._lock:
            if self._environment is None:
                from openeo_dedl.execution.environment import planning_environment

                self._environment = planning_environment(self.settings, self.catalog)
            return self._environment

    @property
    def executor(self) -> Executor:
        """The engine that runs processes (for worker processes, which run them)."""
        environment = self.environment
        with self._lock:
            if self._executor is None:
                from openeo_dedl.execution.executor import Executor

                self._executor = Executor(self.settings, self.catalog, environment)
            return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()


class UserSlots:
    """At most ``limit`` calls of one user at once (None: no limit); one more is refused at
    once rather than waiting, since a waiting call would hold a thread of the API."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def slot(self, user: str | None) -> Iterator[None]:
        """A slot of ``user`` (None: no user, no limit) for the ``with`` block."""
        if user is None or self.limit is None:
            yield
            return
        with self._lock:
            running = self._running.get(user, 0)
            if running >= self.limit:
                raise ServiceUnavailable(
                    f"You have {running} requests being checked here at once (the limit of "
                    "limits.max_checks_per_user): send the next one when one of them is done."
                )
            self._running[user] = running + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[user] -= 1
                if not self._running[user]:
                    del self._running[user]
