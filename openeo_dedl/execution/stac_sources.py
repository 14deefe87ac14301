"""What a load_stac URL names, for a user: a collection of a configured catalog, a STAC location
outside them that ``security.load_stac_urls`` allows, or the results of one of the user's batch
jobs (this side does I/O: the catalog, the fetches, the job records).

A catalog's item or (static) catalog document is read as ``stac_items.py`` says. The rule of
what may be named at all is :func:`openeo_dedl.locations.stac_location` (pure, also
checked before a run by ``planning/literals.py``); here the named thing is looked up, and
:class:`openeo_dedl.planning.stac.StacSource` says what the load reads and what the planner
knows of it. A configured catalog's URL is never fetched: its documents are read through the
catalog (as ``load_collection`` reads them); a job's result files are read where the job left
them; only a location outside the catalogs is fetched (``stac_fetch.py``, ``stac_external.py``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from openeo_dedl.catalog import Catalog
from openeo_dedl.config import Settings
from openeo_dedl.errors import OpenEOError, ProcessParameterInvalid
from openeo_dedl.execution.stac_external import external_source
from openeo_dedl.execution.stac_fetch import StacEntry, StacFetcher
from openeo_dedl.execution.stac_items import catalog_item_source, catalog_tree_source
from openeo_dedl.locations import (
    Refused,
    StacAllowList,
    StacLocation,
    UrlPrefix,
    catalog_root,
    local_path,
    stac_location,
    stac_refusal,
)
from openeo_dedl.planning import BandFacts, CollectionFacts, SearchBounds
from openeo_dedl.planning.stac import JOB_RESULTS_PREFIX, StacSource

API_PATHS = ("/openeo/1.2", "/openeo/1.3")  # api/versions.py (the API layer is above this one)


def _entries(settings: Settings) -> list[tuple[str, str | None, bool]]:
    """(location, site, private addresses allowed) of every ``security.load_stac_urls`` entry
    (by default the configured catalogs), paths absolute."""
    entries = settings.security.load_stac_urls
    if entries is None:
        entries = [catalog_root(c.url) for c in settings.effective_catalogs]
    found = []
    for entry in entries:
        url = entry if isinstance(entry, str) else entry.url
        site = None if isinstance(entry, str) else entry.site
        private = False if isinstance(entry, str) else entry.private_addresses
        if "://" not in url and not url.startswith("file:"):
            url = os.path.abspath(url) + ("/" if url.endswith("/") else "")
        found.append((url, site, private))
    return found


def _folder(path: str) -> str:
    return path if path.endswith("/") or path.endswith(".json") else path + "/"


def stac_allow_list(settings: Settings) -> StacAllowList:
    """Where load_stac may read under ``settings``: ``security.load_stac_urls``, by default
    the configured catalogs (their folders on disk, their URL prefixes)."""
    folders, prefixes = [], []
    for url, _, _ in _entries(settings):
        path = local_path(url)
        if path is not None:
            folders.append(_folder(path))
        else:
            prefixes.append(UrlPrefix.parse(url))
    own = UrlPrefix.parse(settings.public_url) if settings.public_url else None
    return StacAllowList(tuple(folders), tuple(prefixes), API_PATHS, own)


def stac_entries(settings: Settings, external: bool = True) -> tuple[StacEntry, ...]:
    """The entries of ``security.load_stac_urls`` outside the configured catalogs (a
    ``.json`` entry stands for its folder), with the site their data is read at; with
    ``external`` False those within them."""
    roots = [catalog_root(c.url) for c in settings.effective_catalogs]
    found = []
    for url, site, private in _entries(settings):
        if any((url.rstrip("/") + "/").startswith(root) for root in roots) == external:
            continue
        site = site or settings.default_site
        path = local_path(url)
        if path is not None:
            found.append(StacEntry(catalog_root(_folder(path)), None, site))
        else:
            found.append(StacEntry(None, UrlPrefix.parse(url), site, private))
    return tuple(found)


def no_job(job_id: str) -> OpenEOError:
    """The one error for a job that is not the caller's, whether it exists or not."""
    return ProcessParameterInvalid(
        "The value passed for parameter 'url' in process 'load_stac' is invalid: you have no "
        f"batch job '{job_id}' with results here."
    )


