"""Date processes (``date_shift``, ``date_between``, ``date_difference``), absent from
openeo-processes-dask. Dates are RFC 3339 strings: a date (``2020-01-31``) stays a date, a
date-time keeps its time zone offset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
from dateutil.relativedelta import relativedelta

from openeo_dedl.errors import OpenEOError, ProcessParameterInvalid
from openeo_dedl.planning.dates import not_a_date, parse_date
from openeo_dedl.planning.limits import date_shift_problem

_UNITS = {
    "millisecond": relativedelta(microseconds=1000),
    "second": relativedelta(seconds=1),
    "minute": relativedelta(minutes=1),
    "hour": relativedelta(hours=1),
    "day": relativedelta(days=1),
    "week": relativedelta(weeks=1),
    "month": relativedelta(months=1),
    "year": relativedelta(years=1),
}
_SECONDS = {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600, "day": 86400,
            "week": 7 * 86400}  # fmt: skip


def _parse(value: Any) -> tuple[dt.datetime, bool]:
    """(an aware date-time, whether the input was a date without time)."""
    if hasattr(value, "root"):  # the parser's Date/DateTime objects
        value = value.root
    if isinstance(value, np.datetime64):
        value = str(np.datetime_as_string(value, unit="ms")) + "Z"
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)), False
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC), True
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    raise ProcessParameterInvalid(f"{not_a_date(value)}.")


def _format(value: dt.datetime, date_only: bool) -> str:
    if date_only:
        return value.date().isoformat()
    timespec = "milliseconds" if value.microsecond else "seconds"
    text = value.isoformat(timespec=timespec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _unit(unit: str, table: dict) -> Any:
    if unit not in table:
        raise ProcessParameterInvalid(
            f"Unit '{unit}' is not supported; use one of {', '.join(table)}."
        )
    return table[unit]


def date_shift(date, value, unit):
    """``date`` moved by ``value`` units; months and years end at the month's last day."""
    if date is None:
        return None
    moment, date_only = _parse(date)
    step = _unit(unit, _UNITS)
    problem = date_shift_problem(int(value), unit)
    if problem is None:
        try:
            shifted = moment + step * int(value)
        except (OverflowError, ValueError):  # past the calendar's years 1..9999
            problem = f"{date} shifted by {value} {unit}s leaves the years 1 to 9999"
    if problem is not None:
        raise ProcessParameterInvalid(
            f"The value passed for parameter 'value' in process 'date_shift' is invalid: {problem}."
        )
    return _format(shifted, date_only)


def date_between(x, min, max, exclude_max=False):  # noqa: A002 - the spec's parameter names
    if x is None:
        return None
    try:
        value, low, high = (_parse(v)[0] for v in (x, min, max))
    except OpenEOError:
        return False  # not temporal: never between dates
    return low <= value < high if exclude_max else low <= value <= high


def date_difference(date1, date2, unit="second"):
    """``date2 - date1`` in ``unit`` (months and years in calendar months, fractional)."""
    if date1 is None or date2 is None:
        return None
    first, second = _parse(date1)[0], _parse(date2)[0]
    if unit in ("month", "year"):
        delta = relativedelta(second, first)
        months = delta.years * 12 + delta.months
        rest = second - (first + relativedelta(months=months))
        months += rest.total_seconds() / (30.436875 * 86400)  # a mean Gregorian month
        return months / 12 if unit == "year" else months
    return (second - first).total_seconds() / _unit(unit, _SECONDS)


def implementations() -> dict[str, Callable]:
    return {"date_shift": date_shift, "date_between": date_between,
            "date_difference": date_difference}  # fmt: skip
