"""Pydantic models of the openEO payloads this API reads and writes, and body parsing.

Request bodies are parsed by hand (:func:`process_body`) rather than by FastAPI so that each
failure gets the openEO error code that fits it (``JsonInvalid``, ``ProcessGraphMissing``,
``ProcessGraphInvalid``, ...) instead of one generic validation error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from openeo_dedl.errors import (
    BadRequest,
    BillingPlanInvalid,
    BudgetInvalid,
    JsonInvalid,
    OpenEOError,
    PayloadTooLarge,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessGraphMissing,
)
from openeo_dedl.planning.limits import exceeded

# Extension field carrying the planner's explanation (sites, partitions, transfers, bytes).
PLAN_FIELD = "openeo-dedl:plan"


class _Sparse(BaseModel):
    """A model whose unset optional fields (None) are left out of the JSON.

    The openEO schemas declare most optional fields as non-nullable, so ``"title": null``
    would be invalid where a missing ``title`` is fine.
    """

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class Link(_Sparse):
    rel: str
    href: str
    type: str | None = None
    title: str | None = None


class Endpoint(BaseModel):
    path: str
    methods: list[str]


class FederationBackend(_Sparse):
    """One site, as a back-end of the openEO Federation extension's ``federation`` object."""

    url: str
    title: str | None = None
    description: str | None = None
    status: Literal["online", "offline"] | None = None
    last_status_check: str | None = None
    last_successful_check: str | None = None
    experimental: bool | None = None
    deprecated: bool | None = None


class Capabilities(_Sparse):
    api_version: str
    backend_version: str
    stac_version: str
    type: Literal["Catalog"] = "Catalog"
    id: str
    title: str
    description: str
    production: bool
    conformsTo: list[str]  # noqa: N815 - openEO/STAC field name
    endpoints: list[Endpoint]
    federation: dict[str, FederationBackend] | None = None
    links: list[Link]


class ApiInstance(BaseModel):
    url: str
    api_version: str
    production: bool


class WellKnown(BaseModel):
    versions: list[ApiInstance]


class Conformance(BaseModel):
    conformsTo: list[str]  # noqa: N815 - OGC field name


class BasicAccessToken(BaseModel):
    access_token: str = Field(description="Send as 'Authorization: Bearer basic//<token>'.")
    user_id: str


class UserData(BaseModel):
    """``GET /me``; budget and storage are null: no limits apply (the spec asks for null)."""

    user_id: str
    name: str
    budget: float | None = None
    storage: dict[str, int] | None = None
    links: list[Link] = Field(default_factory=list)


class ErrorModel(_Sparse):
    id: str | None = None
    code: str
    message: str
    links: list[Link] = Field(default_factory=list)

    @classmethod
    def of(cls, error: OpenEOError) -> ErrorModel:
        return cls.model_validate(error.to_dict())


class ValidationResult(_Sparse):
    """The spec's validation result plus, for a valid process, where it would run."""

    model_config = ConfigDict(populate_by_name=True)

    errors: list[ErrorModel]
    plan: dict[str, Any] | None = Field(default=None, serialization_alias=PLAN_FIELD)


# The spec's budget: a number >= 0. Not NaN nor an infinity (Python's json reads NaN, Infinity
# and 1e999; they are no amounts, and a database stores them as null), not a string.
Budget = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]


class ProcessGraphWithMetadata(BaseModel):
    """A user-defined process; only ``process_graph`` is checked here, the rest passes through."""

    model_config = ConfigDict(extra="allow")

    process_graph: dict[str, Any]


class SyncResultRequest(BaseModel):
    """Body of ``POST /result``. ``budget`` and ``plan`` are accepted and ignored (no billing)."""

    model_config = ConfigDict(extra="allow")

    process: ProcessGraphWithMetadata
    budget: Budget | None = None
    plan: str | None = None
    log_level: Literal["error", "warning", "info", "debug"] | None = None

    def process_dict(self) -> dict[str, Any]:
        """The process exactly as the client sent it (extra fields included)."""
        return self.process.model_dump(exclude_unset=True)


