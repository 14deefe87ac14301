"""The openEO API versions this server speaks, each under its own prefix, and how a route knows
which one a request came in on.

Every versioned router is mounted once per version (``api/app.py``) with the dependency
:func:`serving` of that version, which records it on the request before the route runs. A route
reads it with :func:`api_version` (or declares a parameter ``version: Version``) and branches
with ``version.at_least(V1_3)``; answers of older versions stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from openeo_dedl.execution.versions import PROCESSES_RC1, PROCESSES_RC2


@dataclass(frozen=True)
class ApiVersion:
    """One served openEO API version: ``number`` as in ``api_version`` (``"1.3.0"``)."""

    number: str

    @property
    def parts(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.number.split("."))

    @property
    def segment(self) -> str:
        """The path segment of the prefix: major.minor (``"1.3"``)."""
        return ".".join(self.number.split(".")[:2])

    @property
    def prefix(self) -> str:
        return f"/openeo/{self.segment}"

    @property
    def conformance(self) -> str:
        """The spec's own conformance class of this version."""
        return f"https://api.openeo.org/{self.number}"

    def at_least(self, other: ApiVersion) -> bool:
        return self.parts >= other.parts


V1_2 = ApiVersion("1.2.0")
V1_3 = ApiVersion("1.3.0")


def processes_version(version: ApiVersion) -> str:
    """The openeo-processes version served and run on ``version`` (``execution/versions.py``):
    2.0.0-rc.2 from 1.3 on; 1.2 keeps the draft the compliance suite checks."""
    return PROCESSES_RC2 if version.at_least(V1_3) else PROCESSES_RC1


# Oldest first; the last one is what a client without a version preference gets.
VERSIONS: tuple[ApiVersion, ...] = (V1_2, V1_3)
LATEST = VERSIONS[-1]
BY_SEGMENT = {v.segment: v for v in VERSIONS}

_STATE_KEY = "api_version"


def serving(version: ApiVersion):
    """The router dependency that marks a request as one of ``version``."""

    def mark(request: Request) -> None:
        setattr(request.state, _STATE_KEY, version)

    return mark


def api_version(request: Request) -> ApiVersion:
    """The version of the API the request came in on; :data:`LATEST` outside the versioned
    prefixes (``/.well-known/openeo``, ``/``)."""
    return getattr(request.state, _STATE_KEY, LATEST)


# A route parameter ``version: Version`` receives the request's version.
Version = Annotated[ApiVersion, Depends(api_version)]
