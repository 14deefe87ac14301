"""One Dask cluster per site: a local `distributed` cluster or a Dask Gateway cluster."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from distributed import Client

from openeo_dedl.config import GatewayClusterConfig, LocalClusterConfig, Settings, SiteConfig
from openeo_dedl.errors import SiteUnavailable

logger = logging.getLogger(__name__)


class SiteCluster(Protocol):
    """A site's compute: a `distributed.Client` connected to a cluster at that site."""

    site: str

    def client(self) -> Client: ...

    def close(self) -> None: ...


class LocalSiteCluster:
    """A LocalCluster started on first use (the embedded default)."""

    def __init__(self, site: SiteConfig, config: LocalClusterConfig):
        self.site = site.name
        self._config = config
        self._cluster = None
        self._client: Client | None = None
        self._lock = threading.Lock()

    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                from distributed import LocalCluster

                logger.info("starting local Dask cluster for site %s", self.site)
                # Threads-only clusters talk in-process; a TCP host would break their start.
                network = {"host": "127.0.0.1"} if self._config.processes else {}
                self._cluster = LocalCluster(
                    n_workers=self._config.workers,
                    threads_per_worker=self._config.threads_per_worker,
                    memory_limit=self._config.memory_limit,
                    processes=self._config.processes,
                    dashboard_address=None,
                    **network,
                )
                self._client = Client(self._cluster, set_as_default=False)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None


class GatewaySiteCluster:
    """A cluster from the site's Dask Gateway, created on first use and shut down on close."""

    def __init__(self, site: SiteConfig, config: GatewayClusterConfig):
        self.site = site.name
        self._config = config
        self._cluster = None
        self._client: Client | None = None
        self._lock = threading.Lock()

    def _gateway(self):
        from dask_gateway import Gateway
        from dask_gateway.auth import BasicAuth, JupyterHubAuth

        cfg = self._config
        auth = None
        if cfg.auth == "basic":
            password = cfg.password.get_secret_value() if cfg.password else None
            auth = BasicAuth(username=cfg.username, password=password)
        elif cfg.auth == "jupyterhub":
            token = cfg.api_token.get_secret_value() if cfg.api_token else None
            auth = JupyterHubAuth(api_token=token)
        return Gateway(address=cfg.address, proxy_address=cfg.proxy_address, auth=auth)

    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                cfg = self._config
                try:
                    gateway = self._gateway()
                    options = gateway.cluster_options()
                    for key, value in cfg.cluster_options.items():
                        options[key] = value
                    self._cluster = gateway.new_cluster(options)
                    if cfg.adaptive_max is not None:
                        self._cluster.adapt(minimum=cfg.adaptive_min or 0, maximum=cfg.adaptive_max)
                    else:
                        self._cluster.scale(cfg.workers)
                    self._client = self._cluster.get_client(set_as_default=False)
                except Exception as exc:  # any failure to reach the gateway means the site is down
                    raise SiteUnavailable(
                        f"Site '{self.site}' is unavailable: its Dask Gateway at {cfg.address} "
                        f"could not start a cluster ({type(exc).__name__}: {exc}).",
                        site=self.site,
                    ) from exc
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.shutdown()
            self._client = self._cluster = None


def _new_site_cluster(site: SiteConfig) -> SiteCluster:
    if isinstance(site.cluster, LocalClusterConfig):
        return LocalSiteCluster(site, site.cluster)
    return GatewaySiteCluster(site, site.cluster)


class _RunClusters:
    """The clusters one run uses: ``client(site)`` for the runner, closed or released after."""

    def __init__(self, get: Callable[[str], SiteCluster]):
        self._get = get
        self.used: dict[str, SiteCluster] = {}

    def client(self, site: str) -> Client:
        cluster = self.used.get(site) or self._get(site)
        self.used[site] = cluster
        return cluster.client()


# A shared cluster belongs to one user at one site; runs without a user share the "" owner.
ClusterKey = tuple[str, str]  # (user id, site)


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
        self._shared: dict[ClusterKey, SiteCluster] = {}
        self._last_used: dict[ClusterKey, float] = {}
        self._active: dict[ClusterKey, int] = {}
        self._lock = threading.Lock()
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
                self._shared[key] = _new_site_cluster(site)
            self._active[key] = self._active.get(key, 0) + 1
            self._last_used[key] = time.monotonic()
            if self._idle_timeout is not None and self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._reap_idle, name="cluster-reaper", daemon=True
                )
                self._reaper.start()
            return self._shared[key]

    def _release(self, keys) -> None:
        with self._lock:
            for key in keys:
                self._active[key] -= 1
                self._last_used[key] = time.monotonic()

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
                _close_quietly(cluster)

    @contextlib.contextmanager
    def for_run(self, user: str | None = None) -> Iterator[_RunClusters]:
        """Clusters for one run of ``user``; per-job clusters are shut down however it ends."""
        if self._policy == "per_job":
            run = _RunClusters(lambda name: _new_site_cluster(self._site(name)))
            try:
                yield run
            finally:
                for cluster in run.used.values():
                    _close_quietly(cluster)
        else:
            owner = user or ""
            run = _RunClusters(lambda name: self._shared_cluster((owner, name)))
            try:
                yield run
            finally:
                self._release((owner, name) for name in run.used)

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
            _close_quietly(cluster)


def _close_quietly(cluster: SiteCluster) -> None:
    try:
        cluster.close()
    except Exception:  # closing must go on for the other sites
        logger.exception("closing the cluster of site %s failed", cluster.site)
