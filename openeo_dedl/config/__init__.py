"""All configuration in one settings object.

Sources, highest priority first: keyword arguments, environment variables with prefix
``OPENEO_DEDL_`` (nested fields with ``__``, e.g. ``OPENEO_DEDL_LIMITS__SYNC_MAX_BYTES``), the TOML
file named by ``OPENEO_DEDL_CONFIG`` (or passed to :func:`load_settings`), then the embedded
default: three local sites, the bundled demo catalog, SQLite. See docs/configuration.md.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from openeo_dedl.config.accounts import (
    DEMO_PASSWORD_HASH,
    OidcClientConfig,
    OidcGrantType,
    OidcProviderConfig,
    UserConfig,
)
from openeo_dedl.config.sections import (
    ExportWorkspaceConfig,
    JobsConfig,
    LimitsConfig,
    LoadStacUrlConfig,
    ProcessingConfig,
    ReuseConfig,
    SecurityConfig,
    WorkersConfig,
    WorkspaceConfig,
)
from openeo_dedl.config.sites import (
    CatalogConfig,
    ClusterConfig,
    GatewayClusterConfig,
    LocalClusterConfig,
    SiteConfig,
    default_sites,
)

__all__ = [
    "CatalogConfig",
    "ClusterConfig",
    "DEMO_PASSWORD_HASH",
    "ExportWorkspaceConfig",
    "GatewayClusterConfig",
    "JobsConfig",
    "LimitsConfig",
    "LoadStacUrlConfig",
    "LocalClusterConfig",
    "OidcClientConfig",
    "OidcGrantType",
    "OidcProviderConfig",
    "ProcessingConfig",
    "ReuseConfig",
    "SecurityConfig",
    "Settings",
    "SiteConfig",
    "UserConfig",
    "WorkersConfig",
    "WorkspaceConfig",
    "load_settings",
]

CONFIG_FILE_ENV = "OPENEO_DEDL_CONFIG"


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

    sites: list[SiteConfig] = Field(default_factory=default_sites)
    # "shared": one cluster per user and site, reused until idle for cluster_idle_timeout_seconds;
    # "per_job": fresh clusters for every run, shut down when it ends.
    cluster_policy: Literal["shared", "per_job"] = "shared"
    cluster_idle_timeout_seconds: float | None = 900.0
    # How partition outputs reach another site: "memory" (through this server) or "staging"
    # (written as Zarr to the producing site's staging_url, read by the consuming site).
    transfer_mode: Literal["memory", "staging"] = "memory"
    default_site: str = "central"
    # How long a check of the sites' gateways (GET / `federation` status, `federation:missing`)
    # is reused, and how long each gateway may take to answer it.
    site_check_seconds: float = Field(default=30.0, ge=0)
    site_check_timeout_seconds: float = Field(default=3.0, gt=0)
    catalogs: list[CatalogConfig] = Field(default_factory=list)
    # Provider ids in `federation:backends` (as the DEDL's catalog names them, e.g. "dedt_lumi")
    # -> our site names; a site's own name always means that site. Unknown ids are ignored.
    provider_sites: dict[str, str] = Field(default_factory=dict)
    # How long what a STAC API answered (its collections, item searches) is reused: an item or
    # collection added to it is seen after at most this long, without a restart.
    catalog_cache_seconds: float = Field(default=60.0, ge=0)
    # A STAC API request that takes longer fails (503 naming the catalog) instead of hanging.
    catalog_timeout_seconds: float = Field(default=30.0, gt=0)
    # Items per page of a STAC API search; searches for planning facts stop listing items after
    # catalog_max_fact_items (the planner then works with collection-level metadata).
    catalog_page_size: int = Field(default=1000, ge=1, le=10000)
    catalog_max_fact_items: int = Field(default=20000, ge=0)

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
    # Where export_workspace may copy results (GET /workspaces); none by default.
    export_workspaces: list[ExportWorkspaceConfig] = Field(default_factory=list)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    processing: ProcessingConfig = Field(default_factory=ProcessingConfig)
    reuse: ReuseConfig = Field(default_factory=ReuseConfig)

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
        for provider, site in self.provider_sites.items():
            if site not in names:
                raise ValueError(f"provider_sites: {provider!r} -> unknown site {site!r}")
        return self

    @model_validator(mode="after")
    def _check_load_stac_urls(self) -> Settings:
        from openeo_dedl.locations import catalog_root, stac_entry_problem

        roots = [catalog_root(c.url) for c in self.effective_catalogs]
        names = [s.name for s in self.sites]
        for entry in self.security.load_stac_urls or []:
            url = entry if isinstance(entry, str) else entry.url
            site = None if isinstance(entry, str) else entry.site
            if site is not None and site not in names:
                raise ValueError(f"security.load_stac_urls: {url!r} names unknown site {site!r}")
            if any((url.rstrip("/") + "/").startswith(root) for root in roots):
                continue
            problem = stac_entry_problem(url)
            if problem is not None:
                raise ValueError(
                    f"security.load_stac_urls: {url!r} lies in no configured catalog and is "
                    f"no well-formed location of a STAC catalog or API ({problem}): write an "
                    "http(s) URL prefix without credentials, query or fragment, or a folder"
                )
        return self

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        for kind, ids in (
            ("export workspace ids", [w.id.lower() for w in self.export_workspaces]),
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

    def reuse_url(self, site: str) -> str:
        """Where ``site`` keeps re-usable partition results (``reuse.url``/<site>, else a
        ``reuse`` folder of its staging store)."""
        if self.reuse.url:
            return f"{self.reuse.url.rstrip('/')}/{site}"
        return f"{self.staging_url(site).rstrip('/')}/reuse"

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
        config_file = _config_file.get() or os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


# The TOML file of the settings being built by load_settings in this thread (or task): a context
# variable, so that settings built at the same time elsewhere never see it (os.environ would be
# shared by all threads).
_config_file: ContextVar[str | None] = ContextVar("openeo_dedl_config_file", default=None)


def load_settings(config_file: str | Path | None = None, **overrides: object) -> Settings:
    """Build the settings from an optional TOML file (else the one ``OPENEO_DEDL_CONFIG``
    names), the environment and ``overrides``; thread-safe, the environment stays as it is."""
    token = _config_file.set(str(config_file) if config_file is not None else None)
    try:
        return Settings(**overrides)
    finally:
        _config_file.reset(token)
