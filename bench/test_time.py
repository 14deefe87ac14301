"""Where test time goes, and whether a change made the tests slower: two pytest junit reports.

    .venv/bin/pytest --junitxml=/tmp/new.xml            # this checkout
    (cd ../baseline && .venv/bin/pytest --junitxml=/tmp/base.xml)   # an older commit's tests
    .venv/bin/python bench/test_time.py /tmp/base.xml /tmp/new.xml

Prints the wall time of each report's test cases, the tests common to both (by node id,
parametrisation included) with their time in each and the ratio, and the modules whose common
tests changed most. Tests only one report has are counted apart: a test added since the
baseline costs time without making the old ones slower. With one report: its slowest modules.
"""

from __future__ import annotations

import argparse
import collections
import xml.etree.ElementTree as ET


def read_report(path: str) -> dict[str, float]:
    """Test node id (module path ``::`` name) → seconds (setup, call and teardown)."""
    times: dict[str, float] = collections.defaultdict(float)
    for case in ET.parse(path).iter("testcase"):
        if case.find("skipped") is not None:
            continue
        times[f"{case.get('classname')}::{case.get('name')}"] += float(case.get("time") or 0)
    return dict(times)


def module_of(node: str) -> str:
    """``tests.api.test_x.TestY::name`` → ``tests.api.test_x``."""
    parts = node.split("::", 1)[0].split(".")
    for i, part in enumerate(parts):
        if part.startswith("test_"):
            return ".".join(parts[: i + 1])
    return ".".join(parts)


def by_module(times: dict[str, float], nodes) -> collections.Counter:
    sums: collections.Counter = collections.Counter()
    for node in nodes:
        sums[module_of(node)] += times[node]
    return sums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="junit XML: [baseline] current")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if len(args.reports) == 1:
        times = read_report(args.reports[0])
        print(f"{len(times)} tests, {sum(times.values()):.0f} s of test time")
        for module, seconds in by_module(times, times).most_common(args.top):
            print(f"{seconds:8.1f} s  {module}")
        return
    base, new = read_report(args.reports[0]), read_report(args.reports[1])
    common = sorted(set(base) & set(new))
    base_common = sum(base[n] for n in common)
    new_common = sum(new[n] for n in common)
    added = [n for n in new if n not in base]
    gone = [n for n in base if n not in new]
    print(f"{'':24} {'baseline':>10} {'current':>10} {'ratio':>7}")
    print(f"{'all tests [s]':24} {sum(base.values()):10.0f} {sum(new.values()):10.0f}")
    ratio = new_common / base_common if base_common else float("nan")
    print(f"{'common tests [s]':24} {base_common:10.0f} {new_common:10.0f} {ratio:7.2f}")
    print(f"{'  (count)':24} {len(common):10d} {len(common):10d}")
    print(f"{'only in one [s]':24} {sum(base[n] for n in gone):10.0f} "
          f"{sum(new[n] for n in added):10.0f}")  # fmt: skip
    print(f"{'  (count)':24} {len(gone):10d} {len(added):10d}")
    before, after = by_module(base, common), by_module(new, common)
    changes = sorted(before, key=lambda m: after[m] - before[m])
    print("\ncommon tests per module, most faster and most slower [s]:")
    for module in [*changes[: args.top // 2], *changes[-(args.top - args.top // 2) :]]:
        print(f"{before[module]:8.1f} {after[module]:8.1f} {after[module] - before[module]:+8.1f}"
              f"  {module}")  # fmt: skip


if __name__ == "__main__":
    main()
