"""What we do to dask-gateway's objects beyond its public API (private attributes), and cleaning
up after them: kept here so that a new dask-gateway version has one place to check."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger("openeo_dedl.execution.clusters")


def bound_http_connect(gateway, seconds: float) -> None:
    """Bound the connect of the gateway's HTTP requests (aiohttp's default: 5 min for all).

    The overall deadline of a start is kept by :meth:`GatewaySiteCluster._start`; this only lets
    an abandoned start end sooner. Answers may still take up to aiohttp's 5 min (the gateway
    holds ``?wait`` requests while a cluster starts)."""
    try:
        import aiohttp

        kwargs = gateway._request_kwargs  # dask-gateway passes these to every request
        if isinstance(kwargs, dict):
            kwargs.setdefault(
                "timeout", aiohttp.ClientTimeout(total=300, connect=seconds, sock_connect=seconds)
            )
    except Exception:  # another dask-gateway version: the overall deadline still holds
        logger.debug("could not set the gateway's HTTP timeouts", exc_info=True)


def quietly(func: Callable, *args) -> None:
    """``func(*args)``; a failure is logged at debug level (cleaning up goes on)."""
    try:
        func(*args)
    except Exception:
        logger.debug("cleaning up a gateway cluster: %s failed", func, exc_info=True)


def shutdown_quietly(gateway, cluster, client, name: str | None = None) -> None:
    """Close the client, shut the cluster down at the gateway, close the gateway client."""
    if client is not None:
        quietly(client.close)
    if cluster is not None:
        quietly(cluster.shutdown)  # also closes the cluster's own gateway client
        forget_gateway_loop(getattr(cluster, "gateway", None))
    elif gateway is not None and name is not None:
        quietly(gateway.stop_cluster, name)
    if gateway is not None:
        quietly(gateway.close)
        forget_gateway_loop(gateway)


def forget_gateway_loop(gateway) -> None:
    """Keep a closed Gateway's ``__del__`` from closing it again: with this `distributed` its
    second close fails on the stopped loop ("Exception ignored in Gateway.__del__")."""
    if gateway is not None and hasattr(gateway, "_loop_runner"):
        del gateway._loop_runner
