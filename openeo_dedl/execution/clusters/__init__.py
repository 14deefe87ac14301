"""One Dask cluster per site: a local `distributed` cluster or a Dask Gateway cluster.

* :mod:`.base`: :class:`SiteCluster` (what every kind is) and ``new_site_cluster``;
* :mod:`.local`: :class:`LocalSiteCluster`; :mod:`.gateway`: :class:`GatewaySiteCluster`, with
  what it does to dask-gateway's private attributes in :mod:`.gateway_internals`;
* :mod:`.pool`: :class:`SiteClusters`, the clusters of all sites by policy (the shared pool and
  its reaper); :mod:`.run`: :class:`RunClusters`, the clusters of one run.
"""

from openeo_dedl.execution.clusters.base import SiteCluster, close_quietly, new_site_cluster
from openeo_dedl.execution.clusters.gateway import GatewaySiteCluster
from openeo_dedl.execution.clusters.gateway_internals import forget_gateway_loop
from openeo_dedl.execution.clusters.local import LocalSiteCluster
from openeo_dedl.execution.clusters.pool import ClusterKey, SiteClusters
from openeo_dedl.execution.clusters.run import RunClusters

__all__ = [
    "ClusterKey",
    "GatewaySiteCluster",
    "LocalSiteCluster",
    "RunClusters",
    "SiteCluster",
    "SiteClusters",
    "close_quietly",
    "forget_gateway_loop",
    "new_site_cluster",
]
