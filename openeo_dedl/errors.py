"""openEO errors shared by all layers.

Every layer raises :class:`OpenEOError` through one of its subclasses (one per code); the API
layer turns it into the openEO error JSON ``{id, code, message, links}`` with the class's HTTP
status. The codes and statuses are those of the openEO API's ``errors.json``; the exceptions the
openeo-processes specs list per process are :class:`ProcessException` (400); codes of our own,
and the two statuses we answer differently from ``errors.json``, are listed in
docs/architecture.md ("Errors"). tests/test_errors.py checks all three against the specs.
"""

from __future__ import annotations

import uuid


class OpenEOError(Exception):
    """An error that the user should see, with an openEO error code and HTTP status.

    A subclass's ``code`` is its class name unless it sets one; ``status`` is its HTTP status.
    """

    code: str = "Internal"
    status: int = 500
    # Where a run failed inside a process: the traceback that led here (execution/executor.py).
    stacktrace: str | None = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            # Only for HTTP errors the framework raises with a status of its own.
            self.status = status
        self.id = uuid.uuid4().hex

    def to_dict(self) -> dict:
        """The openEO error JSON (without the HTTP status)."""
        return {"id": self.id, "code": self.code, "message": self.message, "links": []}


def error_classes() -> dict[str, type[OpenEOError]]:
    """Code -> class, for every error class (tests/test_errors.py checks them)."""
    found: dict[str, type[OpenEOError]] = {}
    todo = list(OpenEOError.__subclasses__())
    while todo:
        cls = todo.pop()
        found[cls.code] = cls
        todo.extend(cls.__subclasses__())
    return found


def restore(code: str, message: str, status: int) -> OpenEOError:
    """An error recorded elsewhere (another process, the database) as it was raised: of the
    class of ``code`` when there is one, else a plain one with ``code`` and ``status``."""
    cls = error_classes().get(code)
    if cls is not None and cls is not ProcessException:
        return cls(message, status=None if status == cls.status else status)
    error = OpenEOError(message, status=status)
    error.code = code
    return error


# --- errors.json: General ------------------------------------------------------------------


class Internal(OpenEOError):
    """A bug or an unexpected failure of the server (logged with its traceback)."""

    status = 500


class NotFound(OpenEOError):
    status = 404


class FeatureUnsupported(OpenEOError):
    status = 501


class UnsupportedApiVersion(OpenEOError):
    status = 404


class RequestTimeout(OpenEOError):
    status = 408


# --- errors.json: EO data, processes, process graphs ------------------------------------------


class CollectionNotFound(OpenEOError):
    status = 404


class ProcessUnsupported(OpenEOError):
    status = 400


class ProcessInvalid(OpenEOError):
    status = 400


class PredefinedProcessExists(OpenEOError):
    status = 400


class ProcessGraphMissing(OpenEOError):
    status = 400


class ProcessGraphInvalid(OpenEOError):
    status = 400


class ProcessGraphComplexity(OpenEOError):
    status = 400


class ProcessGraphNotFound(OpenEOError):
    status = 404


class ProcessParameterRequired(OpenEOError):
    status = 400


class ProcessParameterInvalid(OpenEOError):
    status = 400


class ProcessParameterUnsupported(OpenEOError):
    status = 400


class ProcessException(OpenEOError):
    """One of the ``exceptions`` an openeo-processes spec lists for its process (e.g.
    ``DimensionNotAvailable``): the process refused the user's values."""

    status = 400

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# --- errors.json: batch jobs, billing, files, services ---------------------------------------


class BudgetInvalid(OpenEOError):
    status = 400


class BillingPlanInvalid(OpenEOError):
    status = 400


class JobNotFound(OpenEOError):
    status = 404


class JobLocked(OpenEOError):
    status = 400


class JobNotFinished(OpenEOError):
    status = 400


class ResultLinkExpired(OpenEOError):
    status = 410


class FileNotFound(OpenEOError):
    status = 404


class FilePathInvalid(OpenEOError):
    status = 400


class FileOperationUnsupported(OpenEOError):
    status = 400


class FileContentInvalid(OpenEOError):
    status = 400


class FileSizeExceeded(OpenEOError):
    # errors.json says 400; 413 (Payload Too Large) tells HTTP clients and proxies what happened.
    status = 413


class ContentTypeInvalid(OpenEOError):
    # errors.json says 400; 415 (Unsupported Media Type) is what HTTP says of it.
    status = 415


