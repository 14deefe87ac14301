"""Absolute URLs of this API, for links in responses."""

from __future__ import annotations

from fastapi import Request

API_PREFIX = "/openeo/1.2"


def base_url(request: Request) -> str:
    """Root URL of the server, from settings.public_url or the request."""
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def api_url(request: Request, path: str = "/") -> str:
    return f"{base_url(request)}{API_PREFIX}{path}"
