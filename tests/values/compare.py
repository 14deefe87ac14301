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
) -> Report:
    """Compare ``result`` with ``expected`` (y, x) or (t, y, x) on ``sel``; ``counting_nodata``
    is the diagnostic reduction with nodata counted as data (same shape)."""
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
    if any(extra.values()):
        cause = "(d)" if all(0 <= v <= 2 for v in extra.values()) else "other"
        report.problems.append(
            f"{cause} shape {len(rows)}x{len(cols)} (spec {sel.shape[0]}x{sel.shape[1]}), "
            "extra rows/columns by side " + " ".join(f"{k}{v:+d}" for k, v in extra.items())
        )
    # The pixels both have.
    c0, c1 = max(sel.col0, cols[0]), min(sel.col1, cols[-1] + 1)
    r0, r1 = max(sel.row0, rows[0]), min(sel.row1, rows[-1] + 1)
    if c0 >= c1 or r0 >= r1:
        report.problems.append("no pixel in common with the spec's selection")
        return report
    mine = (..., slice(r0 - sel.row0, r1 - sel.row0), slice(c0 - sel.col0, c1 - sel.col0))
    theirs = (..., slice(r0 - rows[0], r1 - rows[0]), slice(c0 - cols[0], c1 - cols[0]))
    want, alt = expected[mine], counting_nodata[mine]
    got, raw = result.values[theirs], result.raw[theirs].astype("float64")
    bad = ~_close(got, want)
    nodata = collection.nodata[band]
    if bad.any():
        report.wrong = int(bad.sum())
        err = np.abs(np.where(np.isnan(got) | np.isnan(want), np.inf, got - want))[bad]
        report.max_error = float(err.max())
        nodata_written = (
            nodata is not None
            and not math.isnan(nodata)
            and (result.fill is None or result.fill != nodata)
        )
        for idx in zip(*np.nonzero(bad), strict=True):
            w, g, a = want[idx], got[idx], alt[idx]
            if math.isnan(w) and nodata_written and raw[idx] == nodata:
                cause = "(c)"
            elif math.isnan(w) and g == 0:
                cause = "(b)"
            elif _close(np.array(g), np.array(a)):
                cause = "(a)"
            else:
                cause = "other"
                if len(report.examples) < 5:
                    report.examples.append(
                        f"  other at {tuple(int(i) for i in idx)}: server {g} spec {w} "
                        f"(nodata counted as data: {a})"
                    )
            report.causes[cause] += 1
        report.problems.append(
            f"{report.wrong} of {bad.size} pixels wrong, max error {report.max_error:g} "
            f"(result dtype {result.dtype}, declared no-data {result.fill})"
        )
    if np.isnan(want).any() and result.fill is None:
        report.problems.append(
            f"(c) {int(np.isnan(want).sum())} pixels are no-data but the {result.dtype} file "
            "declares no _FillValue/nodata"
        )
    return report
