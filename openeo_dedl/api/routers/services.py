"""Secondary web services: ``GET /services`` and ``GET /services/{service_id}``.

None are offered (``GET /service_types`` is empty), so a user has none: the list is empty and no
service exists. Served rather than left out so that clients that list a user's services (the
openEO Python client's ``list_services``, the Web Editor) get the spec's answers: 401 without a
token, an empty list with one. Creating one is not offered (no ``POST``: 405).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from openeo_dedl.api.auth import User, current_user
from openeo_dedl.errors import ServiceNotFound

router = APIRouter()

CurrentUser = Annotated[User, Depends(current_user)]


@router.get("/services")
def list_services(user: CurrentUser) -> dict:
    """The user's secondary web services: none."""
    return {"services": [], "links": []}


@router.get("/services/{service_id}")
def describe_service(service_id: str, user: CurrentUser) -> dict:
    """No service exists: 404 ``ServiceNotFound``."""
    shown = service_id[:64].encode("ascii", "backslashreplace").decode()
    raise ServiceNotFound(f"Service '{shown}' does not exist.")
