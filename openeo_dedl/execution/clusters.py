"""One Dask cluster per site: a local `distributed` cluster or a Dask Gateway cluster."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import dask
from distributed import Client

from openeo_dedl.config import GatewayClusterConfig, LocalClusterConfig, Settings, SiteConfig
from openeo_dedl.errors import SiteMisconfigured, SiteUnavailable
from openeo_dedl.execution.control import RunCanceled

logger = logging.getLogger(__name__)


class SiteCluster(Protocol):
    """A site's compute: a `distributed.Client` connected to a cluster at that site."""

    site: str

    def client(self) -> Client: ...

    def alive(self) -> bool: ...

    def close(self) -> None: ...


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

    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                from distributed import LocalCluster

                logger.info("starting local Dask cluster for site %s", self.site)
                # Threads-only clusters talk in-process; a TCP host would break their start.
                network = {"host": "127.0.0.1"} if self._config.processes else {}
                with dask.config.set(_worker_environ(self._config)):
                    self._cluster = LocalCluster(
                        n_workers=self._config.workers,
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
        _bound_http_connect(gateway, cfg.connect_timeout_seconds)
        return gateway

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
                threading.Thread(target=_shutdown_quietly, args=parts, daemon=True).start()
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
                    target=lambda: _quietly(gateway.stop_cluster, name), daemon=True
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
            if cfg.adaptive_max is not None:
                cluster.adapt(minimum=cfg.adaptive_min or 0, maximum=cfg.adaptive_max)
            else:
                cluster.scale(cfg.workers)
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
                _shutdown_quietly(start.gateway, start.cluster, start.client, start.name)

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
        _shutdown_quietly(*parts)


def _bound_http_connect(gateway, seconds: float) -> None:
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


def _quietly(func: Callable, *args) -> None:
    try:
        func(*args)
    except Exception:
        logger.debug("cleaning up a gateway cluster: %s failed", func, exc_info=True)


def _shutdown_quietly(gateway, cluster, client, name: str | None = None) -> None:
    """Close the client, shut the cluster down at the gateway, close the gateway client."""
    if client is not None:
        _quietly(client.close)
    if cluster is not None:
        _quietly(cluster.shutdown)  # also closes the cluster's own gateway client
        forget_gateway_loop(getattr(cluster, "gateway", None))
    elif gateway is not None and name is not None:
        _quietly(gateway.stop_cluster, name)
    if gateway is not None:
        _quietly(gateway.close)
        forget_gateway_loop(gateway)


def forget_gateway_loop(gateway) -> None:
    """Keep a closed Gateway's ``__del__`` from closing it again: with this `distributed` its
    second close fails on the stopped loop ("Exception ignored in Gateway.__del__")."""
    if gateway is not None and hasattr(gateway, "_loop_runner"):
        del gateway._loop_runner


def _new_site_cluster(site: SiteConfig) -> SiteCluster:
    if isinstance(site.cluster, LocalClusterConfig):
        return LocalSiteCluster(site, site.cluster)
    return GatewaySiteCluster(site, site.cluster)


class _RunClusters:
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

    def _evict(self, key: ClusterKey, cluster: SiteCluster) -> None:
        with self._lock:
            if self._shared.get(key) is not cluster:
                return
            del self._shared[key]
        logger.warning("dropping the lost cluster of site %s (user %r)", key[1], key[0])
        _close_quietly(cluster)

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
                for cluster in run.end().values():
                    _close_quietly(cluster)
        else:
            owner = user or ""
            run = _RunClusters(lambda name: self._shared_cluster((owner, name)))
            try:
                yield run
            finally:
                used = run.end()
                self._release((owner, name) for name in used)
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
            _close_quietly(cluster)


def _close_quietly(cluster: SiteCluster) -> None:
    try:
        cluster.close()
    except Exception:  # closing must go on for the other sites
        logger.exception("closing the cluster of site %s failed", cluster.site)
