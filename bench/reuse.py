"""Re-use of partition results: the flood use case run twice, the second time with a changed
final step (the mean per district instead of the sum), with ``reuse.enabled``.

Printed: the wall time and the bytes that crossed sites of

- ``plain``: the changed graph without re-use (what a re-run costs today),
- ``first``: the flood graph with re-use, keeping its results (the first run of a scenario),
- ``second``: the changed graph re-using them,

and the second run's figures as ratios of the first's (goal: time ≤ 0.2 ×). The site clusters
are started and the catalog facts read by a warm-up run of each graph first (without re-use,
as in a running server), so no figure contains a cluster's start or a first run's imports.

    .venv/bin/python bench/reuse.py                 # the tests' small demo catalog
    .venv/bin/python bench/reuse.py --size medium   # var/bench-demo-medium, generated once
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def changed_final_step(graph: dict) -> dict:
    """``graph`` with the mean per district as its aggregation's reducer."""
    changed = copy.deepcopy(graph)
    (node,) = [n for n in changed.values() if n["process_id"] == "aggregate_spatial"]
    node["arguments"]["reducer"]["process_graph"] = {
        "mean1": {
            "process_id": "mean",
            "arguments": {"data": {"from_parameter": "data"}},
            "result": True,
        }
    }
    return changed


def timed(executor, graph: dict, work_dir: Path, user: str) -> tuple[float, int, int]:
    """Seconds, bytes crossing sites and kept values re-used of one synchronous run."""
    started = time.perf_counter()
    result = executor.run_sync({"process_graph": graph}, work_dir, user=user)
    seconds = time.perf_counter() - started
    usage = result.usage
    return seconds, usage.bytes_moved, len(usage.reused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=("small", "medium", "large"))
    parser.add_argument("--catalog", help="a demo catalog directory (instead of --size)")
    args = parser.parse_args()

    from use_cases import ensure_catalog

    from examples.graphs import catalog_graphs
    from openeo_dedl.backend import Backend
    from openeo_dedl.config import Settings

    catalog = ensure_catalog(args.size, args.catalog)
    flood = catalog_graphs(catalog)["flood"]
    changed = changed_final_step(flood)
    work = Path(tempfile.mkdtemp(prefix="bench-reuse-"))
    settings = Settings(
        data_dir=work,
        demo_catalog_dir=catalog,
        reuse={"enabled": True},
        limits={"sync_max_bytes": 64 * 1024**3, "sync_timeout_seconds": 3600},
    )
    backend = Backend(settings)
    executor = backend.executor
    try:
        settings.reuse.enabled = False
        for graph in (flood, changed):  # clusters started, facts read, both graphs run once
            timed(executor, graph, work, "warm-up")
        plain = timed(executor, changed, work, "bench")
        settings.reuse.enabled = True
        first = timed(executor, flood, work, "bench")
        second = timed(executor, changed, work, "bench")
    finally:
        backend.close()
    print(f"catalog: {catalog} ({args.size})")
    print(f"{'run':<8} {'seconds':>8} {'cross-site bytes':>17} {'re-used':>8}")
    for name, (seconds, moved, reused) in (
        ("plain", plain),
        ("first", first),
        ("second", second),
    ):
        print(f"{name:<8} {seconds:>8.2f} {moved:>17} {reused:>8}")
    print(
        f"second / first: time {second[0] / first[0]:.3f}, "
        f"cross-site bytes {second[1] / max(first[1], 1):.3f}; "
        f"second / plain: time {second[0] / plain[0]:.3f}"
    )


if __name__ == "__main__":
    main()
