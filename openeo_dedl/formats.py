"""Text forms of values that users read: RFC 3339 date-times, ISO 8601 durations, byte counts,
unpadded base64url, bounded decimal numbers. One place for each, over pydantic where it has one.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter

_DATETIME = TypeAdapter(datetime)
_DURATION = TypeAdapter(timedelta)


def rfc3339(value: datetime | None) -> str | None:
    """``value`` as an RFC 3339 date-time in UTC to the second (``2026-12-03T12:00:00Z``); a naive
    ``value`` is taken as UTC (what every timestamp column stores). None stays None."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return _DATETIME.dump_python(value.replace(microsecond=0), mode="json")


def iso_duration(seconds: float) -> str:
    """An ISO 8601 duration (``PT1H2M3S``, ``P1DT2H``) of whole seconds, at least one."""
    return _DURATION.dump_python(timedelta(seconds=max(1, round(seconds))), mode="json")


def human_bytes(n: float) -> str:
    """A byte count for people: ``512 B``, ``1.5 kB``, ... up to TB (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 §5), as in JWTs and signed links."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bounded_decimal(text: str, cap: int) -> int | None:
    """``text`` of ASCII digits as an int, at most ``cap``; None when it is anything else.

    ASCII digits only: int() would also take "1_0", "+5", " 5" and other scripts' digits. Longer
    numbers than ``cap`` has digits are not converted (Python refuses more than 4300 digits).
    """
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return cap if len(digits) > len(str(cap)) else min(int(digits), cap)
