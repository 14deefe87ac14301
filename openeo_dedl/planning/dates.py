"""Reading openEO date strings (pure): the one rule for what is a date or date-time.

``date_shift``, ``date_between`` and ``date_difference`` (``execution/processes/dates.py``)
parse with it at run time, and validation uses it for literal arguments, so a string is a date
the same way before and during a run.
"""

from __future__ import annotations

import datetime as dt
import re

# RFC 3339's shape (dashes, a T or space before the time, seconds optional as openEO clients
# send them): Python's fromisoformat alone also takes ISO 8601's basic and week forms
# ("20220820", "2022-W33").
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
)


def parse_date(value: str) -> tuple[dt.datetime, bool] | None:
    """(an aware date-time, whether ``value`` was a date without time), None when ``value`` is
    not an RFC 3339 date or date-time (a missing zone is UTC)."""
    text = value.strip()
    if not _RFC3339.fullmatch(text):
        return None
    try:
        if len(text) == 10:
            d = dt.date.fromisoformat(text)
            return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC), True
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)), False


def not_a_date(value: object) -> str:
    """Why ``value`` is refused where a date is needed."""
    return f"'{value}' is not a date or date-time (RFC 3339)"
