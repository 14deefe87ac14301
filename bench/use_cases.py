"""The paper's two use cases three ways: partitioned by site, centralised, and direct xarray.

For each use case (examples/graphs.py: the flood in Pakistan and the drought in the Po valley):

(a) ``partitioned``: our backend as it plans the graph (each part at the site holding its data,
    only reduced cubes moving), run by the executor on the three local site clusters;
(b) ``centralised``: the same graph and executor, but every node except the loads placed at one
    site (the planner's ``naive_site``, the cheapest site to ship all raw inputs to), so each
    load's raw output moves there and everything is computed there;
(c) ``direct``: the same computation written directly with rasterio/xarray/dask in one process
    (tests/use_cases/direct.py, the tests' reference), dask's threaded scheduler: the floor.

Each approach runs in its own process (fresh memory figures). Reported: wall time of the run
(site clusters started, collection metadata read and one warm-up run on the small catalog done,
as in a running server),
peak resident memory of the process and its children (the site clusters' workers) sampled
every 20 ms, and the bytes that crossed sites (the runner's meter). The page cache is warmed
first by reading every input file once, so no approach pays for the first read from disk.

    .venv/bin/python bench/use_cases.py --size small
    .venv/bin/python bench/use_cases.py --size large   # ~3.5 GB demo catalog, generated once

The catalogs are var/test-demo-catalog (small, shared with the tests) and var/bench-demo-<size>.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

USE_CASES = ("flood", "drought")
APPROACHES = ("partitioned", "centralised", "direct")
LABELS = {
    "partitioned": "(a) partitioned",
    "centralised": "(b) centralised",
    "direct": "(c) direct",
}
SAMPLE_SECONDS = 0.02
# Every approach first runs once on the small catalog (the same code paths on little data): the
# first run in a fresh process and on fresh workers pays seconds for lazy imports and caches.
SMALL_CATALOG = ROOT / "var" / "test-demo-catalog"


# -- measuring -----------------------------------------------------------------------------------


class PeakMemory:
    """Peak resident set size of this process and all its children, sampled in a thread."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> int:
        total = 0
        for p in (self._proc, *self._proc.children(recursive=True)):
            with contextlib.suppress(psutil.Error):  # a child that just ended
                total += p.memory_info().rss
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> PeakMemory:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


# -- the approaches (run in a child process) -----------------------------------------------------

# Imported before the clock starts, here and on every site's workers: a running server has paid
# for them long before (the first run on fresh workers spends seconds importing).
WARM_IMPORTS = (
    "numpy",
    "xarray",
    "dask.array",
    "rasterio",
    "rioxarray",
    "pyproj",
    "odc.stac",
    "odc.geo.xr",
    "geopandas",
    "xvec",
    "openeo_processes_dask.process_implementations",
)


def import_all() -> None:
    import importlib

    for name in WARM_IMPORTS:
        importlib.import_module(name)


def centralised_plan(graph, plan, site: str):
    """``plan`` with every node but the loads at ``site``: each load's raw output moves there."""
    from openeo_dedl.planning.partition import make_partitions, make_transfers

    sites = {
        node: plan.node_sites[node] if graph.process_id(node) == "load_collection" else site
        for node in graph.nodes
    }
    partitions = make_partitions(graph, graph.topological_order(), sites)
    transfers = make_transfers(graph, partitions, sites, plan.node_bytes)
    return dataclasses.replace(
        plan,
        node_sites=sites,
        partitions=partitions,
        transfers=transfers,
        result_site=site,
        planned_bytes=sum(t.bytes for t in transfers),
        strategy=f"centralised:{site}",
    )


def _backend(catalog: Path, data_dir: Path):
    from openeo_dedl.backend import Backend
    from openeo_dedl.config import Settings

    settings = Settings(
        data_dir=data_dir,
        demo_catalog_dir=catalog,
        cluster_idle_timeout_seconds=None,
        # Benchmarks load GBs synchronously; the sync limits are for users, not for this.
        limits={"sync_max_bytes": 10**14, "sync_timeout_seconds": 7200.0},
    )
    return Backend(settings)


