"""Request bodies of the batch job endpoints (``POST /jobs``, ``PATCH /jobs/{id}``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openeo_dedl.api.models import (
    Budget,
    ProcessGraphWithMetadata,
    billing_error,
    refuse_unstorable_strings,
)
from openeo_dedl.errors import BadRequest, OpenEOError, ProcessGraphInvalid, ProcessGraphMissing

LogLevel = Literal["error", "warning", "info", "debug"]
# The column's length (jobs.billing_plan); there are no billing plans, so nothing longer is one.
MAX_PLAN_LENGTH = 64
Plan = Annotated[str, Field(max_length=MAX_PLAN_LENGTH)]


class JobCreateRequest(BaseModel):
    """Body of ``POST /jobs``; back-end specific extra properties are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    process: ProcessGraphWithMetadata
    title: str | None = None
    description: str | None = None
    plan: Plan | None = None
    budget: Budget | None = None
    log_level: LogLevel = "info"


class JobUpdateRequest(BaseModel):
    """Body of ``PATCH /jobs/{id}``: only the properties sent are changed."""

    model_config = ConfigDict(extra="allow")

    process: ProcessGraphWithMetadata | None = None
    title: str | None = None
    description: str | None = None
    plan: Plan | None = None
    budget: Budget | None = None
    log_level: LogLevel | None = None

    def changes(self) -> dict[str, Any]:
        """The sent properties as job record fields."""
        sent = self.model_fields_set & {
            "process", "title", "description", "plan", "budget", "log_level",
        }  # fmt: skip
        out: dict[str, Any] = {}
        for name in sent:
            value = getattr(self, name)
            if name == "process":
                if value is None:
                    raise ProcessGraphMissing("The process of a batch job cannot be removed.")
                out["process"] = value.model_dump(exclude_unset=True)
            elif name == "plan":
                out["billing_plan"] = value
            elif name == "log_level":
                out["log_level"] = value or "info"  # null: back to the default
            else:
                out[name] = value
        return out


def _error(exc: ValidationError) -> OpenEOError:
    error = exc.errors()[0]
    loc = tuple(error.get("loc", ()))
    if (
        loc in ((), ("process",))
        or loc == ("process", "process_graph")
        and error["type"] == "missing"
    ):
        return ProcessGraphMissing(
            "Invalid process specified. It doesn't contain a process graph: send "
            '{"process": {"process_graph": {...}}}.'
        )
    if loc[:2] == ("process", "process_graph"):
        return ProcessGraphInvalid("Invalid process graph specified: it must be a JSON object.")
    field = ".".join(str(p) for p in loc)
    return billing_error(loc, error) or BadRequest(f"Invalid value for '{field}': {error['msg']}.")


def parse_job_create(body: Any) -> JobCreateRequest:
    try:
        payload = JobCreateRequest.model_validate(body)
    except ValidationError as exc:
        raise _error(exc) from None
    refuse_unstorable_strings(body)
    return payload


def parse_job_update(body: Any) -> JobUpdateRequest:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    try:
        payload = JobUpdateRequest.model_validate(body)
    except ValidationError as exc:
        raise _error(exc) from None
    refuse_unstorable_strings(body)
    return payload
