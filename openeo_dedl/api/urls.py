"""Absolute URLs of this API, for links in responses."""

from __future__ import annotations

from fastapi import Request

from openeo_dedl.api.versions import ApiVersion, api_version


def base_url(request: Request) -> str:
    """Root URL of the server, from settings.public_url or the request."""
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def api_url(request: Request, path: str = "/", version: ApiVersion | None = None) -> str:
    """``path`` under the prefix of ``version`` (default: the version the request came in on,
    so that links of a 1.2 answer stay in 1.2)."""
    prefix = (version or api_version(request)).prefix
    return f"{base_url(request)}{prefix}{path}"