def run_backend(use_case: str, approach: str, catalog: Path) -> dict:
    """(a) or (b): the executor on the local site clusters; returns the measurements."""
    from examples.graphs import catalog_graphs

    graph_json = catalog_graphs(catalog)[use_case]
    process = {"process_graph": graph_json}
    warm_up = {"process_graph": catalog_graphs(SMALL_CATALOG)[use_case]}
    with tempfile.TemporaryDirectory() as tmp:
        backend = _backend(catalog, Path(tmp))
        executor = backend.executor
        try:
            # Reads and caches the collection facts.
            plan = executor.prepare(process).valid().plan()
            graph = plan.graph
            info = {
                "strategy": plan.strategy,
                "estimated_bytes": plan.planned_bytes,
                "naive_site": plan.naive_site,
                "naive_bytes": plan.naive_bytes,
                # Estimated bytes of centralising at each site (only the cheapest one runs).
                "centralised_estimates": {
                    s.name: centralised_plan(graph, plan, s.name).planned_bytes
                    for s in backend.settings.sites
                },
            }
            if approach == "centralised":
                site = plan.naive_site
                prepare = executor.prepare

                def prepare_centralised(process, user_processes=None):
                    prepared = prepare(process, user_processes).valid()
                    cost = prepared.plan()
                    # The same run, with this plan (Prepared hands out the plans it holds).
                    prepared._plans[frozenset()] = centralised_plan(cost.graph, cost, site)
                    return prepared

                executor.prepare = prepare_centralised
                central = executor.prepare(process).plan()
                info.update(strategy=central.strategy, estimated_bytes=central.planned_bytes)
            import_all()
            from openeo_dedl.execution import registry

            registry.build_registry({})
            with executor.clusters.for_run() as clusters:  # start every site's cluster
                for site_config in backend.settings.sites:
                    clusters.client(site_config.name).run(import_all)
            executor.run_sync(warm_up, Path(tmp) / "warm-up")
            with PeakMemory() as memory:
                baseline = memory.rss()
                started = time.perf_counter()
                result = executor.run_sync(process, Path(tmp) / "out")
                seconds = time.perf_counter() - started
            answer = json.loads(result.path.read_text())
        finally:
            backend.close()
    return {
        **info,
        "seconds": seconds,
        "peak_rss": memory.peak,
        "baseline_rss": baseline,
        "cross_site_bytes": result.usage.bytes_moved,
        "transfers": [t.to_dict() for t in result.usage.transfers],
        "result": answer["data"],
    }


def run_direct(use_case: str, catalog: Path) -> dict:
    """(c): tests/use_cases/direct.py with lazy dask stacks, in this process."""
    import dask

    from examples import graphs
    from tests.use_cases import direct

    def compute(catalog: Path):
        with dask.config.set(scheduler="threads"):
            if use_case == "flood":
                regions = json.loads((catalog / graphs.PAKISTAN_REGIONS).read_text())
                return direct.flood(catalog, regions, chunks={"x": 2048, "y": 2048})
            regions = json.loads((catalog / graphs.PO_VALLEY_REGIONS).read_text())
            return direct.drought(catalog, regions, chunks={"x": 2048, "y": 2048})

    import_all()
    compute(SMALL_CATALOG)  # warm-up, as for (a) and (b)
    with PeakMemory() as memory:
        baseline = memory.rss()
        started = time.perf_counter()
        values = compute(catalog)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss": memory.peak,
        "baseline_rss": baseline,
        "cross_site_bytes": None,
        "result": values.tolist(),
    }


def child(args: argparse.Namespace) -> int:
    catalog = Path(args.catalog).resolve()
    if args.approach == "direct":
        out = run_direct(args.use_case, catalog)
    else:
        out = run_backend(args.use_case, args.approach, catalog)
    Path(args.json_out).write_text(json.dumps(out))
    return 0


# -- the parent: catalog, page cache, one child per measurement, the table -----------------------


def ensure_catalog(size: str, catalog: str | None) -> Path:
    """The demo catalog of ``size``: the tests' small one, or var/bench-demo-<size> with only the
    collections the use cases read (the generator's table filtered: the large Sentinel-2 stack
    alone would take most of an hour)."""
    from openeo_dedl.demo_data import generate

    if catalog:
        return Path(catalog).resolve()
    if size == "small":
        out = ROOT / "var" / "test-demo-catalog"
        return generate.generate_demo_catalog(out, size="small").parent
    out = ROOT / "var" / f"bench-demo-{size}"
    needed = sorted({c for cs in INPUTS.values() for c in cs})
    wanted = {
        "generator": "openeo-dedl",
        "version": generate.GENERATOR_VERSION,
        "size": size,
        # Not what the generator itself writes: `serve` never takes this for a full catalog.
        "collections": needed,
    }
    marker = out / generate.MARKER
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return out
    started = time.perf_counter()
    table = generate.COLLECTIONS
    generate.COLLECTIONS = tuple(c for c in table if c.id in needed)
    try:
        generate.generate_demo_catalog(out, size=size, overwrite=True)
    finally:
        generate.COLLECTIONS = table
    marker.write_text(json.dumps(wanted) + "\n")
    print(f"catalog {out} ({size}, {', '.join(needed)}) in {time.perf_counter() - started:.0f} s")
    return out


