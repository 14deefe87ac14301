"""Reading openEO date strings (pure): the one rule for what is a date or date-time.

``date_shift``, ``date_between`` and ``date_difference`` (``execution/processes/dates.py``)
parse with it at run time, and validation uses it for literal arguments, so a string is a date
the same way before and during a run.
"""

from __future__ import annotations

import datetime as dt


def parse_date(value: str) -> tuple[dt.datetime, bool] | None:
    """(an aware date-time, whether ``value`` was a date without time), None when ``value`` is
    not an RFC 3339 date or date-time (a missing zone is UTC)."""
    text = value.strip()
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
