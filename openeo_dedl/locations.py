"""What a location string may name, decided without any lookup (pure: no I/O, no DNS).

The syntax half of the data-access policy (``execution/access.py``): a plain relative path of a
user's workspace (:func:`clean_path`, also used by ``storage/workspace.py``) or an http(s) URL
under an allowed prefix (:class:`UrlPrefix`, :func:`check_url_syntax`). The policy adds what
needs the world (the user's files, DNS); planning uses :func:`static_refusal` so that a literal
location the policy would refuse is found before anything runs, with the same one message
(:func:`refusal`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from openeo_dedl.errors import (
    FilePathInvalid,
    OpenEOError,
    ProcessParameterInvalid,
    WorkspaceNotFound,
)

# Process id -> its parameters whose string values name a location of GeoJSON (a user file or
# an allowed URL). Other values (GeoJSON objects, vector cubes) pass untouched. Processes that
# name locations otherwise (load_stac, load_url, load_uploaded_files, load_result, run_udf,
# ...) are not offered here; tests/security/test_policy.py fails when one becomes available
# without an entry here or in WORKSPACE_PARAMETERS.
LOCATION_PARAMETERS: dict[str, frozenset[str]] = {
    "aggregate_spatial": frozenset({"geometries"}),
    "filter_spatial": frozenset({"geometries"}),
    "mask_polygon": frozenset({"mask"}),
    "load_geojson": frozenset({"data"}),
}

# Process id -> its parameters that name where results are written: ``workspace``, the id of a
# configured export workspace (never a URL or path), and ``merge``, a path in the user's own
# folder there, by the rule of clean_path (execution/exports.py writes only there).
WORKSPACE_PARAMETERS: dict[str, frozenset[str]] = {
    "export_workspace": frozenset({"workspace", "merge"}),
}

DEFAULT_PORTS = {"http": 80, "https": 443}

MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255
# The spec's pattern forbids \ : ' " and line breaks; glob characters would make fsspec expand
# a path into several; control characters have no place in a file name.
_FORBIDDEN = re.compile(r"[\\:'\"*?\[\]\x00-\x1f\x7f]")


class Refused(Exception):
    """The policy does not allow this location (internal; becomes the refusal error)."""


def refusal(process_id: str, parameter: str) -> OpenEOError:
    """The one error for every location the policy does not allow."""
    return ProcessParameterInvalid(
        f"The value passed for parameter '{parameter}' in process '{process_id}' is invalid: "
        "it is neither the relative path of a file in your workspace nor a URL that this "
        "back-end allows (see its security documentation).",
    )


# -- workspace paths ----------------------------------------------------------------------------


def _invalid(reason: str) -> FilePathInvalid:
    return FilePathInvalid(f"File path is invalid: {reason}")


def clean_path(raw: str) -> str:
    """``raw`` if it is a safe file path relative to a user's folder; FilePathInvalid otherwise."""
    if not raw:
        raise _invalid("it is empty.")
    if raw.startswith("/"):
        raise _invalid("it must be relative to your workspace (no leading '/').")
    if raw.endswith("/"):
        raise _invalid("it names a folder; only files can be read, written or deleted.")
    if _FORBIDDEN.search(raw):
        raise _invalid(
            "it contains a character that is not allowed (\\ : ' \" * ? [ ] or a "
            "control character)."
        )
    if len(raw.encode()) > MAX_PATH_BYTES:
        raise _invalid(f"it is longer than {MAX_PATH_BYTES} bytes.")
    for part in raw.split("/"):
        if part in ("", ".", ".."):
            raise _invalid("it must not contain empty, '.' or '..' segments.")
        if len(part.encode()) > MAX_NAME_BYTES:
            raise _invalid(f"a name is longer than {MAX_NAME_BYTES} bytes.")
    return raw


# -- URLs ---------------------------------------------------------------------------------------


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a public unicast address (IPv4-mapped and 6to4 IPv6 addresses are
    judged by the IPv4 address inside)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is not None and not is_public_address(str(inner)):
            return False
        if ip.teredo is not None and not all(is_public_address(str(a)) for a in ip.teredo):
            return False
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise Refused(f"bad port in {parts.netloc!r}") from None
    return port if port is not None else DEFAULT_PORTS[parts.scheme]


