"""A site's cluster on this machine: a `distributed` LocalCluster, started on first use."""

from __future__ import annotations

import logging
import threading

import dask
from distributed import Client

from openeo_dedl.config import LocalClusterConfig, SiteConfig

logger = logging.getLogger("openeo_dedl.execution.clusters")


def _worker_environ(config: LocalClusterConfig) -> dict:
    """Dask config for starting the worker processes of a local cluster.

    distributed starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (memory goes back to the
    OS early). Setting it also switches off glibc's adaptive mmap threshold, so every chunk
    buffer is a fresh mmap and page-faulted again: reading a stack of rasters took ~1.4x as
    long as in a plain process (docs/performance.md). ``trim_memory=False`` drops it.
    """
    if config.trim_memory:
        return {}
    return {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class LocalSiteCluster:
    """A LocalCluster started on first use (the embedded default)."""

    def __init__(self, site: SiteConfig, config: LocalClusterConfig):
        self.site = site.name
        self._config = config
        self._cluster = None
        self._client: Client | None = None
        self._lock = threading.Lock()
        # The size a run asked for (None: the configured one), for shared clusters' next runs.
        self._asked: int | None = None

    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                from distributed import LocalCluster

                logger.info("starting local Dask cluster for site %s", self.site)
                # Threads-only clusters talk in-process; a TCP host would break their start.
                network = {"host": "127.0.0.1"} if self._config.processes else {}
                with dask.config.set(_worker_environ(self._config)):
                    self._cluster = LocalCluster(
                        n_workers=self._asked or self._config.workers,
                        threads_per_worker=self._config.threads_per_worker,
                        memory_limit=self._config.memory_limit,
                        processes=self._config.processes,
                        dashboard_address=None,
                        # The scheduler's HTTP server (health, metrics) on a free port: on 8787
                        # every cluster after the first warned "Port 8787 is already in use".
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        **network,
                    )
                self._client = Client(self._cluster, set_as_default=False)
            return self._client

    def resize(self, workers: int | None) -> None:
        with self._lock:
            if workers == self._asked:
                return
            self._asked = workers
            if self._cluster is not None:
                self._cluster.scale(workers or self._config.workers)

    def alive(self) -> bool:
        client = self._client
        return client is None or client.status == "running"

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None
