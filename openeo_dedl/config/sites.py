"""Sites (where data lives and a Dask cluster runs next to it) and STAC catalogs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class LocalClusterConfig(BaseModel):
    """A `distributed` LocalCluster on this machine, started lazily on first use."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a default
    kind: Literal["local"] = "local"
    workers: int = 1
    threads_per_worker: int = 2
    memory_limit: str = "4GiB"
    # Worker processes make sites behave like separate machines; threads start faster.
    processes: bool = True
    # distributed's MALLOC_TRIM_THRESHOLD_ for the worker processes: memory back to the OS
    # sooner, but raster reads ~1.4x slower (see execution/clusters/local.py).
    trim_memory: bool = False


class GatewayClusterConfig(BaseModel):
    """A Dask Gateway server that starts clusters at the site."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["gateway"] = "gateway"
    address: str
    proxy_address: str | None = None
    auth: Literal["none", "basic", "jupyterhub"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    api_token: SecretStr | None = None
    cluster_options: dict[str, object] = Field(default_factory=dict)
    workers: int = 1
    adaptive_min: int | None = None
    adaptive_max: int | None = None
    # Starting a cluster and connecting to it (gateway API, then its scheduler through the
    # proxy) must take less than this; otherwise the site counts as unavailable.
    connect_timeout_seconds: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _check_auth(self) -> GatewayClusterConfig:
        if self.auth == "basic" and (not self.username or self.password is None):
            raise ValueError(f"gateway {self.address}: auth 'basic' needs username and password")
        return self


ClusterConfig = Annotated[LocalClusterConfig | GatewayClusterConfig, Field(discriminator="kind")]


class SiteConfig(BaseModel):
    """A place where data lives and a Dask cluster runs next to it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    title: str = ""
    description: str = ""
    cluster: ClusterConfig = Field(default_factory=LocalClusterConfig)
    # fsspec URL where this site's partitions stage outputs for other sites; None: the data dir.
    staging_url: str | None = None


class CatalogConfig(BaseModel):
    """A STAC source: a static catalog (path or URL of catalog.json) or a STAC API."""

    kind: Literal["static", "stac_api"] = "static"
    url: str
    # Site that holds the data of this catalog when items/collections do not say it themselves.
    site: str | None = None


def default_sites() -> list[SiteConfig]:
    return [
        SiteConfig(name="central", title="DEDL Central Site (Warsaw)"),
        SiteConfig(name="lumi", title="LUMI Bridge (Kajaani)"),
        SiteConfig(name="leonardo", title="LEONARDO Bridge (Bologna)"),
    ]
