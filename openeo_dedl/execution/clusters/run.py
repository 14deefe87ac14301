"""The clusters of one run: the view the runner gets (``client(site)``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from distributed import Client

from openeo_dedl.execution.clusters.base import SiteCluster
from openeo_dedl.execution.control import RunCanceled


class RunClusters:
    """The clusters one run uses: ``client(site)`` for the runner, closed or released after."""

    def __init__(self, get: Callable[[str], SiteCluster]):
        self._get = get
        self.used: dict[str, SiteCluster] = {}
        self._ended = False
        self._lock = threading.Lock()

    def client(self, site: str) -> Client:
        with self._lock:
            # A partition thread the run no longer waits for must not start clusters.
            if self._ended:
                raise RunCanceled("the run has ended")
            cluster = self.used.get(site) or self._get(site)
            self.used[site] = cluster
        return cluster.client()

    def end(self) -> dict[str, SiteCluster]:
        """No more clusters for this run; the ones it used."""
        with self._lock:
            self._ended = True
            return dict(self.used)