@dataclass(frozen=True)
class UrlPrefix:
    """An allowed URL prefix, parsed: scheme, host and port must match exactly, the path must
    start with ``path`` at a segment boundary."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, prefix: str) -> UrlPrefix:
        """The prefix of ``prefix``; ValueError unless it is an http(s) URL with a host and
        without credentials, query or fragment."""
        parts = urlsplit(prefix)
        try:
            port = _port(parts) if parts.scheme in DEFAULT_PORTS else 0
        except Refused:
            raise ValueError(f"allowed URL {prefix!r} has a bad port") from None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"allowed URL {prefix!r} must be an http or https URL with a host")
        if parts.username is not None or parts.query or parts.fragment:
            raise ValueError(f"allowed URL {prefix!r} must have no credentials, query or fragment")
        return cls(parts.scheme, parts.hostname, port, parts.path or "/")

    def matches(self, scheme: str, host: str, port: int, path: str) -> bool:
        """Whether the URL with these parts lies under this prefix."""
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        if self.path.endswith("/"):
            return (path or "/").startswith(self.path)
        return path == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True)
class UrlParts:
    """A URL that passed :func:`check_url_syntax`: what the connection needs."""

    scheme: str
    host: str
    port: int
    path: str
    query: str
    # The address when the host is a literal IP address (checked: public), else None.
    address: str | None


def check_url_syntax(
    url: str, allowed: tuple[UrlPrefix, ...] | None, public_only: bool = True
) -> UrlParts:
    """The parts of ``url`` if the policy may permit it without looking anything up; raises
    Refused otherwise. ``allowed`` None: the allow-list is not known, so it is not checked.
    ``public_only`` False: a literal non-public address of an allowed prefix passes (load_stac's
    prefixes are configured catalogs, which the back-end reads anyway)."""
    if any(c in url for c in "\\\r\n\t ") or any(ord(c) < 0x20 for c in url):
        raise Refused("bad characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused(f"scheme {scheme!r}")
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise Refused("no host, or credentials in the URL")
    port = _port(parts)
    path = parts.path or "/"
    # Dot segments (also percent-encoded) would leave an allowed prefix on the server.
    if any(seg in (".", "..") for seg in unquote(path).split("/")):
        raise Refused("dot segments in the path")
    if allowed is not None and not any(p.matches(scheme, host, port, path) for p in allowed):
        raise Refused("not in security.allowed_urls")
    try:
        address: str | None = str(ipaddress.ip_address(host))  # a literal address: no lookup
    except ValueError:
        address = None
    if public_only and address is not None and not is_public_address(address):
        raise Refused(f"{host!r} is a non-public address")
    return UrlParts(scheme, host, port, path, parts.query, address)


def is_url(location: str) -> bool:
    """Whether ``location`` is read as a URL (workspace paths never contain a colon)."""
    return ":" in location


def static_refusal(location: str, allowed: tuple[UrlPrefix, ...] | None) -> str | None:
    """Why the policy refuses ``location`` whoever asks and whatever exists (None: it may
    allow it, which only reading it tells)."""
    try:
        if is_url(location):
            check_url_syntax(location, allowed)
        else:
            clean_path(location)
    except Refused as exc:
        return str(exc)
    except FilePathInvalid as exc:
        return exc.message
    return None


# -- load_stac ----------------------------------------------------------------------------------

# load_stac's parameter naming a STAC location: a location of the allow-list
# (``security.load_stac_urls``, by default the configured catalogs; entries outside them are
# fetched by execution/stac_fetch.py) or a batch job's results of this back-end. Never read
# through the GeoJSON policy above: see :func:`stac_location`.
STAC_PARAMETERS: dict[str, str] = {"load_stac": "url"}

# Job ids are ours (uuid hex); the pattern keeps anything else out of the lookup.
_JOB_RESULTS = re.compile(r"/jobs/(?P<job>[A-Za-z0-9_-]{1,64})/results/?")
_SIGNED_RESULTS = re.compile(r"/download/(?P<job>[A-Za-z0-9_-]{1,64})/item\.json")


@dataclass(frozen=True)
class StacAllowList:
    """Where load_stac may read: folders of static catalogs on disk (absolute, ending in
    ``/``) and http(s) URL prefixes (of static catalogs or STAC APIs); ``api`` is this
    back-end's own API (its ``public_url`` and path, e.g. ``/openeo/1.2``), whose job results
    are recognised by their path and never fetched."""

    folders: tuple[str, ...] = ()
    prefixes: tuple[UrlPrefix, ...] = ()
    # The paths of this back-end's API versions (api/versions.py): a job's results URL may
    # name any of them.
    api_paths: tuple[str, ...] = ("/openeo/1.2", "/openeo/1.3")
    own: UrlPrefix | None = None  # the public URL when configured: job URLs must be under it


@dataclass(frozen=True)
class StacLocation:
    """A location load_stac may read: a local path or http(s) URL of an allowed catalog, or
    the results of a batch job of this back-end (``job``; ``signed``: expires and signature of
    its signed canonical URL)."""

    location: str
    job: str | None = None
    signed: tuple[str, str] | None = None


def _own_job(url: str, allow: StacAllowList) -> StacLocation | None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        return None
    path = parts.path
    if allow.own is not None:
        try:
            port = _port(parts)
        except Refused:
            return None
        if not allow.own.matches(parts.scheme.lower(), parts.hostname, port, path):
            return None
        path = "/" + path[len(allow.own.path) :].lstrip("/")
    api_path = next((a for a in allow.api_paths if path.startswith(a + "/")), None)
    if api_path is None:
        return None
    rest = path[len(api_path) :]
    if (match := _JOB_RESULTS.fullmatch(rest)) is not None:
        return StacLocation(url, job=match["job"])
    if (match := _SIGNED_RESULTS.fullmatch(rest)) is not None:
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        signed = (query.get("expires", ""), unquote(query.get("signature", "")))
        return StacLocation(url, job=match["job"], signed=signed)
    return None


def local_path(location: str) -> str | None:
    """The absolute path ``location`` names (``/...`` or ``file:///...``), None for other
    locations; Refused for a path with dot segments or a file URL naming a host."""
    if location.startswith("file:"):
        parts = urlsplit(location)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise Refused("file URL with a host, query or fragment")
        path = unquote(parts.path)
    elif location.startswith("/"):
        path = location
    else:
        return None
    if any(c in path for c in "\\\r\n\t") or any(ord(c) < 0x20 for c in path):
        raise Refused("bad characters")
    if any(seg in (".", "..") for seg in path.split("/")) or "//" in path:
        raise Refused("dot or empty segments in the path")
    return path


def stac_location(url: str, allow: StacAllowList) -> StacLocation:
    """What load_stac's ``url`` names if the policy allows it; raises Refused otherwise.

    A job results URL of this back-end (never fetched: its files are read where the job left
    them), a path under a static catalog's folder, or an http(s) URL under an allowed prefix
    (the syntax of :func:`check_url_syntax`).
    """
    if not isinstance(url, str) or not url:
        raise Refused("not a string")
    job = _own_job(url, allow)
    if job is not None:
        return job
    path = local_path(url)
    if path is not None:
        if not any(path.startswith(folder) for folder in allow.folders):
            raise Refused("not a file of an allowed catalog")
        return StacLocation(path)
    # Every prefix is one the operator listed: a literal address in it is allowed by naming
    # it; what a host name resolves to is checked where an entry outside the configured
    # catalogs is fetched (execution/stac_fetch.py), a configured catalog is read anyway.
    check_url_syntax(url, allow.prefixes, public_only=False)
    return StacLocation(url)


def stac_entry_problem(entry: str) -> str | None:
    """Why ``entry`` is no well-formed entry of ``security.load_stac_urls`` outside the
    configured catalogs (None: it is one): an http(s) URL prefix, or a folder."""
    if "://" in entry and not entry.startswith("file:"):
        try:
            UrlPrefix.parse(entry)
        except ValueError as exc:
            return str(exc)
        return None
    try:  # a relative folder is taken relative to the working directory, as catalogs' are
        local_path(entry if entry.startswith(("file:", "/")) else "/" + entry)
    except Refused as exc:
        return str(exc)
    return None


def stac_refusal(process_id: str = "load_stac", parameter: str = "url") -> OpenEOError:
    """The one error for every STAC location the policy does not allow."""
    return ProcessParameterInvalid(
        f"The value passed for parameter '{parameter}' in process '{process_id}' is invalid: "
        "it is neither a STAC catalog, collection or item that this back-end allows (see its "
        "security documentation) nor the results of one of your batch jobs here.",
    )


def catalog_root(url: str) -> str:
    """The folder or URL prefix under which a catalog's documents lie: the folder of a
    ``*.json`` document (a static catalog), else the URL itself (a STAC API), ending in ``/``."""
    if url.endswith(".json"):
        url = url.rsplit("/", 1)[0]
    return url.rstrip("/") + "/"


def workspace_errors(args: dict, workspaces: frozenset[str] | None) -> list[OpenEOError]:
    """What ``export_workspace`` would refuse in its literal arguments: a workspace id that is
    not configured (case-insensitive; ``workspaces`` None: not known) and a ``merge`` path that
    is not a clean relative path."""
    errors: list[OpenEOError] = []
    workspace = args.get("workspace")
    known = workspaces is None or not isinstance(workspace, str) or workspace.lower() in workspaces
    if not known:
        errors.append(WorkspaceNotFound(f"Workspace '{workspace[:64]}' does not exist."))
    merge = args.get("merge")
    if isinstance(merge, str):
        try:
            clean_path(merge)
        except FilePathInvalid as exc:
            errors.append(
                ProcessParameterInvalid(
                    "The value passed for parameter 'merge' in process 'export_workspace' is "
                    f"invalid: {exc.message}"
                )
            )
    return errors
