"""Every error leaves the API as openEO error JSON ``{id, code, message, links}``."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openeo_dedl.errors import OpenEOError

logger = logging.getLogger(__name__)

# openEO codes for plain HTTP errors raised by the framework itself.
_HTTP_CODES = {
    400: "BadRequest",
    401: "AuthenticationRequired",
    403: "PermissionsInsufficient",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    413: "PayloadTooLarge",
    415: "ContentTypeInvalid",
}


def error_response(
    status: int, code: str, message: str, headers: dict | None = None
) -> JSONResponse:
    body = {"id": uuid.uuid4().hex, "code": code, "message": message, "links": []}
    return JSONResponse(body, status_code=status, headers=headers)


def openeo_error_response(exc: OpenEOError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status)


def install_error_handlers(app: FastAPI) -> None:
    """Map OpenEOError, framework HTTP errors, validation errors and crashes to openEO JSON."""

    @app.exception_handler(OpenEOError)
    async def _openeo(_: Request, exc: OpenEOError) -> JSONResponse:
        if exc.status >= 500:
            logger.error("openEO error %s: %s", exc.code, exc.message)
        return openeo_error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(
            exc.status_code, "Internal" if exc.status_code >= 500 else "BadRequest"
        )
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = "Resource not found."
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "JsonInvalid", "The request body is not valid JSON.")
        details = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in errors[:5]
        )
        return error_response(400, "BadRequest", f"Invalid request: {details}")

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(500, "Internal", "Server error: an unexpected error occurred.")
