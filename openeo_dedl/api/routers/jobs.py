"""Batch jobs (``/jobs``...), their results, logs and estimates; signed result downloads.

Thin: each route translates HTTP into a call on the :class:`~openeo_dedl.jobs.JobService`
(``app.state.jobs``) and its answer into openEO JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from openeo_dedl.api.auth import User, current_user
from openeo_dedl.api.deps import federation_missing
from openeo_dedl.api.job_models import parse_job_create, parse_job_update
from openeo_dedl.api.json_body import json_body
from openeo_dedl.api.paging import Page, page_params, paginate
from openeo_dedl.api.ranges import file_response
from openeo_dedl.api.urls import api_url
from openeo_dedl.api.versions import V1_3, ApiVersion, Version, api_version, processes_version
from openeo_dedl.errors import BadRequest
from openeo_dedl.execution.versions import marked, unmarked
from openeo_dedl.formats import bounded_decimal, rfc3339
from openeo_dedl.jobs import (
    LOG_LEVELS,
    JobFailed,
    JobInfo,
    JobService,
    LogRecord,
    UrlSigner,
    result_item,
)

router = APIRouter()
# Signed download links: no token (the signature is the credential), not listed in capabilities.
downloads_router = APIRouter()

UserDep = Annotated[User, Depends(current_user)]


def service(request: Request) -> JobService:
    return request.app.state.jobs


def signer(request: Request) -> UrlSigner:
    return request.app.state.url_signer


def job_json(job: JobInfo, request: Request, full: bool) -> dict[str, Any]:
    """A job as the openEO ``batch_job`` schema has it (``full``: with process and links)."""
    doc: dict[str, Any] = {
        "id": job.id,
        "title": job.title,
        "description": job.description,
        "status": job.status,
        # The spec: created/queued jobs only 0, finished jobs only 100.
        "progress": 0.0 if job.status in ("created", "queued") else job.progress,
        "created": rfc3339(job.created),
        "updated": rfc3339(job.updated),
        **_run_times(job, api_version(request)),
        "plan": job.billing_plan,
        "costs": job.costs,
        "budget": job.budget,
    }
    if job.usage:
        doc["usage"] = job.usage.metrics(job.wall_seconds)
    if job.sites:
        # Federation extension: the back-ends (sites) that generated the result.
        doc["federation:backends"] = job.sites
    if full:
        doc["process"] = unmarked(job.process)
        doc["log_level"] = job.log_level
        # The processing options asked for (GET /processing_parameters), as they were sent.
        doc.update(job.options or {})
        base = api_url(request, f"/jobs/{job.id}")
        links = [{"rel": "monitor", "href": f"{base}/logs", "type": "application/json",
                  "title": "Batch job logs"}]  # fmt: skip
        if job.status in ("finished", "error", "canceled"):
            links.append(
                {"rel": "result", "href": f"{base}/results", "type": "application/json",
                 "title": "Batch job results"}
            )  # fmt: skip
        doc["links"] = links
        if job.error:
            doc["openeo-dedl:error"] = job.error
        if job.usage:
            doc["openeo-dedl:usage"] = job.usage.to_dict()
    return {k: v for k, v in doc.items() if v is not None}


def _run_times(job: JobInfo, version: ApiVersion) -> dict[str, str]:
    """``queued`` and ``started`` (API 1.3; 1.2 answers stay without them)."""
    if not version.at_least(V1_3):
        return {}
    return {name: rfc3339(when) for name, when in job.run_times().items()}


@router.post("/jobs", status_code=201)
def create_job(
    request: Request, user: UserDep, version: Version, body: Annotated[Any, Depends(json_body)]
) -> Response:
    """Store a new batch job (status ``created``), to run with the openeo-processes version of
    the request's API version."""
    payload = parse_job_create(body)
    options = request.app.state.backend.run_options(
        body, "job", user.user_id, strict=api_version(request).at_least(V1_3)
    )
    job = service(request).create(
        user.user_id,
        process=marked(payload.process.model_dump(exclude_unset=True), processes_version(version)),
        title=payload.title,
        description=payload.description,
        billing_plan=payload.plan,
        budget=payload.budget,
        log_level=payload.log_level,
        options=options.to_dict() or None,
    )
    location = api_url(request, f"/jobs/{job.id}")
    return Response(status_code=201, headers={"Location": location, "OpenEO-Identifier": job.id})


