"""One Dask cluster per site: a local `distributed` cluster or a Dask Gateway cluster."""

from __future__ import annotations

import logging
import threading
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
                self._cluster = LocalCluster(
                    n_workers=self._config.workers,
                    threads_per_worker=self._config.threads_per_worker,
                    memory_limit=self._config.memory_limit,
                    processes=self._config.processes,
                    dashboard_address=None,
                    host="127.0.0.1",
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
                        f"could not start a cluster ({type(exc).__name__}: {exc})."
                    ) from exc
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.shutdown()
            self._client = self._cluster = None


class SiteClusters:
    """The clusters of all configured sites, created lazily."""

    def __init__(self, settings: Settings):
        self._clusters: dict[str, SiteCluster] = {}
        for site in settings.sites:
            if isinstance(site.cluster, LocalClusterConfig):
                self._clusters[site.name] = LocalSiteCluster(site, site.cluster)
            else:
                self._clusters[site.name] = GatewaySiteCluster(site, site.cluster)

    def client(self, site: str) -> Client:
        try:
            cluster = self._clusters[site]
        except KeyError:
            raise SiteUnavailable(f"Site '{site}' is not configured.") from None
        return cluster.client()

    def close(self) -> None:
        for cluster in self._clusters.values():
            try:
                cluster.close()
            except Exception:  # closing must go on for the other sites
                logger.exception("closing the cluster of site %s failed", cluster.site)
