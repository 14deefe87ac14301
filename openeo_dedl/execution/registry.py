"""The processes that run here: openeo-processes-dask's implementations, ours, and their specs.

Only processes with both a spec and a working implementation are listed, minus those that a policy
keeps away from users (see ``DISABLED``). Implementations: ours (``execution/processes/``, which
fix or add what openeo-processes-dask lacks) win over openeo-processes-dask's. Specs (package
data in ``openeo_dedl/process_specs/``): ours (``*.json``) win over the openeo-processes release
(``openeo-processes/``: the draft the compliance suite checks; for openeo-processes 2.0.0-rc.2
with ``openeo-processes-2.0.0-rc.2/`` over it, see ``execution/versions.py``), which wins over the
older copy openeo-processes-dask bundles (openeo-processes 1.2.0 of 2021; used only for its own
extras).
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.resources
import json
import logging
from collections.abc import Callable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from openeo_pg_parser_networkx import ProcessRegistry
from openeo_pg_parser_networkx.process_registry import Process

from openeo_dedl.errors import ProcessParameterUnsupported
from openeo_dedl.execution.pg_adapter import standard_implementations
from openeo_dedl.execution.versions import PROCESSES_RC1, PROCESSES_RC2
from openeo_dedl.planning.traits import traits_of

if TYPE_CHECKING:
    from openeo_dedl.execution.access import DataAccess

logger = logging.getLogger(__name__)

# Reasons are shown nowhere to users but document why a standard implementation is not offered.
DISABLED = {
    "run_udf": "executes user code inside the server process; needs a sandbox first",
    "apply_neighborhood_intertwin": "experimental variant, not an openEO process",
}

# openeo-processes-dask implementations that open URLs or files themselves (urlopen, requests,
# pystac-client, odc-stac on user-given URLs): never registered; ours replace them, or the
# process is not offered (tests/security/test_policy.py finds such implementations by their code).
OPENS_LOCATIONS = frozenset({"aggregate_spatial", "load_stac", "load_url", "load_vector_cube"})

# Parameters that take more than their spec's data cubes here: save_result delivers any value
# as JSON (the spec stays the standard one, which the compliance suite checks).
BEYOND_CUBES = {"save_result": {"data"}}

# Our process specs (site-aware load_collection, save_result, ...) override the standard ones.
# Package data (openeo_dedl/process_specs/, also reachable as the repository's process_specs/):
# read through importlib.resources, so an installed wheel finds them as an editable install does.
PROCESS_SPECS_DIR: Traversable = importlib.resources.files("openeo_dedl") / "process_specs"
OPENEO_PROCESSES_DIR: Traversable = PROCESS_SPECS_DIR / "openeo-processes"

RC2_CHANGED_DIR: Traversable = PROCESS_SPECS_DIR / "openeo-processes-2.0.0-rc.2"


def spec_files(directory: Traversable) -> list[Traversable]:
    """The process specs (``*.json``) directly in ``directory``."""
    return [f for f in directory.iterdir() if f.is_file() and f.name.endswith(".json")]


def standard_implementation(process_id: str) -> Callable | None:
    """openeo-processes-dask's implementation of ``process_id`` (None when it has none)."""
    return standard_implementations().get(process_id)


@functools.cache
def _implementations(version: str = PROCESSES_RC1) -> dict[str, Callable]:
    from openeo_dedl.execution.processes import implementations, rc2

    impls = {**standard_implementations(), **implementations()}
    if version == PROCESSES_RC2:
        impls.update(rc2.implementations())
    return impls


def _read_specs(paths) -> dict[str, dict]:
    specs = {}
    for path in sorted(paths, key=lambda p: p.name):
        spec = json.loads(path.read_text(encoding="utf-8"))
        specs[spec["id"]] = spec
    return specs


@functools.cache
def _standard_specs() -> dict[str, dict]:
    specs_dir = Path(importlib.import_module("openeo_processes_dask.specs").__file__).parent
    specs = _read_specs((specs_dir / "openeo-processes").glob("*.json"))
    specs.update(
        _read_specs(
            [*spec_files(OPENEO_PROCESSES_DIR), *spec_files(OPENEO_PROCESSES_DIR / "proposals")]
        )
    )
    return specs


def _refusing_unsupported(process_id: str, names: frozenset[str], impl: Callable) -> Callable:
    """``impl`` refusing the optional parameters ``names`` (traits: ``unsupported``) unless null:
    the specs stay those of openeo-processes, the implementations do not support them."""

    @functools.wraps(impl)
    def wrapper(*args, **kwargs):
        for name in names:
            if kwargs.pop(name, None) is not None:
                raise ProcessParameterUnsupported(
                    f"Process '{process_id}' does not support parameter '{name}' here."
                )
        return impl(*args, **kwargs)

    return wrapper


@functools.cache
def _our_specs() -> dict[str, dict]:
    return _read_specs(spec_files(PROCESS_SPECS_DIR))


def our_process_ids() -> frozenset[str]:
    """Processes implemented by this backend itself (see ``build_registry``'s ``ours``)."""
    return frozenset(_our_specs())


@functools.cache
def available_specs(version: str = PROCESSES_RC1) -> dict[str, dict]:
    """Process id → spec, for every process that runs here, in openeo-processes ``version``."""
    impls = _implementations(version)
    standard = dict(_standard_specs())
    if version == PROCESSES_RC2:
        standard.update(_read_specs(spec_files(RC2_CHANGED_DIR)))
    specs = {pid: spec for pid, spec in standard.items() if pid in impls and pid not in DISABLED}
    specs.update(_our_specs())
    return dict(sorted(specs.items()))


def process_specs_list(version: str = PROCESSES_RC1) -> list[dict]:
    return [copy.deepcopy(spec) for spec in available_specs(version).values()]


def build_registry(
    ours: dict[str, Callable],
    access: DataAccess | None = None,
    version: str = PROCESSES_RC1,
) -> ProcessRegistry:
    """A fresh registry: standard implementations plus ``ours`` (bound to one run), the
    processes as openeo-processes ``version`` defines them.

    Fresh per run because the parser's callables and our implementations hold per-run state.
    Arguments naming locations (``access.LOCATION_PARAMETERS``) are read through ``access``,
    the calling user's data-access policy; None: no workspace and no URL is readable.
    """
    from openeo_dedl.execution.access import (
        LOCATION_PARAMETERS,
        DataAccess,
        resolving_locations,
    )
    from openeo_dedl.execution.processes._wrap import requiring_cubes, resolve_parameters

    access = access if access is not None else DataAccess()

    registry = ProcessRegistry(wrap_funcs=[resolve_parameters])
    specs = available_specs(version)
    impls = _implementations(version)
    for pid, spec in specs.items():
        impl = ours.get(pid) or impls.get(pid)
        if impl is None:
            continue
        if impl is standard_implementation(pid) and pid in OPENS_LOCATIONS:
            raise RuntimeError(f"openeo-processes-dask's {pid} opens URLs itself")
        if pid in LOCATION_PARAMETERS:
            impl = resolving_locations(pid, LOCATION_PARAMETERS[pid], access, impl)
        unsupported = traits_of(pid).unsupported
        if unsupported:
            impl = _refusing_unsupported(pid, unsupported, impl)
        impl = requiring_cubes(pid, spec, impl, except_for=BEYOND_CUBES.get(pid, ()))
        registry["predefined", pid] = Process(spec=spec, implementation=impl)
    return registry