@router.get("/jobs")
def list_jobs(request: Request, user: UserDep, page: Annotated[Page, Depends(page_params)]) -> dict:
    """The user's jobs, newest first (without their processes, as the spec recommends)."""
    jobs, links = paginate(service(request).list(user.user_id), page, request, "/jobs")
    return {
        "jobs": [job_json(j, request, full=False) for j in jobs],
        "links": links,
        **federation_missing(request.app.state.backend),
    }


@router.get("/jobs/{job_id}")
def describe_job(request: Request, user: UserDep, job_id: str) -> dict:
    return job_json(service(request).get(user.user_id, job_id), request, full=True)


@router.patch("/jobs/{job_id}", status_code=204)
def update_job(
    request: Request,
    user: UserDep,
    version: Version,
    job_id: str,
    body: Annotated[Any, Depends(json_body)],
) -> Response:
    changes = parse_job_update(body).changes()
    checked = request.app.state.backend.run_options(
        body, "job", user.user_id, strict=api_version(request).at_least(V1_3)
    ).to_dict()
    sent = [name for name in ("placement", "workers") if name in body]
    if sent:
        # null or the default: back to the default (dropped from what is kept).
        changes["options"] = {name: checked.get(name) for name in sent}
    if "process" in changes:
        changes["process"] = marked(changes["process"], processes_version(version))
    service(request).update(user.user_id, job_id, **changes)
    return Response(status_code=204)


@router.delete("/jobs/{job_id}", status_code=204)
def delete_job(request: Request, user: UserDep, job_id: str) -> Response:
    service(request).delete(user.user_id, job_id)
    return Response(status_code=204)


@router.post("/jobs/{job_id}/results", status_code=202)
def start_job(request: Request, user: UserDep, job_id: str) -> Response:
    service(request).start_job(user.user_id, job_id)
    return Response(status_code=202)


@router.delete("/jobs/{job_id}/results", status_code=204)
def cancel_job(request: Request, user: UserDep, job_id: str) -> Response:
    service(request).cancel(user.user_id, job_id)
    return Response(status_code=204)


def _flag(value: str | None) -> bool:
    # allowEmptyValue: "?partial" and "?partial=" mean true.
    if value is None:
        return False
    if value.strip().lower() in ("", "true", "1", "yes"):
        return True
    if value.strip().lower() in ("false", "0", "no"):
        return False
    raise BadRequest("Query parameter 'partial' must be true or false.")


