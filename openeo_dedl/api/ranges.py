"""Downloads of stored files with ``HEAD`` and single byte ranges (RFC 9110 §14).

Map viewers (the openEO Web Editor's GeoTIFF preview, GDAL's ``/vsicurl/``) read a
Cloud-Optimized GeoTIFF by asking for its size (``HEAD``) and then for the bytes they need
(``Range: bytes=...``), never for the whole file. :func:`file_response` answers:

* ``HEAD``: the headers of the whole file (``Content-Length``, ``Accept-Ranges: bytes``), no body
  and no read of the file (:class:`~openeo_dedl.api.methods.MethodsMiddleware` marks the request);
* a ``GET`` with one satisfiable range: 206 with ``Content-Range`` and just those bytes;
* a ``GET`` with ranges none of which is satisfiable: 416 with ``Content-Range: bytes */<size>``;
* anything else (no ``Range``, several ranges, another unit, a malformed header, ``If-Range``):
  200 with the whole file, which RFC 9110 §14.2 allows ("a server MAY ignore the Range header").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from openeo_dedl.api.errors import error_response
from openeo_dedl.api.methods import is_head
from openeo_dedl.errors import RangeNotSatisfiable

CHUNK = 1024 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
# 416 has no openEO error code; the name says what went wrong.


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` (both included) of a file."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """The ``Range`` asks for no byte the file has (416)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range ``header`` asks of a file of ``size`` bytes, or None for the whole
    file (no header, or one this server ignores: several ranges, another unit, bad syntax).

    Raises :class:`Unsatisfiable` when the range starts at or past the end of the file (or is
    an empty suffix): RFC 9110 §14.1.2 and §15.5.17.
    """
    if header is None:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        # "bytes=-N": the last N bytes (all of them if the file is shorter).
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid range-spec: the header is ignored (§14.1.1)
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(end, size - 1))


def _read(open_file: Callable[[], IO[bytes]], start: int, length: int) -> Iterator[bytes]:
    with open_file() as f:
        if start:
            f.seek(start)
        left = length
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


def content_disposition(filename: str) -> str:
    """``attachment`` named ``filename``; RFC 6266's ``filename*`` for names that are not plain
    ASCII (header values are Latin-1: "münster.txt" cannot be sent as is)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


def file_response(
    request: Request,
    size: int,
    open_file: Callable[[], IO[bytes]],
    media_type: str,
    filename: str,
) -> Response:
    """The stored file (``size`` bytes, opened by ``open_file`` only when bytes are sent) as the
    answer to ``request``: whole, one range of it, or only its headers (see the module doc)."""
    headers = {"Accept-Ranges": "bytes", "Content-Disposition": content_disposition(filename)}
    if is_head(request.scope):
        # The headers a GET would have, without reading the file.
        headers["Content-Length"] = str(size)
        return Response(status_code=200, media_type=media_type, headers=headers)
    wanted = None
    # If-Range names a validator these files do not have: it never matches, so the whole file.
    if "if-range" not in request.headers:
        try:
            wanted = parse_range(request.headers.get("range"), size)
        except Unsatisfiable:
            error = RangeNotSatisfiable(f"The requested range is outside the file's {size} bytes.")
            return error_response(
                error, {"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"}
            )
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_read(open_file, 0, size), media_type=media_type, headers=headers)
    headers["Content-Length"] = str(wanted.length)
    headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    return StreamingResponse(
        _read(open_file, wanted.start, wanted.length),
        status_code=206,
        media_type=media_type,
        headers=headers,
    )
