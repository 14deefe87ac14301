"""HTTP methods as RFC 9110 has them, for every path at once.

The framework routes one method at a time: a path with several routes answers a wrong method with
a 405 whose ``Allow`` names only the first route's methods, does not answer ``HEAD`` nor a plain
``OPTIONS``. :class:`MethodsMiddleware` knows all the methods of each path (read from the mounted
routers, :class:`RouteTable`) and answers, before any route runs:

* ``HEAD`` on a path with ``GET``: the ``GET`` response without its body (RFC 9110 §9.3.2: every
  general-purpose server MUST support ``GET`` and ``HEAD``);
* ``OPTIONS`` that is no CORS preflight (those the CORS middleware outside answers): 204 with
  ``Allow`` (the openEO API: every endpoint responds to ``OPTIONS`` with 204 and no body);
* a method HTTP defines (RFC 9110 §9, PATCH of RFC 5789) that the path does not support: 405 with
  ``Allow`` listing every method of the path (§15.5.6: "known by the origin server but not
  supported by the target resource"; TRACE and CONNECT included, which no path supports);
* any other method: 501 ``FeatureUnsupported`` on any path (§9.1 and §15.6.2: the server "does not
  recognize the request method and is not capable of supporting it for any resource").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openeo_dedl.api.errors import error_response
from openeo_dedl.errors import FeatureUnsupported, MethodNotAllowed, OpenEOError

# The methods RFC 9110 defines, and PATCH (RFC 5789): known to this server even where it does
# not implement them.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


@dataclass
class RouteTable:
    """The methods of every mounted path: ``(prefix, router)`` pairs as ``create_app`` mounts
    them."""

    mounts: list[tuple[str, APIRouter]] = field(default_factory=list)

    def methods_of(self, path: str) -> frozenset[str]:
        """Every method some route of ``path`` answers (HEAD with GET, OPTIONS with any); empty
        when no route has the path."""
        methods: set[str] = set()
        for prefix, router in self.mounts:
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            for route in router.routes:
                if isinstance(route, APIRoute) and route.path_regex.match(rest):
                    methods.update(route.methods)
        if not methods:
            return frozenset()
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        return frozenset(methods)


# Marks a HEAD request that reaches the routes as a GET (see MethodsMiddleware): routes that
# would read a file for the body can answer with the headers alone (api/ranges.py).
_HEAD_MARK = "openeo_dedl.head"


def is_head(scope: Scope) -> bool:
    """Whether the request is a ``HEAD`` (its body is dropped whatever the route sends)."""
    return scope.get("method") == "HEAD" or bool(scope.get(_HEAD_MARK))


def allow_header(methods: Iterable[str]) -> str:
    """The value of an ``Allow`` header (sorted, so that answers are stable)."""
    return ", ".join(sorted(methods))


def method_not_allowed(method: str, path: str, methods: Iterable[str]) -> OpenEOError:
    """The 405 error of ``method`` on ``path``, naming the ``methods`` it has."""
    return MethodNotAllowed(
        f"Method {method} is not allowed for {path}; allowed: {allow_header(methods)}."
    )


class MethodsMiddleware:
    """Pure ASGI: HEAD, OPTIONS, 405 and 501 for all routes of a path (see the module doc)."""

    def __init__(self, app: ASGIApp, table: RouteTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method not in KNOWN_METHODS:
            error = FeatureUnsupported(
                f"The HTTP method {method[:32]} is not implemented by this server."
            )
            await error_response(error)(scope, receive, send)
            return
        methods = self.table.methods_of(path)
        if not methods or method in methods - {"HEAD", "OPTIONS"}:
            # An unknown path (the app's 404, or its slash redirect) or a route's own method.
            await self.app(scope, receive, send)
        elif method == "HEAD":
            get = dict(scope, method="GET", **{_HEAD_MARK: True})
            await self.app(get, receive, _without_body(send))
        elif method == "OPTIONS":
            await _no_content(methods, send)
        else:
            headers = {"Allow": allow_header(methods)}
            await error_response(method_not_allowed(method, path, methods), headers)(
                scope, receive, send
            )


def _without_body(send: Send) -> Send:
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            # Headers (Content-Length included) stay those of the GET response.
            message = {**message, "body": b""}
        await send(message)

    return send_head


async def _no_content(methods: Iterable[str], send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"allow", allow_header(methods).encode("ascii"))],
        }
    )
    await send({"type": "http.response.body", "body": b""})