@router.get("/jobs/{job_id}/results")
def job_results(
    request: Request,
    user: UserDep,
    job_id: str,
    partial: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """The results as a STAC Item whose assets are signed, expiring download URLs."""
    jobs = service(request)
    try:
        job, status = jobs.results_of(user.user_id, job_id, _flag(partial))
    except JobFailed as failed:
        entry = failed.entry
        body = log_json(entry, api_version(request)) if entry else {
            "id": "0", "level": "error", "message": "The batch job failed.",
        }  # fmt: skip
        return JSONResponse(body, status_code=424)
    return _results_document(request, job, status)


# Name of the signed copy of the results document (the STAC Item's `canonical` link); result
# files are named result.<ext>, so it cannot clash with an asset.
RESULTS_DOCUMENT = "item.json"


def _results_document(request: Request, job: JobInfo, status: str) -> JSONResponse:
    """The job's results as a STAC Item; every href is signed and expires."""
    lifetime = request.app.state.settings.jobs.download_url_seconds
    run = job.run
    expires_at: list[int] = []

    def href(name: str) -> str:
        expires, signature = signer(request).sign(job.id, name, lifetime, run)
        expires_at.append(expires)
        query = urlencode({"expires": expires, "signature": signature})
        return api_url(request, f"/download/{job.id}/{quote(name)}") + f"?{query}"

    base = api_url(request, f"/jobs/{job.id}")
    links = [
        # The same document without a token, for STAC tools (the spec recommends it).
        {"rel": "canonical", "href": href(RESULTS_DOCUMENT), "type": "application/geo+json"},
        {"rel": "self", "href": f"{base}/results", "type": "application/json"},
        {"rel": "monitor", "href": f"{base}/logs", "type": "application/json"},
    ]
    # The expiry is known once the hrefs are made: build, then fill it in.
    doc = result_item(job, status, href, links, expires=None)
    doc["properties"].update(_run_times(job, api_version(request)))
    if job.results:
        doc["properties"]["expires"] = rfc3339(datetime.fromtimestamp(min(expires_at), UTC))
    return JSONResponse(doc, headers={"OpenEO-Costs": "0"})


@downloads_router.get("/download/{job_id}/{name}")
def download(
    request: Request,
    job_id: str,
    name: str,
    expires: Annotated[str, Query()] = "",
    signature: Annotated[str, Query()] = "",
) -> Response:
    """A result file (or the results document) by signed link: works without a token until
    the link expires. ``HEAD`` and a single byte ``Range`` are answered too."""
    jobs = service(request)
    job = jobs.find(job_id)
    run = job.run if job is not None else ""
    signer(request).check(job_id, name, expires, signature, run)
    if name == RESULTS_DOCUMENT and job is not None:
        status = job.status if job.status in ("finished", "error", "canceled") else "running"
        return _results_document(request, job, status)
    file = jobs.download(job_id, name)
    # HEAD and byte ranges: map viewers read GeoTIFF results piecewise (api/ranges.py).
    return file_response(request, file.size, file.open, file.media_type, file.name)


def log_json(entry: LogRecord, version: ApiVersion) -> dict[str, Any]:
    """A log entry as openEO JSON (``stacktrace`` since API 1.3)."""
    doc: dict[str, Any] = {
        "id": str(entry.id),
        "level": entry.level,
        "message": entry.message,
        "time": rfc3339(entry.time),
    }
    if entry.code:
        doc["code"] = entry.code
    if entry.data is not None:
        doc["data"] = entry.data
    if entry.stacktrace and version.at_least(V1_3):
        doc["stacktrace"] = entry.stacktrace
    return doc


# Log entry ids are 64-bit integers (BIGINT); longer numbers are never parsed (Python refuses
# to convert more than 4300 digits) nor sent to the database (SQLite and PostgreSQL overflow).
_MAX_LOG_ID = 2**63 - 1
_MAX_DIGITS = len(str(_MAX_LOG_ID))


def _limit(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    limit = bounded_decimal(value.strip(), _MAX_LOG_ID)
    if limit is None or limit < 1:
        raise BadRequest("Query parameter 'limit' must be an integer >= 1.")
    # More entries than any job can have: the same as no limit.
    return None if limit >= _MAX_LOG_ID else limit


def _offset(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    # An offset past the largest possible id: no entry follows it (an empty page).
    offset = bounded_decimal(value.strip(), _MAX_LOG_ID)
    if offset is None:
        raise BadRequest("Query parameter 'offset' must be the id of a log entry.")
    return offset


@router.get("/jobs/{job_id}/logs")
def job_logs(
    request: Request,
    user: UserDep,
    job_id: str,
    offset: Annotated[str | None, Query()] = None,
    level: Annotated[str | None, Query()] = None,
    limit: Annotated[str | None, Query()] = None,
) -> dict:
    """Log entries after ``offset`` at ``level`` or above (``limit`` pages them)."""
    level = (level or "").strip().lower() or "debug"
    if level not in LOG_LEVELS:
        raise BadRequest(f"Query parameter 'level' must be one of {', '.join(LOG_LEVELS)}.")
    count = _limit(limit)
    logs = service(request).logs(user.user_id, job_id, _offset(offset), level, count)
    links = []
    if logs.more and logs.entries:
        query = urlencode({"offset": logs.entries[-1].id, "level": level, "limit": count})
        links.append(
            {"rel": "next", "href": api_url(request, f"/jobs/{job_id}/logs") + f"?{query}",
             "type": "application/json"}
        )  # fmt: skip
    version = api_version(request)
    entries = [log_json(e, version) for e in logs.entries]
    return {"level": logs.level, "logs": entries, "links": links}


@router.get("/jobs/{job_id}/estimate")
def estimate_job(request: Request, user: UserDep, job_id: str) -> dict:
    """Estimated duration and size, and the plan (``openeo-dedl:plan``) behind them."""
    return service(request).estimate(user.user_id, job_id)