class StacSources:
    """Resolves load_stac URLs of ``settings`` (``__call__(url, user)``)."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        facts_of: Callable[[str], CollectionFacts],
    ):
        self.settings, self.catalog, self.facts_of = settings, catalog, facts_of
        self.allow = stac_allow_list(settings)
        security = settings.security
        self.fetcher = StacFetcher(
            stac_entries(settings),
            security.max_read_bytes,
            security.read_timeout_seconds,
            catalogs=stac_entries(settings, external=False),
        )
        self._database = None
        self._lock = threading.Lock()
        # External locations read recently: (url, bounds) -> (expires, source).
        self._external: dict[tuple, tuple[float, StacSource]] = {}

    def __call__(
        self, url: str, user: str | None, bounds: SearchBounds | None = None
    ) -> StacSource:
        try:
            location = stac_location(url, self.allow)
        except Refused:
            raise stac_refusal() from None
        if location.job is not None:
            return self._job(location, user)
        collection_id = self.catalog.collection_at(location.location)
        if collection_id is not None:
            return StacSource(collection_id, self.facts_of(collection_id))
        # What a configured catalog holds is read as the catalog has it (its sites), even
        # where an entry outside the catalogs is a folder above it.
        for named in (catalog_item_source, catalog_tree_source):
            source = named(self.catalog, self.facts_of, location.location)
            if source is not None:
                return source
        if self.fetcher.entry(location.location) is not None:
            return self._external_source(location.location, bounds or SearchBounds())
        raise ProcessParameterInvalid(
            "The value passed for parameter 'url' in process 'load_stac' is invalid: it "
            "names no collection, item or catalog of this back-end's catalogs (load_stac "
            "reads a collection's document: collection.json of a static catalog, "
            "/collections/{id} of a STAC API; an item's document: its JSON in a static "
            "catalog, /collections/{id}/items/{item} of a STAC API; or a static catalog's "
            "catalog.json holding one collection)."
        )

    def _external_source(self, url: str, bounds: SearchBounds) -> StacSource:
        """What an allowed location outside the catalogs names, reused for
        ``catalog_cache_seconds`` (validation and the run's plan read it once)."""
        key = (url, bounds.bbox, bounds.interval)
        now = time.monotonic()
        with self._lock:
            self._external = {k: v for k, v in self._external.items() if v[0] > now}
            if key in self._external:
                return self._external[key][1]
        entry = self.fetcher.entry(url)
        assert entry is not None
        source = external_source(
            self.fetcher,
            entry,
            url,
            bounds,
            self.settings.security.load_stac_max_documents,
            min(self.settings.catalog_page_size, 1000),
            read_seconds=self.settings.security.load_stac_read_seconds,
        )
        with self._lock:
            self._external[key] = (now + self.settings.catalog_cache_seconds, source)
            while len(self._external) > 64:
                self._external.pop(next(iter(self._external)))
        return source

    # -- job results --------------------------------------------------------------------------
    def _job_record(self, job_id: str, user: str):
        from openeo_dedl.storage import Database
        from openeo_dedl.storage.models import Job

        with self._lock:
            if self._database is None:
                self._database = Database(self.settings.effective_database_url)
        with self._database.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.user_id != user:
                return None
            s.expunge(job)
            return job

    def _job(self, location: StacLocation, user: str | None) -> StacSource:
        job_id = str(location.job)
        job = self._job_record(job_id, user) if user is not None else None
        # Another user's job and one that does not exist answer alike (no existence leak).
        if job is None or job.status != "finished" or not job.results:
            raise no_job(job_id)
        return job_source(self.settings, job_id, job.results, job.execution_plan)


def _result_href(settings: Settings, job_id: str, asset: dict) -> str:
    # jobs/results.py's ResultStore.path (the jobs layer is above this one): the names were
    # checked when the file was published.
    root = settings.results_url.rstrip("/")
    run = asset.get("run") or ""
    return f"{root}/{job_id}/{run}/{asset['name']}" if run else f"{root}/{job_id}/{asset['name']}"


def _result_asset(job_id: str, results: list[dict]) -> dict:
    """The job's GeoTIFF, else its netCDF file: ProcessParameterInvalid unless georeferenced."""
    kinds = ("image/tiff", "application/netcdf", "application/x-netcdf")
    for kind in kinds:
        asset = next((a for a in results if str(a.get("type", "")).startswith(kind)), None)
        if asset is not None and _georeferenced(asset):
            return asset
    raise ProcessParameterInvalid(
        "The value passed for parameter 'url' in process 'load_stac' is invalid: the "
        f"results of batch job '{job_id}' are neither a georeferenced GeoTIFF nor a "
        "georeferenced netCDF file (load_stac reads GTiff and netCDF results with x and y)."
    )


def _georeferenced(asset: dict) -> bool:
    proj = asset.get("proj") or {}
    return bool(proj.get("epsg") and proj.get("transform") and proj.get("shape"))


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def job_source(
    settings: Settings, job_id: str, results: list[dict], plan: dict[str, Any] | None
) -> StacSource:
    """The results of a finished job as a source, at the site where the job's result was
    made: one STAC item of its GeoTIFF (bands from the file's band descriptions), or its
    netCDF file (``netcdf_results.py``)."""
    site = (plan or {}).get("result_site") or settings.default_site
    if site not in [s.name for s in settings.sites]:
        site = settings.default_site
    asset = _result_asset(job_id, results)
    if "netcdf" in str(asset.get("type", "")):
        from openeo_dedl.execution.netcdf_results import netcdf_job_source

        href = _result_href(settings, job_id, asset)
        return netcdf_job_source(job_id, asset, href, site, asset.get("bbox_wgs84"))
    proj = asset["proj"]
    names = [str(b) for b in asset.get("bands") or ["data"]]
    stacked = all("|" in n for n in names)
    times = sorted({_time(n.split("|", 1)[0]) for n in names}) if stacked else []
    bands = list(dict.fromkeys(n.rsplit("|", 1)[-1] for n in names)) if stacked else names
    t = asset.get("start") or (times[0].isoformat() if times and times[0] else None)
    bbox = asset.get("bbox_wgs84")
    a, _, c, _, e, f = proj["transform"][:6]
    height, width = proj["shape"]
    crs = f"EPSG:{proj['epsg']}"
    collection_id = JOB_RESULTS_PREFIX + job_id
    dtype = str(asset.get("dtype") or "float32")  # results of older runs did not record it
    raster = {"data_type": dtype}
    if asset.get("nodata") is not None:
        raster["nodata"] = asset["nodata"]
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "id": job_id,
        "collection": collection_id,
        "bbox": bbox,
        "geometry": _polygon(bbox) if bbox else None,
        "properties": {
            "datetime": t or "1970-01-01T00:00:00Z",
            "proj:code": crs,
            "proj:shape": [height, width],
            "proj:transform": [a, 0.0, c, 0.0, e, f],
        },
        "assets": {
            "result": {
                "href": _result_href(settings, job_id, asset),
                "type": asset["type"],
                "roles": ["data"],
                "eo:bands": [{"name": n} for n in names],
                "raster:bands": [dict(raster) for _ in names],
            }
        },
        "links": [],
    }
    west, north = c, f
    east, south = c + a * width, f + e * height
    facts = CollectionFacts(
        id=collection_id,
        sites=(site,),
        bbox=tuple(bbox) if bbox else None,  # type: ignore[arg-type]
        crs=crs,
        native_bbox=(min(west, east), min(south, north), max(west, east), max(south, north)),
        resolution=(abs(a), abs(e)),
        times=tuple(x for x in times if x is not None) or None,
        time_count=len(times) or 1,
        bands=tuple(BandFacts(name=b, dtype=dtype, nodata=asset.get("nodata")) for b in bands),
    )
    collection = {"id": collection_id, "stacked_time": stacked, "band_names": names}
    return StacSource(collection_id, facts, items=(item,), collection=collection)


def _polygon(bbox: list[float]) -> dict:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
