"""The data-access policy: what a process may read and fetch, decided in one place.

Every process argument that can name a location goes through :class:`DataAccess` (the registry
wraps the processes of :data:`LOCATION_PARAMETERS`; see ``registry.build_registry``). A string
there is one of:

- a **file of the calling user's workspace**, named by its plain relative path, the same path as
  in ``/files/{path}`` (``regions/alps.geojson``). Nothing else of the file system: no absolute
  paths, no ``..``, no ``file://``, no links (:mod:`openeo_dedl.storage.workspace` checks).
- a **URL the operator allowed** (``security.allowed_urls``: URL prefixes, none by default),
  over http or https only, whose host resolves to public addresses only (never loopback,
  link-local, private, reserved, multicast or unspecified ones). The connection goes to the
  very address that was checked (no second DNS lookup to rebind), redirects are followed by
  hand and each target is checked again, and the download is bounded in size and time.

Anything else is refused before any connection or file access with one message
(:meth:`DataAccess.refusal`), so the answer says nothing about whether the target exists or
answers. An allowed URL that cannot be read gives one other message (the reason is logged).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from openeo_dedl.errors import (
    FileNotFound,
    FileOperationUnsupported,
    FilePathInvalid,
    OpenEOError,
    ProcessParameterInvalid,
)
from openeo_dedl.locations import (  # noqa: F401 - re-exported: the policy's names
    DEFAULT_PORTS,
    LOCATION_PARAMETERS,
    Refused,
    UrlPrefix,
    check_url_syntax,
    is_public_address,
    is_url,
    refusal,
)

if TYPE_CHECKING:
    from openeo_dedl.config import Settings
    from openeo_dedl.storage.workspace import Workspace

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024

Resolver = Callable[[str, int], list[str]]
Connector = Callable[[str, int, float], socket.socket]


class Unreadable(Exception):
    """An allowed location could not be read (internal; the reason is only logged)."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, bounded by its own timeouts;
    only hosts of the allow-list are ever looked up)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unreadable(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to exactly ``address`` (no name resolution)."""
    return socket.create_connection((address, port), timeout=timeout)


@dataclass(frozen=True)
class Target:
    """A URL the policy permits, with the checked addresses to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    request_path: str
    addresses: tuple[str, ...]


@dataclass
class DataAccess:
    """What one run (of ``user``) may read: the user's workspace files and allowed URLs.

    ``resolve`` and ``connect`` are the DNS lookup and the TCP connection (injectable so that
    tests can decide what a host name resolves to; the policy never changes with them).
    """

    user: str | None = None
    workspace: Workspace | None = None
    allowed_urls: tuple[UrlPrefix, ...] = ()
    max_bytes: int = 32 * 1024**2
    timeout: float = 30.0
    resolve: Resolver = resolve_host
    connect: Connector = connect
    # Prefixes of ``allowed_urls`` whose hosts may be non-public addresses (load_stac's
    # entries that allow it explicitly; never the GeoJSON policy's).
    private_urls: tuple[UrlPrefix, ...] = ()
    _ssl: ssl.SSLContext | None = field(default=None, repr=False)

    @classmethod
    def for_user(cls, settings: Settings, user: str | None) -> DataAccess:
        """The policy of ``settings`` for a run of ``user`` (None: no workspace files)."""
        from openeo_dedl.storage.workspace import Workspace

        security = settings.security
        workspace = None
        if user is not None:
            workspace = Workspace(settings.workspace_url, settings.workspace.storage_options)
        return cls(
            user=user,
            workspace=workspace,
            allowed_urls=tuple(UrlPrefix.parse(u) for u in security.allowed_urls),
            max_bytes=security.max_read_bytes,
            timeout=security.read_timeout_seconds,
        )

    # -- errors -------------------------------------------------------------------------------
    @staticmethod
    def refusal(process_id: str, parameter: str) -> OpenEOError:
        """The one error for every location the policy does not allow."""
        return refusal(process_id, parameter)

    @staticmethod
    def unreadable(process_id: str, parameter: str) -> OpenEOError:
        """The one error for an allowed URL or a workspace file that cannot be read."""
        return ProcessParameterInvalid(
            f"The value passed for parameter '{parameter}' in process '{process_id}' is invalid: "
            "the file or URL it names could not be read.",
        )

    # -- reading ------------------------------------------------------------------------------
    def read(self, location: str, process_id: str, parameter: str) -> bytes:
        """The bytes at ``location`` if the policy allows it; the refusal error otherwise."""
        try:
            if is_url(location):
                return self._fetch(location)
            return self._read_file(location)
        except Refused as exc:
            logger.info("refused %s.%s location %r: %s", process_id, parameter, location, exc)
            raise self.refusal(process_id, parameter) from None
        except Unreadable as exc:
            logger.info("cannot read %s.%s location %r: %s", process_id, parameter, location, exc)
            raise self.unreadable(process_id, parameter) from None

    def geojson(self, location: str, process_id: str, parameter: str) -> Any:
        """The JSON at ``location`` (for GeoJSON parameters), read as :meth:`read` does."""
        data = self.read(location, process_id, parameter)
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise ProcessParameterInvalid(
                f"The value passed for parameter '{parameter}' in process '{process_id}' is "
                "invalid: the file or URL it names is not JSON.",
            ) from None

    def _read_file(self, path: str) -> bytes:
        if self.user is None or self.workspace is None:
            raise Refused("no user, so no workspace")
        try:
            self.workspace.info(self.user, path)  # checks the path; a folder is refused
            with self.workspace.open(self.user, path) as f:
                data = f.read(self.max_bytes + 1)
        except FilePathInvalid as exc:
            raise Refused(exc.message) from None
        except (FileNotFound, FileOperationUnsupported, FileNotFoundError, OSError) as exc:
            raise Unreadable(str(exc)) from None
        if len(data) > self.max_bytes:
            raise Unreadable(f"larger than {self.max_bytes} bytes")
        return data

    # -- URLs ---------------------------------------------------------------------------------
    def check_url(self, url: str) -> Target:
        """The target of ``url`` if the policy permits it; raises Refused otherwise.

        Only an allowed host is looked up in DNS; every address it resolves to must be public.
        """
        parts = check_url_syntax(url, self.allowed_urls, public_only=not self._private(url))
        addresses = [parts.address] if parts.address else self.resolve(parts.host, parts.port)
        if not addresses:
            raise Unreadable(f"{parts.host!r} has no address")
        bad = [a for a in addresses if not is_public_address(a)]
        if bad and not self._private(url):
            raise Refused(f"{parts.host!r} resolves to non-public {bad}")
        request_path = parts.path + (f"?{parts.query}" if parts.query else "")
        return Target(url, parts.scheme, parts.host, parts.port, request_path, tuple(addresses))

    def _private(self, url: str) -> bool:
        parts = urlsplit(url)
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
        except ValueError:
            return False
        host, scheme, path = parts.hostname or "", parts.scheme.lower(), parts.path or "/"
        return any(p.matches(scheme, host, port, path) for p in self.private_urls)

    def _fetch(self, url: str) -> bytes:
        status, _, body = self.fetch(url)
        if status != 200:
            raise Unreadable(f"HTTP {status}")
        return body

    def fetch(self, url: str, method: str = "GET") -> tuple[int, str, bytes]:
        """(status, final URL, body) of ``url``, redirects followed by hand with each target
        checked again; Refused for a URL (or redirect target) the policy does not permit,
        Unreadable when it cannot be read (no connection, timeout, too large)."""
        deadline = time.monotonic() + self.timeout
        for hop in range(MAX_REDIRECTS + 1):
            try:
                target = self.check_url(url)
            except Refused as exc:
                if hop == 0:
                    raise
                host = urlsplit(url).hostname
                raise Refused(f"a redirect to {host!r} is not allowed ({exc})") from None
            status, location, body = self._get(target, deadline, method)
            if status in _REDIRECTS:
                if not location:
                    raise Unreadable(f"HTTP {status} without Location")
                url = urljoin(url, location)
                continue
            return status, url, body
        raise Unreadable("too many redirects")

    def _open(self, target: Target, timeout: float) -> http.client.HTTPConnection:
        last: Exception | None = None
        for address in target.addresses:
            try:
                sock = self.connect(address, target.port, timeout)
            except OSError as exc:
                last = exc
                continue
            if target.scheme == "https":
                if self._ssl is None:
                    self._ssl = ssl.create_default_context()
                try:
                    sock = self._ssl.wrap_socket(sock, server_hostname=target.host)
                except (OSError, ssl.SSLError) as exc:
                    sock.close()
                    last = exc
                    continue
            conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
            conn.sock = sock  # already connected to the checked address (and TLS-wrapped)
            return conn
        raise Unreadable(f"cannot connect: {last}")

    def _get(
        self, target: Target, deadline: float, method: str = "GET"
    ) -> tuple[int, str | None, bytes]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Unreadable("timed out")
        conn = self._open(target, remaining)
        try:
            conn.request(
                method,
                target.request_path,
                headers={"User-Agent": "openeo-dedl", "Accept-Encoding": "identity"},
            )
            response = conn.getresponse()
            if response.status in _REDIRECTS:
                return response.status, response.getheader("Location"), b""
            length = response.getheader("Content-Length")
            too_long = length is not None and length.isdigit() and int(length) > self.max_bytes
            if too_long and method == "GET":
                raise Unreadable(f"Content-Length {length} > {self.max_bytes}")
            if method == "HEAD":
                return response.status, None, b""
            return response.status, None, self._read_body(response, deadline)
        except (OSError, http.client.HTTPException) as exc:
            raise Unreadable(f"{type(exc).__name__}: {exc}") from None
        finally:
            conn.close()

    def _read_body(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        # Every receive waits at most the time that was left when connecting (the socket's
        # timeout), and the deadline is checked between chunks: a slow sender is cut off.
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise Unreadable("timed out")
            chunk = response.read1(_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_bytes:
                raise Unreadable(f"larger than {self.max_bytes} bytes")
            chunks.append(chunk)


def resolving_locations(
    process_id: str, names: Iterable[str], access: DataAccess, impl: Callable
) -> Callable:
    """Wrap ``impl`` so that a string passed for one of ``names`` is replaced by the JSON it
    names, read through ``access`` (or refused); other values pass untouched."""
    import functools

    names = frozenset(names)

    @functools.wraps(impl)
    def wrapper(*args, **kwargs):
        for name in names:
            value = kwargs.get(name)
            if isinstance(value, str):
                kwargs[name] = access.geojson(value, process_id, name)
        return impl(*args, **kwargs)

    return wrapper