class StorageQuotaExceeded(OpenEOError):
    status = 400


class StorageFailure(OpenEOError):
    status = 500


class ServiceNotFound(OpenEOError):
    status = 404


# --- errors.json: accounts -------------------------------------------------------------------


class AuthenticationRequired(OpenEOError):
    status = 401


class AuthenticationSchemeInvalid(OpenEOError):
    status = 403


class TokenInvalid(OpenEOError):
    status = 403


class CredentialsInvalid(OpenEOError):
    status = 403


class PermissionsInsufficient(OpenEOError):
    status = 403


# --- Ours (openEO allows own codes; docs/architecture.md "Errors" lists them) -----------------


class BadRequest(OpenEOError):
    """A malformed request that no better openEO code fits."""

    status = 400


class ProcessingParameterInvalid(OpenEOError):
    """A processing option (``GET /processing_parameters``) that is unknown or out of range."""

    status = 400


class WorkspaceNotFound(OpenEOError):
    """No configured workspace has this id (``GET /workspaces/{id}``, ``export_workspace``)."""

    status = 404


class JsonInvalid(OpenEOError):
    """The request body is not JSON (or too deeply nested to read)."""

    status = 400


class MethodNotAllowed(OpenEOError):
    status = 405


class NotAcceptable(OpenEOError):
    status = 406


class PayloadTooLarge(OpenEOError):
    """A JSON request body larger than limits.max_body_bytes."""

    status = 413


class RangeNotSatisfiable(OpenEOError):
    """A download's ``Range`` lies outside the file (HTTP 416)."""

    status = 416


class UriTooLong(OpenEOError):
    status = 414


class RequestHeaderFieldsTooLarge(OpenEOError):
    status = 431


class Canceled(OpenEOError):
    """The client went away before its synchronous request was answered (nginx's 499)."""

    status = 499


class ServiceUnavailable(OpenEOError):
    """No worker took a synchronous request in time, or an OIDC provider did not answer."""

    status = 503


class CatalogUnavailable(OpenEOError):
    """A STAC API catalog timed out or failed (5xx, unreadable answer); the message names it."""

    status = 503


class FormatUnsupported(OpenEOError):
    """save_result or a run asked for an output format that is not offered (the code of
    errors.json before API 1.2)."""

    status = 400


class NoDataFound(OpenEOError):
    """load_collection's extents and filters select no data of the collection."""

    status = 400


class ProcessParameterMissing(OpenEOError):
    """A ``from_parameter`` reference to a parameter that the run does not have."""

    status = 400


class DataCubeShapeMismatch(OpenEOError):
    """The callback of apply_neighborhood returned a cube of another shape than its chunk."""

    status = 400


class ResultLinkInvalid(OpenEOError):
    """A signed result link that was altered or belongs to another run."""

    status = 403


class JobTimeout(OpenEOError):
    """A batch job ran past jobs.timeout_seconds (errors.json has no code for it; the spec's
    examples use this one)."""

    status = 500


class MemoryLimitExceeded(OpenEOError):
    """The worker process running a request passed workers.max_memory_bytes and was stopped."""

    status = 400


class WorkerLost(OpenEOError):
    """The worker process running a request stopped before it finished (crash, kill)."""

    status = 503


class SiteUnavailable(OpenEOError):
    """A site's compute cannot be reached; ``site`` names it when known."""

    status = 503

    def __init__(self, message: str, *, site: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.site = site


class SiteMisconfigured(OpenEOError):
    """A site's compute refuses the backend's configuration (credentials, cluster options):
    an operator must fix the site's settings. Unlike :class:`SiteUnavailable` it is not an
    outage, so work does not move to a replica site."""

    status = 500

    def __init__(self, message: str, *, site: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.site = site


# Codes of job log entries that are not errors raised (docs/architecture.md "Errors").
JOB_INTERRUPTED = "JobInterrupted"


def sync_timeout(limit: float) -> ProcessGraphComplexity:
    """A synchronous run that passed limits.sync_timeout_seconds = ``limit``."""
    return ProcessGraphComplexity(
        f"The process took longer than {limit:g} s (limits.sync_timeout_seconds), the limit "
        "for synchronous processing, and was stopped. Please use a batch job instead."
    )


def job_timeout(limit: float) -> JobTimeout:
    """A batch job's run that passed jobs.timeout_seconds = ``limit``."""
    return JobTimeout(
        f"The job's computation at a site took longer than {limit:g} s "
        "(jobs.timeout_seconds) and was stopped."
    )
