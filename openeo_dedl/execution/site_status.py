"""Whether each site can run work now: its Dask Gateway asked, the answer kept a while.

For the Federation extension (``status`` of each back-end in ``GET /``, ``federation:missing``
of the lists). A site with a local cluster is always online. A gateway site is *down* when its
gateway does not answer its health check within ``site_check_timeout_seconds``, and
*misconfigured* when it answers but refuses the configured credentials (as a run would find,
``execution/clusters/gateway.py``); either way it is ``offline``: no run can use it.

Plain HTTP (requests), no dask-gateway client: the API process asks, and must not start event
loops or clusters for it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from openeo_dedl.config import GatewayClusterConfig, Settings, SiteConfig


@dataclass(frozen=True)
class SiteState:
    """A site's status as last checked."""

    site: str
    online: bool
    checked: dt.datetime
    # When the site was last found online (None: never since this process started).
    last_online: dt.datetime | None
    # Why it is offline: "down: ..." or "misconfigured: ..."; None when online.
    reason: str | None = None


class SiteMonitor:
    """The sites' states, checked at most every ``site_check_seconds`` (all sites at once,
    each within ``site_check_timeout_seconds``)."""

    def __init__(self, settings: Settings):
        self._sites = list(settings.sites)
        self._ttl = settings.site_check_seconds
        self._timeout = settings.site_check_timeout_seconds
        self._states: dict[str, SiteState] = {}
        self._checked_at: float | None = None
        self._lock = threading.Lock()

    def states(self) -> dict[str, SiteState]:
        """Site name -> its state, in the configured order."""
        with self._lock:
            now = time.monotonic()
            if self._checked_at is None or now - self._checked_at >= self._ttl:
                self._states = self._check_all()
                self._checked_at = time.monotonic()
            return dict(self._states)

    def offline(self) -> list[str]:
        """The sites that are offline now (configured order)."""
        return [name for name, state in self.states().items() if not state.online]

    def _check_all(self) -> dict[str, SiteState]:
        with ThreadPoolExecutor(max_workers=max(1, len(self._sites))) as pool:
            reasons = list(pool.map(self._reason, self._sites))
        now = dt.datetime.now(dt.UTC)
        states: dict[str, SiteState] = {}
        for site, reason in zip(self._sites, reasons, strict=True):
            before = self._states.get(site.name)
            last = now if reason is None else (before.last_online if before else None)
            states[site.name] = SiteState(site.name, reason is None, now, last, reason)
        return states

    def _reason(self, site: SiteConfig) -> str | None:
        if not isinstance(site.cluster, GatewayClusterConfig):
            return None
        return gateway_problem(site.cluster, self._timeout)


def gateway_problem(config: GatewayClusterConfig, timeout: float) -> str | None:
    """Why the gateway of ``config`` cannot be used (``down: ...``, ``misconfigured: ...``),
    None when it answers and takes the configured credentials."""
    base = config.address.rstrip("/")
    try:
        health = requests.get(f"{base}/api/health", timeout=timeout)
    except requests.RequestException as exc:
        return f"down: its Dask Gateway at {config.address} does not answer ({type(exc).__name__})"
    if health.status_code >= 500:
        return (
            f"down: its Dask Gateway at {config.address} is unhealthy (HTTP {health.status_code})"
        )
    headers = _auth_headers(config)
    if headers is None:
        return None
    try:
        listed = requests.get(f"{base}/api/v1/clusters/", headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return f"down: its Dask Gateway at {config.address} does not answer ({type(exc).__name__})"
    if listed.status_code in (401, 403):
        return (
            f"misconfigured: its Dask Gateway at {config.address} refused the backend's "
            f"credentials (HTTP {listed.status_code})"
        )
    return None


def _auth_headers(config: GatewayClusterConfig) -> dict[str, str] | None:
    """The headers dask-gateway's client would send (``dask_gateway.auth``); None: no auth
    configured to check."""
    if config.auth == "basic" and config.username and config.password is not None:
        pair = f"{config.username}:{config.password.get_secret_value()}".encode("latin1")
        return {"Authorization": "Basic " + b64encode(pair).decode()}
    if config.auth == "jupyterhub" and config.api_token is not None:
        return {"Authorization": "jupyterhub " + config.api_token.get_secret_value()}
    return None
