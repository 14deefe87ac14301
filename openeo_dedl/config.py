"""All configuration in one settings object.

Sources, highest priority first: keyword arguments, environment variables with prefix
``OPENEO_DEDL_`` (nested fields with ``__``, e.g. ``OPENEO_DEDL_LIMITS__SYNC_MAX_BYTES``), the TOML
file named by ``OPENEO_DEDL_CONFIG`` (or passed to :func:`load_settings`), then the embedded
default: three local sites, the bundled demo catalog, SQLite. See docs/configuration.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "OPENEO_DEDL_CONFIG"


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
    # sooner, but raster reads ~1.4x slower (see execution/clusters.py).
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


class UserConfig(BaseModel):
    """A basic-auth user; ``password_hash`` is a bcrypt hash (``openeo-dedl hash-password``)."""

    # The user id of /me (spec: ^[\w\-\.~]+$) and the name of the user's workspace folder; no
    # "~" (it marks OIDC user ids, see api/oidc.py) and not only dots ("." or ".." as a folder).
    # At most 255 characters: the database's user id columns.
    username: str = Field(pattern=r"^[\w\-\.]+$", max_length=255)
    password_hash: str

    @model_validator(mode="after")
    def _not_only_dots(self) -> UserConfig:
        if not self.username.strip("."):
            raise ValueError(f"user name {self.username!r} is not usable")
        return self


OidcGrantType = Literal[
    "implicit",
    "authorization_code",
    "authorization_code+pkce",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:device_code+pkce",
    "refresh_token",
]


class OidcClientConfig(BaseModel):
    """A public OIDC client that openEO clients may use (``default_clients`` of the spec)."""

    id: str
    grant_types: list[OidcGrantType] = Field(
        default_factory=lambda: [
            "authorization_code+pkce",
            "urn:ietf:params:oauth:grant-type:device_code+pkce",
            "refresh_token",
        ],
        min_length=1,
    )
    redirect_urls: list[str] = Field(default_factory=list)


class OidcProviderConfig(BaseModel):
    """An OpenID Connect provider whose access tokens (JWTs) this backend accepts."""

    # The prefix of bearer tokens: "Bearer oidc/<id>/<access token>".
    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,20}$")
    # Issuer URL; its /.well-known/openid-configuration must be reachable from the server.
    issuer: str
    title: str
    description: str = ""
    scopes: list[str] = Field(default_factory=lambda: ["openid"])
    default_clients: list[OidcClientConfig] = Field(default_factory=list)
    # When set, tokens must name it in `aud` (or `azp`); None: the audience is not checked.
    audience: str | None = None
    # JWKS URL; None: the `jwks_uri` of the discovery document.
    jwks_uri: str | None = None

    @model_validator(mode="after")
    def _check(self) -> OidcProviderConfig:
        # The spec: the issuer URL must not end with a slash.
        self.issuer = self.issuer.rstrip("/")
        if self.scopes and "openid" not in self.scopes:
            raise ValueError(f"OIDC provider {self.id!r}: scopes must include 'openid'")
        return self


class WorkspaceConfig(BaseModel):
    """The users' file workspaces (``/files``)."""

    # fsspec URL under which every user has a folder; None: <data_dir>/workspace.
    url: str | None = None
    # Extra fsspec options (credentials, endpoint, ...) for a remote URL.
    storage_options: dict[str, object] = Field(default_factory=dict)
    # Largest single upload; larger ones are refused (413, FileSizeExceeded).
    max_file_bytes: int = Field(default=2 * 1024**3, ge=1)
    # Total bytes one user may keep; None: no quota (StorageQuotaExceeded when exceeded).
    quota_bytes: int | None = Field(default=None, ge=0)


class LimitsConfig(BaseModel):
    """What one request may use. Exceeding a ``max_*`` limit is a 400 ProcessGraphComplexity
    naming it, answered by /validation, /result and batch jobs alike, before any work (and by
    the processes for values computed at run time). See planning/limits.py."""

    model_config = ConfigDict(extra="forbid")

    # Bytes of a JSON request body (process graphs, job and UDP documents); above: 413.
    max_body_bytes: int = Field(default=8 * 1024**2, ge=1024)
    # Bytes of a request's head (request line and header fields); above: 414 or 431.
    request_header_bytes: int = Field(default=32 * 1024, ge=1024)
    # Estimated bytes a synchronous request may load before it is refused (ProcessGraphComplexity).
    sync_max_bytes: int = 512 * 1024**2
    sync_timeout_seconds: float = 600.0
    # Nodes of a process graph and all its callbacks, after user-defined processes are inlined.
    max_nodes: int = Field(default=5000, ge=1)
    # Callbacks nested in callbacks.
    max_callback_depth: int = Field(default=30, ge=1)
    # Nesting of JSON arrays and objects, in request bodies and process graphs.
    max_json_depth: int = Field(default=256, ge=8)
    # Elements of one array: literal, or made by a process (array_create, array_concat, ...).
    max_array_length: int = Field(default=1_000_000, ge=1)
    # Characters of one string: literal, or made by text_concat.
    max_string_length: int = Field(default=1_000_000, ge=1)
    # Bits of one integer: literal, or computed exactly (power and multiply of integers).
    max_integer_bits: int = Field(default=1024, ge=64)
    # Rows or columns of an apply_kernel kernel.
    max_kernel_size: int = Field(default=101, ge=1)
    # x × y pixels of one resample_spatial output.
    max_resample_pixels: int = Field(default=10_000_000_000, ge=1)


