"""The sections of the settings about resources: workspace, limits, security, workers, jobs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    # Requests of one user an API process checks at once (validation, POST /result, jobs,
    # stored processes: their graphs prepared, load_stac locations read); more: 503 at once,
    # so one user's burst never takes every thread of the API. None: no limit.
    max_checks_per_user: int | None = Field(default=4, ge=1)


class LoadStacUrlConfig(BaseModel):
    """An entry of ``security.load_stac_urls`` written as a table."""

    model_config = ConfigDict(extra="forbid")

    # A folder (absolute, or file:///...) or an http(s) URL prefix.
    url: str
    # Where the data of an entry outside the configured catalogs is read (its loads run
    # there); None: default_site. Ignored for entries within a configured catalog (their
    # collections' sites apply).
    site: str | None = None
    # Whether a host name of this entry may resolve to loopback, private or link-local
    # addresses (an entry naming such an address literally, e.g. 127.0.0.1, allows it anyway).
    private_addresses: bool = False


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
    # Where load_stac may read: URL prefixes or folders (a string, or a table with ``url`` and
    # ``site``). Within a configured catalog (its URL, or one of its collections'): read
    # through the catalog. Elsewhere: static catalogs (folders, URL prefixes) and STAC APIs
    # (URL prefixes) that load_stac fetches itself, every document and asset under an entry.
    # None: every configured catalog. Batch job results of the calling user are always
    # readable; nothing else ever is. See docs/security.md#load_stac.
    load_stac_urls: list[str | LoadStacUrlConfig] | None = None
    # STAC documents (catalogs, collections, items; pages of an API search count their items)
    # that one load_stac of a location outside the configured catalogs may read.
    load_stac_max_documents: int = Field(default=1000, ge=1)
    # Seconds that reading such a location may take in all (each request has its own
    # read_timeout_seconds): a slow server must not hold an API thread for 1000 timeouts.
    load_stac_read_seconds: float = Field(default=60.0, gt=0)

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
    # Batch jobs of one user that run at the same time (all workers together); more stay
    # queued. None: no limit.
    max_batch_per_user: int | None = Field(default=None, ge=1)
    # Worker processes of each supervisor that batch jobs leave free for synchronous requests
    # (a person waits for those; batch jobs are not stopped for them). A supervisor keeps at
    # least one process for batch jobs.
    sync_reserved: int = Field(default=1, ge=0)
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


class ProcessingConfig(BaseModel):
    """Processing options users may ask for (``GET /processing_parameters``): the Dask workers
    of each site's cluster for a run, bounded per user so that one user cannot take a site."""

    model_config = ConfigDict(extra="forbid")

    # Workers one user may ask for at one site (option ``workers``); a larger value is a 400.
    max_workers_per_site: int = Field(default=4, ge=1)
    # Per user id (basic-auth name or OIDC ``<provider>~<sub>``): their own bound instead.
    user_max_workers_per_site: dict[str, int] = Field(default_factory=dict)
    # Seconds a run waits for the workers it asked for before it runs on those it has.
    workers_wait_seconds: float = Field(default=60.0, gt=0)

    def max_workers(self, user_id: str | None) -> int:
        """The bound of ``user_id``'s ``workers`` option."""
        if user_id is not None and user_id in self.user_max_workers_per_site:
            return self.user_max_workers_per_site[user_id]
        return self.max_workers_per_site


class ExportWorkspaceConfig(BaseModel):
    """A workspace that ``export_workspace`` copies results to (Workspaces extension): an
    fsspec URL under which every user has a folder, as in ``/files``."""

    model_config = ConfigDict(extra="forbid")

    # The id processes and GET /workspaces/{id} use (the extension's pattern).
    id: str = Field(pattern=r"^[\w\-\.~]+$", max_length=64)
    title: str = ""
    description: str = ""
    # fsspec URL (a local directory, s3://bucket/prefix, ...).
    url: str
    # Extra fsspec options (credentials, endpoint, ...).
    storage_options: dict[str, object] = Field(default_factory=dict)


class ReuseConfig(BaseModel):
    """Re-use of partition results across runs (see docs/configuration.md, "Re-use")."""

    model_config = ConfigDict(extra="forbid")

    # Off by default: every run then computes everything, as before.
    enabled: bool = False
    # fsspec URL under which each site gets a folder of kept results; None: a `reuse` folder in
    # each site's own staging store (so a result stays at the site that computed it).
    url: str | None = None
    # How long a kept result may be re-used; older ones are removed.
    ttl_seconds: float = Field(default=24 * 3600.0, gt=0)
    # Bytes of kept results per user and site; past it the oldest are removed first.
    max_bytes_per_user: int = Field(default=10 * 1024**3, ge=0)
