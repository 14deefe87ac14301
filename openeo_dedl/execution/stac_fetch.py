"""Reading STAC documents and checking asset hrefs for load_stac of locations outside the
configured catalogs (this side does I/O).

Only locations under an entry of ``security.load_stac_urls`` that lies outside the configured
catalogs are read (:class:`StacEntry`): a folder (the real path, links resolved, must stay in
it) or an http(s) URL prefix, fetched through the data-access policy's own connection
(``access.DataAccess``: the checked address is the one connected to, redirects are followed by
hand and each target is checked again, bounded in bytes and time). A host name must resolve to
public addresses unless the entry allows private ones; an entry naming a non-public address
literally (``http://127.0.0.1:8081/``) allows that address. Every document read counts against
``security.load_stac_max_documents``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from openeo_dedl.errors import CatalogUnavailable, OpenEOError, ProcessParameterInvalid
from openeo_dedl.execution.access import DataAccess, Unreadable
from openeo_dedl.locations import DEFAULT_PORTS, Refused, UrlPrefix, local_path


@dataclass(frozen=True)
class StacEntry:
    """An entry of ``security.load_stac_urls`` outside the configured catalogs: a folder
    (absolute, ending in ``/``) or a URL prefix, the site its data is read at, and whether its
    host name may resolve to non-public addresses."""

    folder: str | None
    prefix: UrlPrefix | None
    site: str
    private: bool = False

    @property
    def literal_private(self) -> bool:
        """Whether the entry names a non-public address itself (which allows it)."""
        if self.prefix is None:
            return False
        try:
            ip = ipaddress.ip_address(self.prefix.host.strip("[]"))
        except ValueError:
            return False
        return not ip.is_global


def _param(message: str) -> OpenEOError:
    return ProcessParameterInvalid(
        f"The value passed for parameter 'url' in process 'load_stac' is invalid: {message}"
    )


def host_of(location: str) -> str:
    """What an error names of ``location``: its host, or "this machine" for a file."""
    if location.startswith(("/", "file:")):
        return "this machine's file system"
    return f"host '{urlsplit(location).hostname or '?'}'"


class DocumentBudget:
    """The documents one load_stac may still read (``security.load_stac_max_documents``) and
    for how long (``security.load_stac_read_seconds``, from the first)."""

    def __init__(self, maximum: int, seconds: float | None = None):
        self.maximum, self.used = maximum, 0
        self.seconds = seconds
        self._started = time.monotonic()

    def take(self, count: int = 1) -> None:
        self.used += count
        if self.used > self.maximum:
            raise _param(
                f"it names more than {self.maximum} STAC documents or items (the limit of "
                "security.load_stac_max_documents); narrow spatial_extent/temporal_extent or "
                "name a collection or item rather than a whole catalog."
            )
        if self.seconds is not None and time.monotonic() - self._started > self.seconds:
            raise _param(
                f"reading its STAC documents took longer than {self.seconds:g} s (the limit "
                "of security.load_stac_read_seconds, after "
                f"{self.used - count} documents); name a collection or item rather than a "
                "whole catalog, or narrow spatial_extent/temporal_extent."
            )


class StacFetcher:
    """Reads documents under ``entries`` only, each request within ``timeout`` seconds and
    documents of at most ``max_bytes``; asset hrefs may also lie under ``catalogs`` (the
    allow-list's entries within the configured catalogs, which the back-end reads anyway)."""

    def __init__(
        self,
        entries: tuple[StacEntry, ...],
        max_bytes: int,
        timeout: float,
        catalogs: tuple[StacEntry, ...] = (),
    ):
        self.entries, self.catalogs = entries, catalogs
        every = entries + catalogs
        prefixes = tuple(e.prefix for e in every if e.prefix is not None)
        private = tuple(
            e.prefix
            for e in every
            if e.prefix is not None and (e.private or e.literal_private or e in catalogs)
        )
        self.access = DataAccess(
            allowed_urls=prefixes, private_urls=private, max_bytes=max_bytes, timeout=timeout
        )
        self.max_bytes = max_bytes

    # -- where ----------------------------------------------------------------------------
    def entry(self, location: str, assets: bool = False) -> StacEntry | None:
        """The entry ``location`` (a path, file:// or http(s) URL) lies under, if any (with
        ``assets``: also the configured catalogs' entries)."""
        entries = self.entries + self.catalogs if assets else self.entries
        try:
            path = local_path(location)
        except Refused:
            return None
        if path is not None:
            real = os.path.realpath(path)
            for e in entries:
                # Links inside the folder must not lead out of it: the real path must stay.
                if (
                    e.folder is not None
                    and path.startswith(e.folder)
                    and (real + "/").startswith(os.path.realpath(e.folder).rstrip("/") + "/")
                ):
                    return e
            return None
        parts = urlsplit(location)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            return None
        for e in entries:
            if e.prefix is not None and e.prefix.matches(
                scheme, parts.hostname, port, parts.path or "/"
            ):
                return e
        return None

    def outside(self, location: str, what: str) -> OpenEOError:
        """The refusal of a ``what`` (document, asset href) at ``location``."""
        return _param(
            f"the {what} at {host_of(location)} lies outside the STAC locations this "
            "back-end allows (security.load_stac_urls); nothing was read from it."
        )

    @staticmethod
    def resolve(href: str, base: str) -> str:
        """``href`` of a document read from ``base``, made absolute (a path of a document
        served over http(s) is one of its server, never a local file)."""
        if "://" in href or href.startswith("file:"):
            return href
        if base.startswith("/"):
            return os.path.normpath(os.path.join(os.path.dirname(base), href))
        return urljoin(base, href)

    # -- reading --------------------------------------------------------------------------
    def document(
        self, location: str, budget: DocumentBudget, what: str = "document"
    ) -> tuple[dict, str]:
        """The JSON object at ``location`` and where it was read (after redirects)."""
        budget.take()
        if self.entry(location) is None:
            raise self.outside(location, what)
        if location.startswith(("/", "file:")):
            path = local_path(location) or location
            try:
                with open(path, "rb") as f:
                    data = f.read(self.max_bytes + 1)
            except OSError:
                name = os.path.basename(path)
                raise _param(f"the STAC {what} {name!r} does not exist.") from None
            final = path
        else:
            status, final, data = self._get(location, what)
            if status != 200:
                raise self._status(status, location, what)
        if len(data) > self.max_bytes:
            raise _param(f"the STAC {what} at {host_of(location)} is larger than allowed.")
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            doc = None
        if not isinstance(doc, dict):
            raise _param(f"the {what} at {host_of(location)} is not a JSON object (no STAC).")
        return doc, final

    def check_asset(self, href: str) -> None:
        """Refuses an asset href outside the entries, and one whose server redirects out of
        them (asked with HEAD, redirects checked as documents' are) or does not answer it."""
        if self.entry(href, assets=True) is None:
            raise self.outside(href, "asset href")
        if href.startswith(("/", "file:")):
            return
        status, _, _ = self._get(href, "asset", method="HEAD")
        if status >= 400:
            raise self._status(status, href, "asset")

    def _get(self, url: str, what: str, method: str = "GET") -> tuple[int, str, bytes]:
        try:
            return self.access.fetch(url, method)
        except Refused as exc:
            raise _param(
                f"reading the {what} at {host_of(url)} was refused: {exc} (only locations of "
                "security.load_stac_urls are read, redirects included)."
            ) from None
        except Unreadable as exc:
            raise CatalogUnavailable(
                f"The STAC {what} at {host_of(url)} could not be read for load_stac: {exc}. "
                "Try again later."
            ) from None

    @staticmethod
    def _status(status: int, url: str, what: str) -> OpenEOError:
        if status >= 500:
            return CatalogUnavailable(
                f"The STAC {what} at {host_of(url)} answered HTTP {status} to load_stac. "
                "Try again later."
            )
        return _param(f"the STAC {what} at {host_of(url)} answered HTTP {status}.")
