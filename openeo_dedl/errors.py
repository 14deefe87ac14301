"""openEO errors shared by all layers.

Every layer raises :class:`OpenEOError` (or a subclass); the API layer turns it into the openEO
error JSON ``{id, code, message, links}`` with the HTTP status from the openEO API's
``errors.json``.
"""

from __future__ import annotations

import uuid


class OpenEOError(Exception):
    """An error that the user should see, with an openEO error code and HTTP status."""

    code: str = "Internal"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.id = uuid.uuid4().hex

    def to_dict(self) -> dict:
        return {"id": self.id, "code": self.code, "message": self.message, "links": []}


def _error(code: str, status: int) -> type[OpenEOError]:
    return type(code, (OpenEOError,), {"code": code, "status": status})


# One class per openEO error code we raise; names and statuses follow openeo-api/errors.json.
NotFound = _error("NotFound", 404)
FeatureUnsupported = _error("FeatureUnsupported", 501)
CollectionNotFound = _error("CollectionNotFound", 404)
ProcessUnsupported = _error("ProcessUnsupported", 400)
ProcessGraphMissing = _error("ProcessGraphMissing", 400)
ProcessGraphInvalid = _error("ProcessGraphInvalid", 400)
ProcessGraphComplexity = _error("ProcessGraphComplexity", 400)
ProcessParameterRequired = _error("ProcessParameterRequired", 400)
ProcessParameterInvalid = _error("ProcessParameterInvalid", 400)
ProcessParameterUnsupported = _error("ProcessParameterUnsupported", 400)
FormatUnsupported = _error("FormatUnsupported", 400)
NoDataFound = _error("NoDataFound", 400)
AuthenticationRequired = _error("AuthenticationRequired", 401)
AuthenticationSchemeInvalid = _error("AuthenticationSchemeInvalid", 403)
TokenInvalid = _error("TokenInvalid", 403)
CredentialsInvalid = _error("CredentialsInvalid", 403)
PermissionsInsufficient = _error("PermissionsInsufficient", 403)


class SiteUnavailable(OpenEOError):
    """A site's compute cannot be reached; ``site`` names it when known."""

    code = "SiteUnavailable"
    status = 503

    def __init__(self, message: str, *, site: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.site = site


class SiteMisconfigured(OpenEOError):
    """A site's compute refuses the backend's configuration (credentials, cluster options):
    an operator must fix the site's settings. Unlike :class:`SiteUnavailable` it is not an
    outage, so work does not move to a replica site."""

    code = "SiteMisconfigured"
    status = 500

    def __init__(self, message: str, *, site: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.site = site


JobNotFound = _error("JobNotFound", 404)
# A batch job ran past jobs.timeout_seconds (errors.json has no code for it; the spec's
# examples use this one).
JobTimeout = _error("JobTimeout", 500)
# Ours: the worker process running a request passed workers.max_memory_bytes and was stopped.
MemoryLimitExceeded = _error("MemoryLimitExceeded", 400)
# Ours: the worker process running a request stopped before it finished (crash, kill).
WorkerLost = _error("WorkerLost", 503)
JobLocked = _error("JobLocked", 400)
JobNotFinished = _error("JobNotFinished", 400)
ResultLinkExpired = _error("ResultLinkExpired", 410)
ResultLinkInvalid = _error("ResultLinkInvalid", 403)
# Files (/files) and user-defined processes (/process_graphs).
FileNotFound = _error("FileNotFound", 404)
FilePathInvalid = _error("FilePathInvalid", 400)
FileOperationUnsupported = _error("FileOperationUnsupported", 400)
# errors.json says 400; 413 (Payload Too Large) tells HTTP clients and proxies what happened.
FileSizeExceeded = _error("FileSizeExceeded", 413)
StorageQuotaExceeded = _error("StorageQuotaExceeded", 400)
StorageFailure = _error("StorageFailure", 500)
ProcessGraphNotFound = _error("ProcessGraphNotFound", 404)
Internal = _error("Internal", 500)
