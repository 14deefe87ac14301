"""The clusters of one run: the view the runner gets (``client(site)``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from distributed import Client

from openeo_dedl.execution.clusters.base import SiteCluster, wait_for_size
from openeo_dedl.execution.control import RunCanceled


class RunClusters:
    """The clusters one run uses: ``client(site)`` for the runner, closed or released after."""

    def __init__(
        self,
        get: Callable[[str], SiteCluster],
        workers: Mapping[str, int] | None = None,
        wait_seconds: float = 60.0,
        resize: Callable[[str, SiteCluster, int | None], int | None] | None = None,
    ):
        self._get = get
        # How a cluster gets the size this run asks, returning the size it gets (a shared
        # cluster: the largest its owner's running runs ask).
        self._resize = resize or _own_size
        # Site -> Dask workers the run asked for (processing option ``workers``).
        self._asked = dict(workers or {})
        self._wait_seconds = wait_seconds
        # Site -> workers its cluster had when the run started there (asked sites only).
        self.workers: dict[str, int] = {}
        self.used: dict[str, SiteCluster] = {}
        self._ended = False
        self._lock = threading.Lock()

    def client(self, site: str) -> Client:
        with self._lock:
            # A partition thread the run no longer waits for must not start clusters.
            if self._ended:
                raise RunCanceled("the run has ended")
            first = site not in self.used
            cluster = self.used.get(site) or self._get(site)
            self.used[site] = cluster
        if not first:
            return cluster.client()
        asked = self._asked.get(site)
        size = self._resize(site, cluster, asked)
        client = cluster.client()
        if asked is not None:
            have = wait_for_size(client, size or asked, self._wait_seconds)
            with self._lock:
                self.workers[site] = have
        return client

    def end(self) -> dict[str, SiteCluster]:
        """No more clusters for this run; the ones it used."""
        with self._lock:
            self._ended = True
            return dict(self.used)


def _own_size(site: str, cluster: SiteCluster, asked: int | None) -> int | None:
    cluster.resize(asked)
    return asked
