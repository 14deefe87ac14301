"""Command line: ``openeo-dedl serve | demo-data | run | plan | hash-password``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from openeo_dedl.config import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config) if args.config else Settings()


def ensure_demo_catalog(settings: Settings) -> None:
    """Generate the bundled demo catalog when it is the configured catalog and missing."""
    if settings.catalogs:
        return
    from openeo_dedl.demo_data import generate_demo_catalog

    path = generate_demo_catalog(settings.demo_catalog_path.parent, size=settings.demo_data_size)
    logging.getLogger(__name__).info("demo catalog ready at %s", path)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from openeo_dedl.api.app import create_app
    from openeo_dedl.api.protocol import OpenEOH11Protocol

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load_settings(args.config, **overrides) if args.config else Settings(**overrides)
    if args.workers is not None:
        settings = settings.model_copy(
            update={"workers": settings.workers.model_copy(update={"embedded": args.workers})}
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo_catalog(settings)
    app = create_app(settings, prestart_workers=True, worker_log_level=args.log_level)
    print(f"openEO DEDL backend on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        # ErrorAndLogMiddleware logs every request (with its duration, also when it crashed):
        # uvicorn's access log would repeat each line.
        access_log=False,
        # h11 with openEO answers to unparsable requests; it buffers at most this much of a head.
        http=OpenEOH11Protocol,
        h11_max_incomplete_event_size=settings.limits.request_header_bytes,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run worker processes fed from the database until SIGTERM/SIGINT."""
    import signal
    import threading

    from openeo_dedl.storage import Database
    from openeo_dedl.workers.pool import WorkerPool

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo_catalog(settings)
    database = Database(settings.effective_database_url)
    database.migrate()
    pool = WorkerPool(settings, args.processes, database, prestart=True, log_level=args.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    pool.start()
    print(f"openEO DEDL worker {pool.id}: {args.processes} process(es)", flush=True)
    stop.wait()
    pool.stop()
    database.dispose()
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from openeo_dedl.demo_data import generate_demo_catalog

    settings = _settings(args)
    out = Path(args.out) if args.out else settings.demo_catalog_path.parent
    path = generate_demo_catalog(out, size=args.size, overwrite=args.overwrite)
    print(path)
    return 0


class InputError(Exception):
    """A file given on the command line cannot be used (missing, not JSON, wrong shape)."""


def _read_json(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} {path} is nested too deeply") from None


def _read_process(path: str) -> dict:
    """A process (``{"process_graph": ...}``) from a file with a process, a sync request body
    (``{"process": ...}``) or a bare flat process graph."""
    doc = _read_json(path, "process graph file")
    if not isinstance(doc, dict):
        raise InputError(f"process graph file {path} must hold a JSON object")
    if "process_graph" not in doc and isinstance(doc.get("process"), dict):
        doc = doc["process"]
    if "process_graph" not in doc:
        doc = {"process_graph": doc}
    return doc


def _read_user_processes(paths: list[str] | None) -> dict[str, dict]:
    """User-defined processes (id -> process) from JSON documents with ``id`` and
    ``process_graph``, as stored with ``PUT /process_graphs/{id}``."""
    processes: dict[str, dict] = {}
    for path in paths or ():
        doc = _read_json(path, "user-defined process file")
        if (
            isinstance(doc, dict)
            and "process_graph" not in doc
            and isinstance(doc.get("process"), dict)
        ):
            doc = {"id": doc.get("id"), **doc["process"]}
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("id"), str)
            or not doc["id"]
            or not isinstance(doc.get("process_graph"), dict)
        ):
            raise InputError(
                f"user-defined process file {path} must hold a JSON object with a string 'id' "
                "and a 'process_graph' object"
            )
        if doc["id"] in processes:
            raise InputError(f"user-defined process '{doc['id']}' is given twice ({path})")
        processes[doc["id"]] = doc
    return processes


