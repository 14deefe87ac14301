"""A site's cluster from its Dask Gateway: started within the site's connect timeout, replaced
when the gateway stopped it, its failures told apart (site down or misconfigured)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from distributed import Client

from openeo_dedl.config import GatewayClusterConfig, SiteConfig
from openeo_dedl.errors import SiteMisconfigured, SiteUnavailable
from openeo_dedl.execution.clusters.gateway_internals import (
    bound_http_connect,
    quietly,
    shutdown_quietly,
)

logger = logging.getLogger("openeo_dedl.execution.clusters")


class _Start:
    """One attempt to start a gateway cluster, made in a helper thread so that it can be
    abandoned after the site's ``connect_timeout_seconds``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.abandoned = False
        self.gateway = None
        self.name: str | None = None
        self.cluster = None
        self.client: Client | None = None
        self.error: BaseException | None = None


class _BadClusterOptions(Exception):
    """The configured cluster_options do not fit the options the gateway offers."""


class _BadAuth(Exception):
    """The configured auth cannot be used (e.g. no token at all)."""


class GatewaySiteCluster:
    """A cluster from the site's Dask Gateway, created on first use and shut down on close.

    A cluster the gateway stopped on its own (its idle timeout, a restart of the gateway) is
    noticed on the next ``client()`` and replaced by a new one. Starting and connecting take
    at most ``connect_timeout_seconds``; whatever a failed or abandoned start created at the
    gateway is shut down.
    """

    def __init__(self, site: SiteConfig, config: GatewayClusterConfig):
        self.site = site.name
        self._config = config
        self._gw = None  # the dask_gateway.Gateway of the current cluster
        self._cluster = None
        self._client: Client | None = None
        self._closed = False
        self._lock = threading.Lock()
        # The size a run asked for (None: the configured workers or adaptive range).
        self._asked: int | None = None

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
        gateway = Gateway(address=cfg.address, proxy_address=cfg.proxy_address, auth=auth)
        bound_http_connect(gateway, cfg.connect_timeout_seconds)
        return gateway

    def resize(self, workers: int | None) -> None:
        """A run's size: ``workers`` fixed, or back to the configured (adaptive) size."""
        with self._lock:
            if workers == self._asked:
                return
            self._asked = workers
            if self._cluster is not None:
                self._apply_size(self._cluster)

    def _apply_size(self, cluster) -> None:
        cfg = self._config
        if self._asked is None and cfg.adaptive_max is not None:
            cluster.adapt(minimum=cfg.adaptive_min or 0, maximum=cfg.adaptive_max)
        else:
            cluster.scale(self._asked or cfg.workers)

    def alive(self) -> bool:
        """False when the client lost its scheduler (no request to the gateway)."""
        client = self._client
        return client is None or client.status == "running"

    def client(self) -> Client:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the cluster of site {self.site} was closed")
            if self._client is not None and not self._usable():
                logger.warning(
                    "the Dask Gateway cluster of site %s is gone (stopped at the gateway?); "
                    "starting a new one",
                    self.site,
                )
                parts = (self._gw, self._cluster, self._client)
                self._gw = self._cluster = self._client = None
                # In the background: a gateway that went silent must not hold up the restart.
                threading.Thread(target=shutdown_quietly, args=parts, daemon=True).start()
            if self._client is None:
                self._gw, self._cluster, self._client = self._start()
            return self._client

    def _usable(self) -> bool:
        """The client is connected and the gateway still reports the cluster running."""
        from dask_gateway.client import ClusterStatus

        if self._client is None or self._client.status != "running":
            return False
        try:
            report = _call_within(
                self._config.connect_timeout_seconds,
                lambda: self._gw.get_cluster(self._cluster.name),
            )
        except Exception:  # the gateway cannot tell: start again (and fail there if it is down)
            logger.info("asking the gateway of site %s about its cluster failed", self.site)
            return False
        return report.status == ClusterStatus.RUNNING

    def _start(self):
        """(gateway, cluster, client) of a new cluster, within connect_timeout_seconds."""
        cfg = self._config
        start = _Start()
        threading.Thread(
            target=self._start_in, args=(start,), name=f"gateway-{self.site}", daemon=True
        ).start()
        start.done.wait(cfg.connect_timeout_seconds)
        with start.lock:
            if not start.done.is_set():
                start.abandoned = True
        if start.abandoned:
            # The thread shuts down what it made once it returns; a cluster already submitted
            # is stopped now (which also ends the thread's wait for it to start).
            if start.gateway is not None and start.name is not None:
                gateway, name = start.gateway, start.name
                threading.Thread(
                    target=lambda: quietly(gateway.stop_cluster, name), daemon=True
                ).start()
            raise SiteUnavailable(
                f"Site '{self.site}' is unavailable: its Dask Gateway at {cfg.address} did not "
                f"start and connect a cluster within {cfg.connect_timeout_seconds:g} s "
                "(connect_timeout_seconds).",
                site=self.site,
            )
        if start.error is not None:
            raise self._error(start.error) from start.error
        return start.gateway, start.cluster, start.client

    def _start_in(self, start: _Start) -> None:
        cfg = self._config
        try:
            try:
                start.gateway = gateway = self._gateway()
            except ValueError as exc:  # e.g. jupyterhub auth without any token
                raise _BadAuth(str(exc)) from exc
            options = gateway.cluster_options()
            try:
                for key, value in cfg.cluster_options.items():
                    options[key] = value
            except (KeyError, TypeError, ValueError) as exc:
                raise _BadClusterOptions(str(exc).strip("\"'")) from exc
            try:
                start.name = gateway.submit(options)
            except ValueError as exc:  # 422: the gateway refused the options
                raise _BadClusterOptions(str(exc)) from exc
            start.cluster = cluster = gateway.connect(start.name, shutdown_on_close=True)
            self._apply_size(cluster)
            # As cluster.get_client(), with the connection to the scheduler bounded.
            start.client = Client(
                cluster,
                security=cluster.security,
                set_as_default=False,
                loop=cluster.loop,
                timeout=cfg.connect_timeout_seconds,
            )
        except BaseException as exc:  # reported by the waiting thread
            start.error = exc
        finally:
            with start.lock:
                start.done.set()
                keep = start.error is None and not start.abandoned
            if not keep:
                # Half-started: the cluster may exist at the gateway although the client failed.
                shutdown_quietly(start.gateway, start.cluster, start.client, start.name)

    def _error(self, exc: BaseException) -> Exception:
        import aiohttp

        cfg = self._config
        if isinstance(exc, aiohttp.ClientResponseError) and exc.status in (401, 403):
            return SiteMisconfigured(
                f"Site '{self.site}' is misconfigured: its Dask Gateway at {cfg.address} refused "
                f"the backend's credentials (HTTP {exc.status}); check the site's cluster auth "
                f"settings (auth '{cfg.auth}').",
                site=self.site,
            )
        if isinstance(exc, _BadAuth):
            return SiteMisconfigured(
                f"Site '{self.site}' is misconfigured: its gateway auth '{cfg.auth}' cannot be "
                f"used ({exc}).",
                site=self.site,
            )
        if isinstance(exc, _BadClusterOptions):
            return SiteMisconfigured(
                f"Site '{self.site}' is misconfigured: its Dask Gateway at {cfg.address} does not "
                f"accept the configured cluster_options ({exc}).",
                site=self.site,
            )
        if not isinstance(exc, Exception):
            return RuntimeError(f"starting the cluster of site {self.site} was interrupted")
        # Anything else in reaching the gateway or the cluster means the site is down.
        return SiteUnavailable(
            f"Site '{self.site}' is unavailable: its Dask Gateway at {cfg.address} "
            f"could not start a cluster ({type(exc).__name__}: {exc}).",
            site=self.site,
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            parts = (self._gw, self._cluster, self._client)
            self._gw = self._cluster = self._client = None
        shutdown_quietly(*parts)


def _call_within(seconds: float, func: Callable[[], object]) -> object:
    """``func()`` in a helper thread; TimeoutError when it takes longer than ``seconds``."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = func()
        except BaseException as exc:  # raised in the caller
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]
