"""Every error leaves the API as openEO error JSON ``{id, code, message, links}``.

Three layers make sure no route can leak a framework error page:

* exception handlers for :class:`OpenEOError`, Starlette's ``HTTPException`` (unknown path,
  wrong method, ...) and FastAPI's ``RequestValidationError``;
* :class:`ErrorAndLogMiddleware`, a pure ASGI middleware inside CORS that turns any other
  exception into a generic 500 ``Internal`` (logged with its traceback and error id), so that
  crashes carry CORS headers too and never reach Starlette's plain-text error page;
* :func:`error_response`, the only way errors are serialised.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openeo_dedl.api.versions import BY_SEGMENT
from openeo_dedl.errors import (
    AuthenticationRequired,
    BadRequest,
    ContentTypeInvalid,
    Internal,
    JsonInvalid,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    OpenEOError,
    PayloadTooLarge,
    PermissionsInsufficient,
    RequestTimeout,
    UnsupportedApiVersion,
)

logger = logging.getLogger("openeo_dedl.api")

# The openEO errors of the plain HTTP errors the framework raises itself.
_HTTP_ERRORS: dict[int, type[OpenEOError]] = {
    400: BadRequest,
    401: AuthenticationRequired,
    403: PermissionsInsufficient,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    408: RequestTimeout,
    413: PayloadTooLarge,
    415: ContentTypeInvalid,
}

_VERSIONED_PATH = re.compile(r"^/openeo/([^/]+)(?:/|$)")


def error_response(error: OpenEOError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The openEO error JSON of ``error`` with its HTTP status."""
    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


def _not_found(path: str) -> OpenEOError:
    match = _VERSIONED_PATH.match(path)
    if match and match.group(1) not in BY_SEGMENT:
        # A client asking for another API version should learn that, not just "not found".
        return UnsupportedApiVersion(
            f"The requested API version '{match.group(1)}' is not supported: "
            f"see /.well-known/openeo for the supported versions."
        )
    return NotFound(f"Resource not found: {path}")


def _http_error(request: Request, exc: StarletteHTTPException) -> OpenEOError:
    status = exc.status_code
    if status == 404:
        return _not_found(request.url.path)
    if status == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return MethodNotAllowed(
            f"Method {request.method} is not allowed for {request.url.path}"
            + (f"; allowed: {allowed}." if allowed else ".")
        )
    cls = _HTTP_ERRORS.get(status, Internal if status >= 500 else BadRequest)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else "Request failed."
    # The framework's own status stays (e.g. 416 of a file range): it is what HTTP says.
    return cls(message, status=None if status == cls.status else status)


def _describe_validation_errors(errors: list[dict[str, Any]]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Map OpenEOError, framework HTTP errors and request validation errors to openEO JSON."""

    @app.exception_handler(OpenEOError)
    async def _openeo(_: Request, exc: OpenEOError) -> JSONResponse:
        if exc.status >= 500:
            # Keep the chain: an Internal raised from another exception logs that traceback.
            logger.error("openEO error %s (%s): %s", exc.code, exc.id, exc.message, exc_info=exc)
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return error_response(_http_error(request, exc), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(JsonInvalid("The request body is not valid JSON."))
        return error_response(BadRequest(f"Invalid request: {_describe_validation_errors(errors)}"))


class ErrorAndLogMiddleware:
    """Logs every request (method, path, status, duration) and answers crashes with openEO JSON.

    Pure ASGI rather than ``@app.middleware("http")``: BaseHTTPMiddleware would let exceptions
    pass to Starlette's outermost ServerErrorMiddleware (outside CORS, plain text body) and
    wraps streamed responses in an extra task.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method, path = scope.get("method", "?"), scope.get("path", "?")
        try:
            await self.app(scope, receive, send_and_record)
        except ClientDisconnect:
            # The request body never arrived whole (the client went away, or the server refused
            # its framing and answered itself): no one to answer, and no error of ours.
            logger.info("client disconnected before its request was read: %s %s", method, path)
        except Exception as exc:
            if status is not None:
                # Headers are out: nothing can be sent any more, let the server drop the
                # connection (a truncated body must not look complete).
                logger.exception("error after the response started: %s %s", method, path)
                raise
            error = Internal("Server error: an unexpected error occurred.")
            logger.error("unhandled error %s on %s %s", error.id, method, path, exc_info=exc)
            await error_response(error)(scope, receive, send_and_record)
        finally:
            logger.info(
                "%s %s -> %s (%.0f ms)",
                method,
                path,
                status if status is not None else "-",
                (time.perf_counter() - started) * 1000,
            )