class SecurityConfig(BaseModel):
    """What processes may read and fetch (see docs/security.md, locations.py and
    execution/access.py)."""

    model_config = ConfigDict(extra="forbid")

    # URL prefixes (http or https, with host; no credentials, query or fragment) that processes
    # may fetch, e.g. geometries of aggregate_spatial. Empty: no URL at all. Hosts that resolve
    # to loopback, link-local, private or reserved addresses stay refused even when listed.
    allowed_urls: list[str] = Field(default_factory=list)
    # Largest file or download a process may read (user files and allowed URLs).
    max_read_bytes: int = Field(default=32 * 1024**2, ge=1)
    # Time a download from an allowed URL may take, redirects included.
    read_timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _check_urls(self) -> SecurityConfig:
        from openeo_dedl.locations import UrlPrefix

        for url in self.allowed_urls:
            UrlPrefix.parse(url)
        return self


class WorkersConfig(BaseModel):
    """Worker processes: they run synchronous requests and batch jobs (never the API process).

    See docs/deployment.md for running API processes and workers apart.
    """

    # Worker processes `openeo-dedl serve` starts itself; 0: none, run `openeo-dedl worker`.
    embedded: int = Field(default=2, ge=0)
    # Resident memory of a worker process past which it is killed and its task fails
    # (MemoryLimitExceeded); its local site clusters' Dask workers have their own limit.
    max_memory_bytes: int = Field(default=4 * 1024**3, ge=64 * 1024**2)
    # Seconds a worker process may run past its task's own timeout before it is killed.
    timeout_grace_seconds: float = Field(default=5.0, ge=0)
    # Seconds a worker process may take to stop after a cancel before it is killed.
    cancel_grace_seconds: float = Field(default=10.0, gt=0)
    # A supervisor renews its heartbeat this often; work of one silent for lease_seconds is
    # recovered by the others (jobs queued again, synchronous runs fail with WorkerLost).
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    lease_seconds: float = Field(default=30.0, gt=0)
    # How often an idle supervisor looks for queued work in the database.
    poll_seconds: float = Field(default=0.25, gt=0)
    # Synchronous requests of one user that run at the same time (all workers together);
    # more wait their turn, so one user's burst of slow requests never takes every worker.
    # None: no limit.
    max_sync_per_user: int | None = Field(default=1, ge=1)
    # Among users equally busy, the one whose runs used the workers least within this many
    # seconds goes first.
    fair_share_seconds: float = Field(default=600.0, gt=0)
    # How long POST /result waits for a worker to take the request before answering 503.
    sync_queue_seconds: float = Field(default=120.0, gt=0)
    # Results of synchronous runs whose client never fetched them are removed after this.
    sync_result_seconds: float = Field(default=3600.0, gt=0)
    # Seconds the worker processes get to stop (batch jobs are queued again) at shutdown.
    shutdown_seconds: float = Field(default=30.0, ge=0)

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> WorkersConfig:
        if self.lease_seconds < 3 * self.heartbeat_seconds:
            raise ValueError("workers.lease_seconds must be at least 3 x heartbeat_seconds")
        return self


class JobsConfig(BaseModel):
    """Batch jobs: where results are kept, how long download links live, time and retries."""

    # fsspec URL under which each job's results get a folder; None: <data_dir>/results.
    results_url: str | None = None
    # Extra fsspec options (credentials, endpoint, ...) for a remote results_url.
    results_storage_options: dict[str, object] = Field(default_factory=dict)
    # Lifetime of the signed result download URLs that GET /jobs/{id}/results hands out.
    download_url_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # A job's computation at a site running longer than this fails the job; None: no limit.
    timeout_seconds: float | None = None
    # Runs a job may start; a job interrupted by a server restart is re-run until this is
    # reached, then marked `error` (with a log line saying why).
    max_attempts: int = Field(default=2, ge=1)
    # Loading throughput assumed for the duration in GET /jobs/{id}/estimate (bytes per second).
    estimate_bytes_per_second: float = Field(default=50e6, gt=0)


# bcrypt hash of "demo"; the embedded default's only user (never used in production: set `users`).
DEMO_PASSWORD_HASH = "$2b$12$x2WPr16g3d8wtjHbFEKs4Owma9pd92nxS7/XK5xGfVDzGn6XxZbQa"


