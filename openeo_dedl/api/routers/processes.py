"""Process discovery: ``GET /processes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from openeo_dedl.api.deps import federation_missing
from openeo_dedl.api.paging import Page, page_params
from openeo_dedl.api.versions import V1_3, Version, processes_version

router = APIRouter()


@router.get("/processes")
def list_processes(
    request: Request, version: Version, page: Annotated[Page, Depends(page_params)]
) -> dict:
    """Every predefined process that really runs here, whole whatever the ``limit``.

    This list is not paginated (the API makes pagination optional; back-ends without it "MUST
    return all resources"): the openEO Web Editor asks ``?limit=50`` and never follows ``next``
    (js-client ``listProcesses``), so a paged list hid most processes from it. ``page`` is
    still parsed, so a malformed ``limit`` stays a 400. A plain ``def`` (worker thread): the
    first call loads the process registry, which is slow. The specs are those of the
    openeo-processes version of the request's API version.
    """
    del page  # validated only (see above)
    backend = request.app.state.backend
    processes = processes_version(version)
    # Federation extension: every process runs at every site.
    sites = [site.name for site in backend.settings.sites]
    specs = [{**spec, "federation:backends": sites} for spec in backend.process_specs(processes)]
    doc: dict = {"processes": specs, "links": [], **federation_missing(backend)}
    if version.at_least(V1_3):
        doc = {"version": processes, **doc}  # API 1.3 names the openeo-processes release
    return doc