def _read_inputs(args: argparse.Namespace) -> tuple[dict, dict[str, dict]] | None:
    """The process graph and user-defined processes of ``args``; None (said why) if unreadable."""
    try:
        return _read_process(args.graph), _read_user_processes(args.udp)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _backend_and_inputs(args: argparse.Namespace):
    """The process, its user-defined processes and a Backend on the demo catalog (or None
    when the files cannot be read: the error is printed)."""
    from openeo_dedl.backend import Backend

    inputs = _read_inputs(args)
    if inputs is None:
        return None
    settings = _settings(args)
    ensure_demo_catalog(settings)
    return (*inputs, Backend(settings))


def cmd_run(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from openeo_dedl.errors import OpenEOError

    if (loaded := _backend_and_inputs(args)) is None:
        return 1
    process, user_processes, backend = loaded
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = backend.run_sync(process, Path(tmp), user_processes=user_processes)
            out = Path(args.output or f"result{result.path.suffix}")
            shutil.copyfile(result.path, out)
        print(json.dumps({"output": str(out), "usage": result.usage.to_dict()}, indent=2))
        return 0
    except OpenEOError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        backend.close()


def cmd_plan(args: argparse.Namespace) -> int:
    from openeo_dedl.errors import OpenEOError
    from openeo_dedl.planning.explain import explain, to_svg

    if (loaded := _backend_and_inputs(args)) is None:
        return 1
    process, user_processes, backend = loaded
    try:
        # What POST /validation checks: a plan of an invalid process would be meaningless.
        prepared = backend.prepare(process, user_processes)
        for error in prepared.errors:
            print(f"{error.code}: {error.message}", file=sys.stderr)
        if prepared.errors:
            return 1
        plan = prepared.valid().plan()
    except OpenEOError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        backend.close()
    print(json.dumps(plan.to_dict(), indent=2) if args.json else explain(plan))
    if args.svg:
        Path(args.svg).write_text(to_svg(plan))
        print(f"SVG drawing written to {args.svg}", file=sys.stderr)
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    import bcrypt

    password = args.password if args.password is not None else getpass.getpass("Password: ")
    print(bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode())
    return 0


UDP_HELP = (
    "JSON file of a user-defined process (with 'id' and 'process_graph'), which the graph may "
    "call; repeatable"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openeo-dedl", description=__doc__)
    parser.add_argument("--config", help="TOML configuration file (see docs/configuration.md)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the openEO API server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers",
        type=int,
        help="worker processes to start in this server (workers.embedded; 0: none, run "
        "`openeo-dedl worker` beside it)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run worker processes that take requests and jobs from the database"
    )
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    worker.add_argument("--log-level", default="info")
    worker.set_defaults(func=cmd_worker)

    demo = sub.add_parser("demo-data", help="generate the demo STAC catalog")
    demo.add_argument("--out", help="output directory (default: the configured demo catalog)")
    demo.add_argument("--size", choices=["small", "medium", "large"], default="small")
    demo.add_argument("--overwrite", action="store_true")
    demo.set_defaults(func=cmd_demo_data)

    run = sub.add_parser("run", help="run a process graph locally, without a server")
    run.add_argument("graph", help="process graph JSON file")
    run.add_argument("-o", "--output", help="result file (default: result.<ext>)")
    run.add_argument("--udp", metavar="FILE", action="append", help=UDP_HELP)
    run.set_defaults(func=cmd_run)

    plan = sub.add_parser(
        "plan",
        help="print where each node of a process graph runs, what moves between sites and "
        "how that compares with shipping all raw inputs to one site",
    )
    plan.add_argument("graph", help="process graph JSON file")
    plan.add_argument("--svg", metavar="FILE", help="also draw the graph coloured by site")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument("--udp", metavar="FILE", action="append", help=UDP_HELP)
    plan.set_defaults(func=cmd_plan)

    hashpw = sub.add_parser("hash-password", help="bcrypt hash for a basic-auth user")
    hashpw.add_argument("password", nargs="?")
    hashpw.set_defaults(func=cmd_hash_password)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