def _default_sites() -> list[SiteConfig]:
    return [
        SiteConfig(name="central", title="DEDL Central Site (Warsaw)"),
        SiteConfig(name="lumi", title="LUMI Bridge (Kajaani)"),
        SiteConfig(name="leonardo", title="LEONARDO Bridge (Bologna)"),
    ]


class Settings(BaseSettings):
    """The backend's whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="OPENEO_DEDL_", env_nested_delimiter="__", extra="forbid"
    )

    backend_id: str = "openeo-dedl"
    title: str = "openEO DEDL"
    description: str = (
        "openEO backend that runs each part of a process graph at the site that holds its data."
    )
    production: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    # Public base URL; None: derived from each request.
    public_url: str | None = None

    data_dir: Path = Path("var")
    # None: <data_dir>/demo-catalog, generated on first `serve` when no catalog is configured.
    demo_catalog_dir: Path | None = None
    demo_data_size: Literal["small", "medium", "large"] = "small"

    sites: list[SiteConfig] = Field(default_factory=_default_sites)
    # "shared": one cluster per user and site, reused until idle for cluster_idle_timeout_seconds;
    # "per_job": fresh clusters for every run, shut down when it ends.
    cluster_policy: Literal["shared", "per_job"] = "shared"
    cluster_idle_timeout_seconds: float | None = 900.0
    # How partition outputs reach another site: "memory" (through this server) or "staging"
    # (written as Zarr to the producing site's staging_url, read by the consuming site).
    transfer_mode: Literal["memory", "staging"] = "memory"
    default_site: str = "central"
    catalogs: list[CatalogConfig] = Field(default_factory=list)

    database_url: str | None = None
    users: list[UserConfig] = Field(
        default_factory=lambda: [UserConfig(username="demo", password_hash=DEMO_PASSWORD_HASH)]
    )
    # Secret for signing access tokens; None: a random one kept in <data_dir>/secret.
    token_secret: SecretStr | None = None
    token_lifetime_seconds: int = 24 * 3600
    # OpenID Connect providers, listed at GET /credentials/oidc (the first is the default).
    oidc_providers: list[OidcProviderConfig] = Field(default_factory=list)
    # How long a provider's signing keys (JWKS) are cached; unknown key ids refresh earlier.
    oidc_jwks_cache_seconds: float = 3600.0

    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    workspace: WorkspaceConfig = Field(default_factory=WorkspaceConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)

    @model_validator(mode="after")
    def _check_sites(self) -> Settings:
        names = [s.name for s in self.sites]
        if len(set(names)) != len(names):
            raise ValueError(f"site names must be unique: {names}")
        if self.default_site not in names:
            raise ValueError(f"default_site {self.default_site!r} is not one of {names}")
        for cat in self.catalogs:
            if cat.site is not None and cat.site not in names:
                raise ValueError(f"catalog {cat.url!r} names unknown site {cat.site!r}")
        return self

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        for kind, ids in (
            ("user names", [u.username for u in self.users]),
            ("OIDC provider ids", [p.id for p in self.oidc_providers]),
        ):
            if len(set(ids)) != len(ids):
                raise ValueError(f"{kind} must be unique: {ids}")
        return self

    @property
    def demo_catalog_path(self) -> Path:
        return (self.demo_catalog_dir or self.data_dir / "demo-catalog") / "catalog.json"

    @property
    def effective_catalogs(self) -> list[CatalogConfig]:
        """The configured catalogs, or the bundled demo catalog when none is configured."""
        if self.catalogs:
            return self.catalogs
        return [CatalogConfig(kind="static", url=str(self.demo_catalog_path))]

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'openeo-dedl.db'}"

    @property
    def workspace_url(self) -> str:
        """Where user files live: ``workspace.url`` or ``<data_dir>/workspace``."""
        return self.workspace.url or str((self.data_dir / "workspace").resolve())

    @property
    def results_url(self) -> str:
        """Where batch job results live: ``jobs.results_url`` or ``<data_dir>/results``."""
        return self.jobs.results_url or str((self.data_dir / "results").resolve())

    def staging_url(self, site: str) -> str:
        """Where ``site`` stages partition outputs: its ``staging_url`` or a local directory."""
        configured = self.site(site).staging_url
        return configured or str((self.data_dir / "staging" / site).resolve())

    def site(self, name: str) -> SiteConfig:
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(name)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(config_file: str | Path | None = None, **overrides: object) -> Settings:
    """Build the settings from an optional TOML file, the environment and ``overrides``."""
    if config_file is None:
        return Settings(**overrides)
    previous = os.environ.get(CONFIG_FILE_ENV)
    os.environ[CONFIG_FILE_ENV] = str(config_file)
    try:
        return Settings(**overrides)
    finally:
        if previous is None:
            os.environ.pop(CONFIG_FILE_ENV, None)
        else:
            os.environ[CONFIG_FILE_ENV] = previous
