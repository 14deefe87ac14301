"""Holding a result file against the oracle: grid, shape, coordinates, values, declared no-data.

A mismatch is reported with its likely cause, so a failure says at once whether it is one of the
known deviations or something new:

(a) nodata counted as data: the server's value equals the reduction over the stored numbers with
    the band's nodata value taken for a measurement;
(b) 0 where no value: no valid value at all, and the server wrote 0;
(c) undeclared nodata: no valid value, the server wrote the band's nodata value, and the file does
    not declare it (no ``_FillValue``/nodata tag, or another one);
(d) overlap rule: the server's grid has up to two extra rows or columns on a side (odc-geo selects
    pixels that overlap the box, not those whose centre is in it);
other: anything else.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from tests.values.oracle import Collection, Selection
from tests.values.results import Result

RTOL, ATOL = 1e-5, 1e-6


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    causes: Counter = field(default_factory=Counter)
    wrong: int = 0
    max_error: float = 0.0
    examples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        causes = ", ".join(f"{k}: {v}" for k, v in sorted(self.causes.items()))
        lines = [*self.problems]
        if self.wrong:
            lines.append(f"causes of wrong pixels: {causes}")
        lines += self.examples[:5]
        return "\n".join(lines)


def _lattice(values: np.ndarray, origin: float, res: float, sign: int) -> np.ndarray | None:
    """Lattice indices of pixel-centre coordinates, None if they are not on the lattice."""
    pos = sign * (values - origin) / res - 0.5
    idx = np.round(pos)
    if not np.allclose(pos, idx, atol=1e-6) or (len(idx) > 1 and np.any(np.diff(idx) != 1)):
        return None
    return idx.astype(int)


def _close(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    both_nan = np.isnan(got) & np.isnan(want)
    return both_nan | np.isclose(got, want, rtol=RTOL, atol=ATOL)


def compare(
    collection: Collection,
    band: str,
    sel: Selection,
    result: Result,
    expected: np.ndarray,
    counting_nodata: np.ndarray,
    covered: np.ndarray,
) -> Report:
    """Compare ``result`` with ``expected`` (y, x) or (t, y, x) on ``sel``; ``counting_nodata``
    is the diagnostic reduction with nodata counted as data (same shape), ``covered`` (y, x)
    the pixels of ``sel`` inside the data's footprint.

    The result may leave out rows and columns of the selection that hold no data (a cube
    clipped to the data), but no others, and must not hold pixels outside the selection."""
    report = Report()
    if result.crs is None or result.crs != collection.crs:
        report.problems.append(f"CRS {result.crs and result.crs.to_string()} != collection's")
        return report
    cols = _lattice(result.xs, collection.x0, collection.res, 1)
    rows = _lattice(result.ys, collection.y0, collection.res, -1)
    if cols is None or rows is None or len(cols) == 0 or len(rows) == 0:
        report.problems.append(
            f"grid not on the collection's pixel lattice: x {result.xs[:3]}..., "
            f"y {result.ys[:3]}..."
        )
        return report
    extra = {
        "W": sel.col0 - cols[0],
        "E": cols[-1] + 1 - sel.col1,
        "N": sel.row0 - rows[0],
        "S": rows[-1] + 1 - sel.row1,
    }
    shape = f"shape {len(rows)}x{len(cols)} (spec {sel.shape[0]}x{sel.shape[1]})"
    sides = " ".join(f"{k}{v:+d}" for k, v in extra.items())
    if any(v > 0 for v in extra.values()):
        cause = "(d)" if all(v <= 2 for v in extra.values()) else "other"
        report.problems.append(f"{cause} {shape}, extra rows/columns by side {sides}")
    # The pixels both have.
    c0, c1 = max(sel.col0, cols[0]), min(sel.col1, cols[-1] + 1)
    r0, r1 = max(sel.row0, rows[0]), min(sel.row1, rows[-1] + 1)
    if c0 >= c1 or r0 >= r1:
        report.problems.append(f"other {shape}: no pixel in common with the spec's selection")
        return report
    kept = np.zeros(sel.shape, dtype=bool)
    kept[r0 - sel.row0 : r1 - sel.row0, c0 - sel.col0 : c1 - sel.col0] = True
    if (covered & ~kept).any():
        report.problems.append(
            f"other {shape}, extra rows/columns by side {sides}: leaves out "
            f"{int((covered & ~kept).sum())} pixels inside the data"
        )
    mine = (..., slice(r0 - sel.row0, r1 - sel.row0), slice(c0 - sel.col0, c1 - sel.col0))
    theirs = (..., slice(r0 - rows[0], r1 - rows[0]), slice(c0 - cols[0], c1 - cols[0]))
    want, alt = expected[mine], counting_nodata[mine]
    got, raw = result.values[theirs], result.raw[theirs].astype("float64")
    bad = ~_close(got, want)
    nodata = collection.nodata[band]
    if bad.any():
        report.wrong = int(bad.sum())
        # The error where the spec has a value (no-data where it has none is counted apart).
        valued = bad & ~np.isnan(want)
        err = np.abs(np.where(np.isnan(got), np.inf, got - want))[valued]
        report.max_error = float(err.max()) if err.size else 0.0
        nodata_written = (
            nodata is not None
            and not math.isnan(nodata)
            and (result.fill is None or result.fill != nodata)
        )
        no_value = np.isnan(want)
        is_c = bad & no_value & nodata_written & (raw == (nodata if nodata_written else 0))
        is_b = bad & ~is_c & no_value & (got == 0)
        is_a = bad & ~is_c & ~is_b & _close(got, alt)
        other = bad & ~is_a & ~is_b & ~is_c
        for name, mask in (("(a)", is_a), ("(b)", is_b), ("(c)", is_c), ("other", other)):
            if mask.any():
                report.causes[name] = int(mask.sum())
        for idx in list(zip(*np.nonzero(other), strict=True))[:5]:
            report.examples.append(
                f"  other at {tuple(int(i) for i in idx)}: server {got[idx]} spec {want[idx]} "
                f"(nodata counted as data: {alt[idx]})"
            )
        report.problems.append(
            f"{report.wrong} of {bad.size} pixels wrong: {int(valued.sum())} where the spec has "
            f"a value (max error {report.max_error:g}), {int((bad & ~valued).sum())} where it has "
            f"none (result dtype {result.dtype}, declared no-data {result.fill})"
        )
    if np.isnan(want).any() and result.fill is None:
        report.problems.append(
            f"(c) {int(np.isnan(want).sum())} pixels are no-data but the {result.dtype} file "
            "declares no _FillValue/nodata"
        )
    return report


def load_expectation(
    dates: list[np.datetime64],
    values: np.ndarray,
    raw: np.ndarray,
    nodata: float | None,
    in_interval: list[np.datetime64],
    result: Result,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """What a load's result should hold at its own time labels: (problems with the labels,
    expected values, the stored numbers) from the oracle's stack (``dates``, ``values``,
    ``raw``) and the collection's dates in the interval.

    The labels must include every date with data in the selection and only dates of the
    collection in the interval; a label without data in the selection holds no-data only.
    """
    problems = []
    if result.times is None:
        return ["a load's result has no time dimension"], values, raw
    with_data = [d for i, d in enumerate(dates) if not np.isnan(values[i]).all()]
    missing = [str(d) for d in with_data if d not in result.times]
    if missing:
        problems.append(f"dates with data missing: {missing}")
    outside = [str(t) for t in result.times if t not in in_interval]
    if outside:
        problems.append(f"dates outside the interval or the collection: {outside}")
    shape = values.shape[1:]
    empty = np.full(shape, np.nan)
    empty_raw = np.full(shape, np.nan if nodata is None else nodata)
    by_date = dict(zip(dates, values, strict=True))
    raw_by_date = dict(zip(dates, raw, strict=True))
    times = result.times
    if not times:
        return [*problems, "no time labels"], values[:0], raw[:0]
    expected = np.stack([by_date.get(t, empty) for t in times])
    counting = np.stack([raw_by_date.get(t, empty_raw) for t in times])
    return problems, expected, counting
