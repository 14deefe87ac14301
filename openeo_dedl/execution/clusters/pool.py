"""The clusters of all sites, by policy: the shared pool (one cluster per user and site) and its
reaper of idle clusters, or fresh clusters per run."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterator, Mapping

from openeo_dedl.config import Settings, SiteConfig
from openeo_dedl.errors import SiteUnavailable
from openeo_dedl.execution.clusters.base import SiteCluster, close_quietly, new_site_cluster
from openeo_dedl.execution.clusters.run import RunClusters

logger = logging.getLogger("openeo_dedl.execution.clusters")

# A shared cluster belongs to one user at one site; runs without a user share the "" owner.
ClusterKey = tuple[str, str]  # (user id, site)
_NO_ASK = object()


def _largest(asks) -> int | None:
    """The size a shared cluster has for the runs asking ``asks`` (None: configured)."""
    sizes = [a for a in asks if a is not None]
    return max(sizes) if sizes else None


class SiteClusters:
    """The clusters of all configured sites, by policy.

    ``shared``: one cluster per user and site, started on the user's first run there, reused
    by the user's later runs and shut down after ``idle_timeout`` seconds without a run (and
    when the server stops); users never share workers. ``per_job``: every run gets fresh
    clusters, shut down when it ends, whether it finished or failed.
    """

    def __init__(self, settings: Settings):
        self._sites = {site.name: site for site in settings.sites}
        self._policy = settings.cluster_policy
        self._idle_timeout = settings.cluster_idle_timeout_seconds
        self._wait_seconds = settings.processing.workers_wait_seconds
        self._shared: dict[ClusterKey, SiteCluster] = {}
        self._last_used: dict[ClusterKey, float] = {}
        self._active: dict[ClusterKey, int] = {}
        # The sizes the runs using a shared cluster asked (run token -> workers, None: the
        # configured size): the cluster has the largest, the configured one when none asks.
        self._asks: dict[ClusterKey, dict[int, int | None]] = {}
        self._lock = threading.Lock()
        self._tokens = itertools.count()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    def _site(self, name: str) -> SiteConfig:
        try:
            return self._sites[name]
        except KeyError:
            raise SiteUnavailable(f"Site '{name}' is not configured.") from None

    def _shared_cluster(self, key: ClusterKey) -> SiteCluster:
        site = self._site(key[1])
        with self._lock:
            if key not in self._shared:
                self._shared[key] = new_site_cluster(site)
            self._active[key] = self._active.get(key, 0) + 1
            self._last_used[key] = time.monotonic()
            if self._idle_timeout is not None and self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._reap_idle, name="cluster-reaper", daemon=True
                )
                self._reaper.start()
            return self._shared[key]

    def _resize_shared(
        self, key: ClusterKey, token: int, cluster: SiteCluster, asked: int | None
    ) -> int | None:
        # Under the lock: two runs of one user resizing at once must not leave the smaller.
        with self._lock:
            asks = self._asks.setdefault(key, {})
            asks[token] = asked
            size = _largest(asks.values())
            cluster.resize(size)
            return size

    def _release(self, keys, token: int) -> None:
        with self._lock:
            for key in keys:
                self._active[key] -= 1
                self._last_used[key] = time.monotonic()
                asks = self._asks.get(key)
                if asks is None or asks.pop(token, _NO_ASK) is _NO_ASK:
                    continue
                if not asks:
                    del self._asks[key]
                cluster = self._shared.get(key)
                if cluster is not None:
                    # The next run (or the idle cluster) gets the size still asked, else the
                    # configured one: a size one run asked does not outlive the run.
                    cluster.resize(_largest(asks.values()))

    def _evict(self, key: ClusterKey, cluster: SiteCluster) -> None:
        with self._lock:
            if self._shared.get(key) is not cluster:
                return
            del self._shared[key]
        logger.warning("dropping the lost cluster of site %s (user %r)", key[1], key[0])
        close_quietly(cluster)

    def _reap_idle(self) -> None:
        assert self._idle_timeout is not None
        while not self._stop.wait(min(30.0, self._idle_timeout / 2)):
            now = time.monotonic()
            with self._lock:
                idle = [
                    key
                    for key in self._shared
                    if self._active.get(key, 0) == 0
                    and now - self._last_used.get(key, now) > self._idle_timeout
                ]
                clusters = [self._shared.pop(key) for key in idle]
            for cluster in clusters:
                logger.info("shutting down idle cluster of site %s", cluster.site)
                close_quietly(cluster)

    @contextlib.contextmanager
    def for_run(
        self, user: str | None = None, workers: Mapping[str, int] | None = None
    ) -> Iterator[RunClusters]:
        """Clusters for one run of ``user``, ``workers`` Dask workers at the sites it names
        (a shared cluster has the largest size its running runs asked, the configured one
        when none asks); per-job clusters are shut down however it ends."""
        if self._policy == "per_job":
            run = RunClusters(
                lambda name: new_site_cluster(self._site(name)), workers, self._wait_seconds
            )
            try:
                yield run
            finally:
                for cluster in run.end().values():
                    close_quietly(cluster)
        else:
            owner = user or ""
            token = next(self._tokens)
            run = RunClusters(
                lambda name: self._shared_cluster((owner, name)),
                workers,
                self._wait_seconds,
                resize=lambda name, cluster, asked: self._resize_shared(
                    (owner, name), token, cluster, asked
                ),
            )
            try:
                yield run
            finally:
                used = run.end()
                self._release(((owner, name) for name in used), token)
                # A cluster that lost its scheduler (stopped at the gateway, connection lost)
                # would fail every later run: drop it, the next run starts a new one.
                for name, cluster in used.items():
                    if not cluster.alive():
                        self._evict((owner, name), cluster)

    def active(self) -> list[ClusterKey]:
        """(user, site) of the shared clusters that exist now."""
        with self._lock:
            return sorted(self._shared)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            clusters = list(self._shared.values())
            self._shared.clear()
        for cluster in clusters:
            close_quietly(cluster)
