"""The size limit of a request's head (request line and header fields): 414 and 431 answers.

The HTTP server bounds the bytes it buffers for an incomplete head (``openeo-dedl serve`` passes
``limits.request_header_bytes`` to uvicorn, :mod:`openeo_dedl.api.protocol` answers when it is
passed); a head that arrives whole in one read is not measured there, so
:class:`HeaderLimitMiddleware` measures every request the app receives against the same limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from openeo_dedl.api.errors import error_response
from openeo_dedl.errors import OpenEOError, RequestHeaderFieldsTooLarge, UriTooLong


def head_too_large(request_line_bytes: int, head_bytes: int, limit: int) -> OpenEOError | None:
    """The error for a request head of ``head_bytes`` (of them ``request_line_bytes`` in the
    request line) when it passes ``limit``, else None.

    414 when the request line alone passes it (RFC 9110 §15.5.15), else 431 (RFC 6585 §5).
    """
    if head_bytes <= limit:
        return None
    if request_line_bytes > limit:
        return UriTooLong(f"The request URL is longer than the {limit} bytes this server accepts.")
    return RequestHeaderFieldsTooLarge(
        f"The request's header fields take more than the {limit} bytes this server accepts: "
        "send fewer or smaller headers."
    )


class HeaderLimitMiddleware:
    """Pure ASGI: refuses requests whose head passes ``limit`` bytes (414 or 431)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = len(scope.get("raw_path") or scope["path"].encode())
            query = scope.get("query_string") or b""
            # "METHOD target?query HTTP/1.1\r\n" and "name: value\r\n" per field, as sent.
            line = len(scope["method"]) + target + (len(query) + 1 if query else 0) + 11
            fields = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            error = head_too_large(line, line + fields, self.limit)
            if error is not None:
                await error_response(error, {"Connection": "close"})(scope, receive, send)
                return
        await self.app(scope, receive, send)
