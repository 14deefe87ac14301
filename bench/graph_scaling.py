"""Validation, planning and running against graph size, for three shapes of 1k to 10k nodes.

Shapes (tests/execution/shapes.py): ``chain`` (each ``add`` uses the one before), ``array``
(independent ``add`` nodes all in the ``data`` array of one ``sum``) and ``tree`` (independent
``add`` nodes summed pairwise by a balanced tree of ``add`` nodes). Each graph goes through the
Executor as a request would, with the embedded local site clusters: ``validate`` (inlining user
processes, checking the specs), ``plan`` (Executor.plan) and a batch run, timed from the call to
its first ``partition_started`` event (``first``: request to first partition running; the run
validates and plans again itself) and to its end (``run``). Validation and planning keep the best
of ``--repeat``; each graph is run once and its value checked against the closed form.

Wall-clock time on a shared machine is noisy, so the ratios use CPU time of this process
(validate and plan: best of ``--repeat``), and each phase is also measured by the number of
Python function calls it makes (``sys.setprofile``, a separate pass): a count that grows like
the nodes is linear work whatever the load. Ratios are against the 1k row of the same run.

Run from the repository root: ``.venv/bin/python bench/graph_scaling.py``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openeo_dedl.backend import Backend  # noqa: E402
from openeo_dedl.config import Settings  # noqa: E402
from openeo_dedl.execution.control import RunControl  # noqa: E402
from openeo_dedl.execution.events import PartitionStarted  # noqa: E402
from openeo_dedl.planning import Prepared  # noqa: E402
from tests.execution.shapes import SHAPES  # noqa: E402

SIZES = (1000, 2000, 5000, 10000)


def best_of(repeat: int, fn) -> tuple[float, float]:
    """The shortest of ``repeat`` wall-clock times of ``fn()``, and the shortest CPU time."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
    return min(walls), min(cpus)


def count_calls(fn) -> int:
    """Python function calls (and generator resumptions) made by ``fn()``."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def run_once(executor, pg: dict, work_dir: Path) -> tuple[float, float, float, object]:
    """Wall seconds to the first partition running and to the end, CPU seconds of this process
    to the end, and the result value."""
    first: list[float] = []

    def on_event(event) -> None:
        if isinstance(event, PartitionStarted) and not first:
            first.append(time.perf_counter())

    started, started_cpu = time.perf_counter(), time.process_time()
    result = executor.run_batch({"process_graph": pg}, work_dir, RunControl(on_event))
    ended, cpu = time.perf_counter(), time.process_time() - started_cpu
    return first[0] - started, ended - started, cpu, json.loads(result.path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed validations/plans")
    parser.add_argument("--limit-s", type=float, default=2.0, help="budget: 5k nodes, first+run")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend(Settings(data_dir=Path(tmp) / "data"))
        executor = backend.executor
        warm = SHAPES["chain"](10)[0]  # imports and the registry, once
        run_once(executor, warm, Path(tmp))
        print(
            f"{'shape':>6} {'nodes':>6} {'parts':>5} {'validate':>9} {'plan':>8} {'first':>8} "
            f"{'run':>8} {'run cpu':>8} [ms] | x 1k: validate plan first run (cpu) | calls x 1k"
        )
        ok = True
        for shape, build in SHAPES.items():
            base = None
            for size in SIZES:
                pg, expected = build(size)
                process = {"process_graph": pg}
                gc.collect()
                validate_it = functools.partial(executor.prepare, process)

                # Planning alone: a fresh Prepared each time (it caches its plans).
                def plan_it(process=process):
                    return Prepared(process, executor.environment).plan()

                validate, validate_cpu = best_of(args.repeat, validate_it)
                plan, plan_cpu = best_of(args.repeat, plan_it)
                partitions = len(plan_it().partitions)
                first, run, run_cpu, value = run_once(executor, pg, Path(tmp))
                if value != expected:
                    print(f"{shape} {size}: got {value}, expected {expected}")
                    ok = False
                calls = [
                    count_calls(validate_it),
                    count_calls(plan_it),
                    count_calls(functools.partial(run_once, executor, pg, Path(tmp))),
                ]
                row = (size, validate_cpu, plan_cpu, first, run, run_cpu, *calls)
                base = base or row
                r = [a / b for a, b in zip(row, base, strict=True)]
                print(
                    f"{shape:>6} {size:>6} {partitions:>5} {validate * 1e3:>9.1f} "
                    f"{plan * 1e3:>8.1f} {first * 1e3:>8.1f} {run * 1e3:>8.1f} "
                    f"{run_cpu * 1e3:>8.1f}      | {r[1]:>4.1f} {r[2]:>4.1f} {r[3]:>4.1f} "
                    f"{r[4]:>4.1f} ({r[5]:>4.1f})       | {r[6]:.1f} {r[7]:.1f} {r[8]:.1f}"
                )
                if size == 5000 and run > args.limit_s:
                    print(f"{shape} 5000 nodes: run {run:.2f} s is OVER {args.limit_s} s")
                    ok = False
        backend.close()
    print("all values right, 5000 nodes within budget" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
