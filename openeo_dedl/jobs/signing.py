"""Signed, expiring download URLs for job results.

The signature is an HMAC-SHA256 with the server secret over the job, the asset name, the
expiry and the job's run (its start time), so a link cannot be changed to another file or a
later expiry, and the links of a previous run stop working when the job is run again.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from openeo_dedl.errors import ResultLinkExpired, ResultLinkInvalid
from openeo_dedl.formats import b64url, bounded_decimal

_VERSION = b"openeo-dedl-result-v1"
# Expiries are unix seconds: 20 digits last beyond the year 10^12. Longer values are not parsed
# (Python refuses to convert more than 4300 digits) and cannot have been signed by us.
_MAX_EXPIRES_DIGITS = 20


class UrlSigner:
    """Signs and checks (job, asset, expiry, run) tuples."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def signature(self, job_id: str, name: str, expires: int, run: str) -> str:
        message = b"|".join(
            [_VERSION, job_id.encode(), name.encode(), str(expires).encode(), run.encode()]
        )
        return b64url(hmac.new(self._secret, message, hashlib.sha256).digest())

    def sign(self, job_id: str, name: str, lifetime: int, run: str) -> tuple[int, str]:
        """(expiry as unix seconds, signature) of a link valid for ``lifetime`` seconds."""
        expires = int(time.time()) + lifetime
        return expires, self.signature(job_id, name, expires, run)

    def check(self, job_id: str, name: str, expires: str, signature: str, run: str) -> None:
        """Raise ResultLinkInvalid for a tampered link, ResultLinkExpired for an old one."""
        # Only the digits we sign: no leading zeros, no longer numbers.
        number = bounded_decimal(expires, 10**_MAX_EXPIRES_DIGITS)
        if number is None or len(expires) > _MAX_EXPIRES_DIGITS:
            raise ResultLinkInvalid("The download link is invalid.")
        expected = self.signature(job_id, name, number, run)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise ResultLinkInvalid("The download link is invalid.")
        if number < time.time():
            raise ResultLinkExpired(
                "The link to the batch job result has expired. Please request the results again."
            )