_MISSING_GRAPH = "Invalid process specified. It doesn't contain a process graph."


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) once it is longer than ``limit`` bytes: before
    reading when the client says so (Content-Length), else as soon as it has sent more."""
    too_large = PayloadTooLarge(
        f"The request body is larger than limits.max_body_bytes = {limit} bytes."
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def process_body(request: Request) -> Any:
    """FastAPI dependency: the JSON request body of a process-carrying request.

    Parsed whatever the Content-Type says (curl without ``-H`` sends form encoding); an empty
    body means no process at all. Bodies nested deeper than ``limits.max_json_depth`` are
    ``JsonInvalid`` and integers of more than ``limits.max_integer_bits`` are
    ``ProcessGraphComplexity``, whatever the endpoint: deeper structures would overflow
    recursive code further on, and Python refuses to read integers of over 4300 digits.
    """
    limits = request.app.state.settings.limits
    raw = await _read_body(request, limits.max_body_bytes)
    if not raw.strip():
        raise ProcessGraphMissing(f"{_MISSING_GRAPH} The request body is empty.")
    # A decimal digit carries log2(10) bits; one digit more for rounding.
    max_digits = int(limits.max_integer_bits / 3.3219280948873626) + 1

    def parse_int(text: str) -> int:
        digits = len(text) - (text[0] == "-")
        if digits > max_digits:
            raise ProcessGraphComplexity(
                f"An integer in the request body has {digits} digits, more than "
                f"limits.max_integer_bits = {limits.max_integer_bits} allows."
            )
        return int(text)

    try:
        body = json.loads(raw, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise JsonInvalid(
            f"The request body is not valid JSON: {exc.msg} (line {exc.lineno}, column "
            f"{exc.colno})."
        ) from None
    except UnicodeDecodeError:
        raise JsonInvalid("The request body is not UTF-8 encoded JSON.") from None
    except RecursionError:
        raise JsonInvalid(_TOO_DEEP.format(limits.max_json_depth)) from None
    # /validation answers even such graphs with 200 and the error in its list (its spec).
    refuse_early = not request.url.path.endswith("/validation")
    if refuse_early:
        _refuse_too_many_nodes(body, limits.max_nodes)
    max_list = limits.max_array_length if refuse_early else None
    if _json_depth(body, limits.max_json_depth, max_list) > limits.max_json_depth:
        raise JsonInvalid(_TOO_DEEP.format(limits.max_json_depth))
    return body


def _refuse_too_many_nodes(body: Any, max_nodes: int) -> None:
    """A top-level process graph with more nodes than ``limits.max_nodes`` is refused before
    anything walks the whole body (its callbacks only add nodes): a 5 MB graph of 60,000
    nodes is answered in the time it takes to parse it."""
    process = body.get("process", body) if isinstance(body, dict) else None
    graph = process.get("process_graph") if isinstance(process, dict) else None
    if isinstance(graph, dict) and len(graph) > max_nodes:
        raise exceeded("max_nodes", len(graph), max_nodes, "The number of process graph nodes")


_TOO_DEEP = "The request body is nested too deeply: more than limits.max_json_depth = {} levels."


def _json_depth(value: Any, limit: int, max_list: int | None = None) -> int:
    """Nesting depth of arrays and objects in ``value``, counted up to ``limit + 1``; with
    ``max_list``, an array longer than that is refused (``limits.max_array_length``) before
    its elements are looked at.

    Iterative (the body may be nested far beyond Python's recursion limit), linear in size.
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            if max_list is not None and len(item) > max_list:
                raise exceeded("max_array_length", len(item), max_list, "The length of an array")
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return deepest


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate (sent as \ud800 in the JSON)
        return True
    return False


def has_unstorable_string(value: Any) -> bool:
    """Whether a string (or object key) anywhere in the JSON ``value`` cannot be stored: it
    has a NUL character or an unpaired surrogate (JSON's ``\\u0000``, ``\\ud800``).

    PostgreSQL cannot store NUL in text (nor ``\\u0000`` in JSON), and neither database driver
    can encode a surrogate as UTF-8. Iterative: request bodies may be nested deeply.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _unstorable(item):
                return True
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _unstorable(key):
                    return True
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return False


_UNSTORABLE = "strings must not contain NUL (U+0000) characters nor unpaired surrogates"


def refuse_unstorable_strings(body: Any) -> None:
    """Raise a 400 error when a request body to store has a string :func:`has_unstorable_string`
    finds.

    ``ProcessGraphInvalid`` for one in the process (graph), ``BadRequest`` naming the field for
    any other property.
    """
    if not has_unstorable_string(body):
        return
    if isinstance(body, dict):
        for key, value in body.items():
            if key in ("process", "process_graph") and has_unstorable_string(value):
                raise ProcessGraphInvalid(f"Invalid process graph specified: {_UNSTORABLE}.")
        for key, value in body.items():
            if has_unstorable_string(key) or has_unstorable_string(value):
                name = key.encode("ascii", "backslashreplace").decode()[:64]
                raise BadRequest(f"Invalid value for '{name}': {_UNSTORABLE}.")
    raise BadRequest(f"Strings in the request body: {_UNSTORABLE}.")


def parse_sync_request(body: Any) -> SyncResultRequest:
    """``body`` as a :class:`SyncResultRequest`, or the openEO error that says what is wrong."""
    try:
        return SyncResultRequest.model_validate(body)
    except ValidationError as exc:
        raise _sync_request_error(exc) from None


def billing_error(loc: tuple, error: dict) -> OpenEOError | None:
    """The openEO error of an invalid ``budget`` or ``plan`` (jobs and /result), else None."""
    if loc == ("budget",):
        return BudgetInvalid(f"The budget must be a finite number >= 0: {error['msg']}")
    if loc == ("plan",):
        return BillingPlanInvalid(f"The billing plan is invalid: {error['msg']}")
    return None


def _sync_request_error(exc: ValidationError) -> OpenEOError:
    errors = exc.errors()
    # Report a problem with the process first: it is what the client most needs to fix.
    error = next(
        (e for e in errors if tuple(e.get("loc", ()))[:1] in ((), ("process",))), errors[0]
    )
    loc = tuple(error.get("loc", ()))
    if loc in ((), ("process",)) or (
        loc == ("process", "process_graph") and error["type"] == "missing"
    ):
        return ProcessGraphMissing(
            f'{_MISSING_GRAPH} Send {{"process": {{"process_graph": {{...}}}}}}.'
        )
    if loc[:2] == ("process", "process_graph"):
        return ProcessGraphInvalid("Invalid process graph specified: it must be a JSON object.")
    field = ".".join(str(p) for p in loc)
    return billing_error(loc, error) or BadRequest(f"Invalid request: {field}: {error['msg']}")
