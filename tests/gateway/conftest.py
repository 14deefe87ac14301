"""Real Dask Gateway servers on 127.0.0.1, one per site, each with its own password.

They use UnsafeLocalBackend: clusters are local processes, which is the only way to run a real
gateway here; the protocol between backend, gateway, scheduler and workers is the production one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import free_port, wait_until_serving


@dataclass
class GatewayServer:
    site: str
    address: str
    proxy_address: str
    password: str
    process: subprocess.Popen
    log: Path

    def gateway(self):
        from dask_gateway import Gateway
        from dask_gateway.auth import BasicAuth

        from openeo_dedl.execution.clusters import forget_gateway_loop

        class ClosingGateway(Gateway):
            def close(self):
                super().close()
                forget_gateway_loop(self)  # no "Exception ignored in Gateway.__del__" afterwards

        return ClosingGateway(
            self.address,
            proxy_address=self.proxy_address,
            auth=BasicAuth("openeo", self.password),
        )

    def site_config(self) -> dict:
        return {
            "name": self.site,
            "cluster": {
                "kind": "gateway",
                "address": self.address,
                "proxy_address": self.proxy_address,
                "auth": "basic",
                "username": "openeo",
                "password": self.password,
                "workers": 1,
            },
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_gateway(site: str, workdir: Path) -> GatewayServer:
    workdir.mkdir(parents=True, exist_ok=True)
    api_port, proxy_port = free_port(), free_port()
    password = f"{site}-secret"
    bin_dir = Path(sys.executable).parent
    dask = shutil.which("dask", path=str(bin_dir)) or "dask"
    (workdir / "config.py").write_text(
        f"""
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.DaskGateway.address = "127.0.0.1:{api_port}"
c.Proxy.address = "127.0.0.1:{proxy_port}"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = "{password}"
c.DaskGateway.db_url = "sqlite:///{workdir / "gateway.sqlite"}"
c.ClusterConfig.scheduler_cmd = ["{dask}", "scheduler"]
c.ClusterConfig.worker_cmd = ["{dask}", "worker"]
c.ClusterConfig.worker_cores = 1
c.ClusterConfig.worker_memory = "2 G"
c.ClusterConfig.idle_timeout = 600
c.UnsafeLocalBackend.clusters_directory = "{workdir / "clusters"}"
"""
    )
    log = workdir / "gateway.log"
    process = subprocess.Popen(
        [str(bin_dir / "dask-gateway-server"), "-f", str(workdir / "config.py")],
        cwd=workdir,
        stdout=open(log, "wb"),  # noqa: SIM115 - lives as long as the process
        stderr=subprocess.STDOUT,
    )
    address = f"http://127.0.0.1:{api_port}"
    wait_until_serving(f"{address}/api/health", process, log, timeout=30)
    return GatewayServer(site, address, f"tcp://127.0.0.1:{proxy_port}", password, process, log)


@pytest.fixture(scope="session")
def gateways(tmp_path_factory):
    """Gateways for the sites `central` and `lumi`."""
    servers = {
        site: start_gateway(site, tmp_path_factory.mktemp(f"gateway-{site}"))
        for site in ("central", "lumi")
    }
    yield servers
    for server in servers.values():
        server.stop()
