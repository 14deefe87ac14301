"""What every site cluster is (:class:`SiteCluster`), and the one that a site's settings make."""

from __future__ import annotations

import logging
from typing import Protocol

from distributed import Client

from openeo_dedl.config import LocalClusterConfig, SiteConfig
from openeo_dedl.execution.clusters.gateway import GatewaySiteCluster
from openeo_dedl.execution.clusters.local import LocalSiteCluster

logger = logging.getLogger("openeo_dedl.execution.clusters")


class SiteCluster(Protocol):
    """A site's compute: a `distributed.Client` connected to a cluster at that site."""

    site: str

    def client(self) -> Client: ...

    def resize(self, workers: int | None) -> None:
        """Have ``workers`` Dask workers (None: the configured size) for the run about to use
        the cluster: a running cluster is scaled, one not started yet starts at that size."""
        ...

    def alive(self) -> bool: ...

    def close(self) -> None: ...


def new_site_cluster(site: SiteConfig) -> SiteCluster:
    """A cluster of the kind ``site`` configures (not started yet)."""
    if isinstance(site.cluster, LocalClusterConfig):
        return LocalSiteCluster(site, site.cluster)
    return GatewaySiteCluster(site, site.cluster)


def wait_for_size(client: Client, workers: int, wait_seconds: float) -> int:
    """Wait until the scheduler has exactly ``workers`` workers (or ``wait_seconds`` passed:
    the run goes on with those it has); how many it has."""
    import time

    deadline = time.monotonic() + wait_seconds
    while True:
        have = len(client.scheduler_info(n_workers=-1)["workers"])
        if have == workers or time.monotonic() >= deadline:
            if have != workers:
                logger.warning("asked for %d Dask workers, running on %d", workers, have)
            return have
        time.sleep(0.1)


def close_quietly(cluster: SiteCluster) -> None:
    """Close ``cluster``; a failure is logged, never raised."""
    try:
        cluster.close()
    except Exception:  # closing must go on for the other sites
        logger.exception("closing the cluster of site %s failed", cluster.site)