INPUTS = {
    "flood": ("GFM_FLOOD", "GHSL_BUILT_S", "ERA5_LAND"),
    "drought": ("S1_SSM", "CORINE_LAND_COVER", "ERA5_LAND"),
}


def warm_page_cache(catalog: Path) -> int:
    """Read every input file of the use cases once; returns the bytes on disk."""
    total = 0
    for cid in sorted({c for cs in INPUTS.values() for c in cs}):
        for path in (catalog / cid).rglob("*.tif"):
            with open(path, "rb") as f:
                while chunk := f.read(1 << 24):
                    total += len(chunk)
    return total


def measure(use_case: str, approach: str, catalog: Path) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            use_case,
            approach,
            "--catalog",
            str(catalog),
            "--json-out",
            out.name,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{use_case}/{approach} failed:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(Path(out.name).read_text())


def _mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:,.1f}"


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def report(results: dict, size: str, disk_bytes: int) -> list[str]:
    lines = [
        f"size {size}: input files of both use cases {_bytes(disk_bytes)} on disk",
        f"{'use case':9} {'approach':22} {'wall [s]':>9} {'peak RSS [MB]':>14} "
        f"{'run +RSS [MB]':>14} {'cross-site':>12}",
    ]
    for use_case, runs in results.items():
        for approach, r in runs.items():
            name = LABELS[approach]
            if approach == "centralised":
                name += f" @{r['strategy'].split(':')[1]}"
            lines.append(
                f"{use_case:9} {name:22} {r['seconds']:9.2f} {_mb(r['peak_rss']):>14} "
                f"{_mb(r['peak_rss'] - r['baseline_rss']):>14} {_bytes(r['cross_site_bytes']):>12}"
            )
        a, b, c = (runs.get(k) for k in APPROACHES)
        ratios = []
        if a and b:
            moved = a["cross_site_bytes"] / b["cross_site_bytes"] if b["cross_site_bytes"] else 0
            ratios.append(f"bytes a/b {100 * moved:.2f} %")
            ratios.append(f"time a/b {a['seconds'] / b['seconds']:.2f}")
        if a and c:
            ratios.append(f"time a/c {a['seconds'] / c['seconds']:.2f}")
            ratios.append(f"peak RSS a/c {a['peak_rss'] / c['peak_rss']:.2f}")
        if ratios:
            lines.append(f"{'':9} ratios: " + ", ".join(ratios))
        if a and "centralised_estimates" in a:
            estimates = ", ".join(
                f"{site} {_bytes(n)}" for site, n in a["centralised_estimates"].items()
            )
            lines.append(
                f"{'':9} planner's estimates: partitioned {_bytes(a['estimated_bytes'])}; "
                f"centralised at {estimates}"
            )
    return lines


def agree(results: dict) -> list[str]:
    """Whether (a), (b) and (c) computed the same numbers: the largest difference relative to
    the largest value, over elements finite in both, and how many elements are finite in only
    one (a division by a zero climatology gives inf directly, NaN in openEO's mean)."""
    import numpy as np

    lines = []
    for use_case, runs in results.items():
        values = {k: np.array(r["result"], dtype="float64") for k, r in runs.items()}
        if "direct" not in values:
            continue
        ref = values["direct"]
        for k, v in values.items():
            if k == "direct" or v.shape != ref.shape:
                continue
            both = np.isfinite(v) & np.isfinite(ref)
            diff = np.max(np.abs(v - ref)[both]) / max(np.max(np.abs(ref[both])), 1e-12)
            odd = int((np.isfinite(v) != np.isfinite(ref)).sum())
            lines.append(
                f"{use_case}: max |{k} - direct| / max |direct| = {diff:.1e} "
                f"({odd} of {v.size} values finite in only one)"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "medium", "large"], default="small")
    parser.add_argument("--catalog", help="demo catalog directory (default: by size)")
    parser.add_argument("--use-case", nargs="+", choices=USE_CASES, default=list(USE_CASES))
    parser.add_argument("--approach", nargs="+", choices=APPROACHES, default=list(APPROACHES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per approach; best is kept")
    parser.add_argument("--json", help="also write all measurements to this file")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "APPROACH"), help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.use_case, args.approach = args.child
        return child(args)

    ensure_catalog("small", None)  # the warm-up runs' catalog
    catalog = ensure_catalog(args.size, args.catalog)
    disk = warm_page_cache(catalog)
    results: dict[str, dict[str, dict]] = {}
    for use_case in args.use_case:
        for approach in args.approach:
            runs = []
            for _ in range(args.repeat):
                runs.append(measure(use_case, approach, catalog))
                print(f"{use_case} {approach}: {runs[-1]['seconds']:.2f} s", flush=True)
            results.setdefault(use_case, {})[approach] = min(runs, key=lambda r: r["seconds"])
    lines = report(results, args.size, disk) + agree(results)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
