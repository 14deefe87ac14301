"""Command line: ``openeo-dedl serve | demo-data | run | plan | hash-password``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

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

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load_settings(args.config, **overrides) if args.config else Settings(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo_catalog(settings)
    app = create_app(settings)
    print(f"openEO DEDL backend on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from openeo_dedl.demo_data import generate_demo_catalog

    settings = _settings(args)
    out = Path(args.out) if args.out else settings.demo_catalog_path.parent
    path = generate_demo_catalog(out, size=args.size, overwrite=args.overwrite)
    print(path)
    return 0


def _read_process(path: str) -> dict:
    doc = json.loads(Path(path).read_text())
    if "process_graph" not in doc and "process" in doc:
        doc = doc["process"]
    if "process_graph" not in doc:
        doc = {"process_graph": doc}
    return doc


def cmd_run(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from openeo_dedl.backend import Backend
    from openeo_dedl.errors import OpenEOError

    settings = _settings(args)
    ensure_demo_catalog(settings)
    backend = Backend(settings)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = backend.run_sync(_read_process(args.graph), Path(tmp))
            out = Path(args.output or f"result{result.path.suffix}")
            shutil.copyfile(result.path, out)
        print(json.dumps({"output": str(out), "usage": result.usage}, indent=2))
        return 0
    except OpenEOError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        backend.close()


def cmd_plan(args: argparse.Namespace) -> int:
    from openeo_dedl.backend import Backend
    from openeo_dedl.errors import OpenEOError
    from openeo_dedl.planning.explain import explain, to_svg

    settings = _settings(args)
    ensure_demo_catalog(settings)
    backend = Backend(settings)
    try:
        _, plan = backend.executor.plan(_read_process(args.graph)["process_graph"])
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openeo-dedl", description=__doc__)
    parser.add_argument("--config", help="TOML configuration file (see docs/configuration.md)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the openEO API server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo-data", help="generate the demo STAC catalog")
    demo.add_argument("--out", help="output directory (default: the configured demo catalog)")
    demo.add_argument("--size", choices=["small", "medium", "large"], default="small")
    demo.add_argument("--overwrite", action="store_true")
    demo.set_defaults(func=cmd_demo_data)

    run = sub.add_parser("run", help="run a process graph locally, without a server")
    run.add_argument("graph", help="process graph JSON file")
    run.add_argument("-o", "--output", help="result file (default: result.<ext>)")
    run.set_defaults(func=cmd_run)

    plan = sub.add_parser(
        "plan",
        help="print where each node of a process graph runs, what moves between sites and "
        "how that compares with shipping all raw inputs to one site",
    )
    plan.add_argument("graph", help="process graph JSON file")
    plan.add_argument("--svg", metavar="FILE", help="also draw the graph coloured by site")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
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
