"""Every process argument that can name a location goes through the policy, and no
openeo-processes-dask implementation that opens URLs itself is ever run.

These tests read the specs and openeo-processes-dask's code as they are installed, so a new
process (or a new release of openeo-processes-dask) that can name a location fails here until
execution/access.py covers it.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from openeo_dedl.errors import OpenEOError
from openeo_dedl.execution.access import LOCATION_PARAMETERS, DataAccess
from openeo_dedl.execution.literals import _schemas
from openeo_dedl.execution.processes import implementations
from openeo_dedl.execution.registry import (
    OPENS_LOCATIONS,
    available_specs,
    build_registry,
    standard_implementation,
)
from openeo_dedl.locations import STAC_PARAMETERS, WORKSPACE_PARAMETERS, workspace_errors
from tests.security.conftest import wait_briefly

_LOCATION_SUBTYPES = {"uri", "file-path", "file-paths", "geojson", "vector-cube", "udf-code",
                      "job-id", "workspace-id"}  # fmt: skip

# Parameters whose schema allows GeoJSON or vector cubes but never a string: nothing there can
# name a location (a string is refused before the implementation runs).
NOT_LOCATIONS = {
    ("filter_bbox", "data"): "data cubes only (requiring_cubes refuses anything else)",
    ("apply_polygon", "geometries"): "vector cubes only (requiring_cubes refuses a string)",
    ("load_collection", "spatial_extent"): "a bounding box object only (execution/load.py)",
    ("load_stac", "spatial_extent"): "planned as load_collection's (planning/stac.py)",
}

# What in a function's code opens a URL or a file named by its arguments.
_OPENS = re.compile(
    r"urlopen|requests\.(get|post|request|Session)|httpx|pystac_client|pystac\.(Item|Catalog)"
    r"|odc\.stac|open_dataset|open_rasterio|read_file|fsspec|urllib\.request|\bopen\("
)


def _may_name_location(parameter: dict) -> bool:
    for schema in _schemas(parameter.get("schema")):
        if schema.get("subtype") in _LOCATION_SUBTYPES or schema.get("format") == "uri":
            return True
        dims = schema.get("dimensions") or []
        if schema.get("subtype") == "datacube" and any(d.get("type") == "geometry" for d in dims):
            return True
    return False


def test_every_parameter_that_can_name_a_location_goes_through_the_policy():
    found = {
        (pid, p["name"])
        for pid, spec in available_specs().items()
        for p in spec.get("parameters", [])
        if _may_name_location(p)
    }
    covered = {(pid, name) for pid, names in LOCATION_PARAMETERS.items() for name in names}
    # Where results are written (export_workspace): a configured workspace's id and a clean
    # path in the user's folder there, checked by locations.workspace_errors and exports.py.
    writes = {(pid, name) for pid, names in WORKSPACE_PARAMETERS.items() for name in names}
    assert not covered & writes
    # load_stac's url has its own rule (locations.stac_location, tests/e2e/test_load_stac.py).
    covered |= set(STAC_PARAMETERS.items())
    assert found - set(NOT_LOCATIONS) == covered | (found & writes)
    assert ("export_workspace", "workspace") in found


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"workspace": "elsewhere"}, "WorkspaceNotFound"),
        ({"workspace": "Shared", "merge": "../bob/x"}, "ProcessParameterInvalid"),
        ({"workspace": "shared", "merge": "/etc"}, "ProcessParameterInvalid"),
        ({"workspace": "shared", "merge": "a//b"}, "ProcessParameterInvalid"),
    ],
)
def test_export_targets_outside_the_users_folder_are_refused_before_a_run(args, code):
    errors = workspace_errors(args, frozenset({"shared"}))
    assert [e.code for e in errors] == [code]


def test_export_targets_inside_the_users_folder_pass():
    assert workspace_errors({"workspace": "SHARED", "merge": "a/b"}, frozenset({"shared"})) == []


def _upstream_functions_that_open_locations() -> set[str]:
    """Functions of openeo-processes-dask whose code opens URLs or files (read, not imported:
    some modules need packages that are not installed)."""
    package = importlib.util.find_spec("openeo_processes_dask.process_implementations")
    names = set()
    for path in Path(package.origin).parent.rglob("*.py"):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and _OPENS.search(ast.get_source_segment(source, node) or ""):
                names.add(node.name)
    return names


def test_upstream_implementations_that_open_locations_are_never_run():
    opening = _upstream_functions_that_open_locations()
    # The scan finds what issue 17 found, so it is looking at the right code.
    assert {"aggregate_spatial", "load_url", "load_vector_cube", "load_stac"} <= opening
    upstream_processes = {name for name in opening if standard_implementation(name.strip("_"))}
    assert upstream_processes <= OPENS_LOCATIONS
    ours = implementations()
    available = available_specs()
    for pid in OPENS_LOCATIONS:
        # Either ours replaces it, or the process is not offered at all.
        assert pid in ours or pid not in available, pid
        if pid in ours:
            assert ours[pid] is not standard_implementation(pid)


def _cube() -> xr.DataArray:
    data = xr.DataArray(
        np.ones((1, 4, 4)),
        dims=("t", "y", "x"),
        coords={"t": [0], "y": [26.8, 26.6, 26.4, 26.2], "x": [67.2, 67.4, 67.6, 67.8]},
    )
    return data.rio.write_crs("EPSG:4326")


@pytest.mark.parametrize("process_id", sorted(LOCATION_PARAMETERS))
def test_the_registry_reads_locations_only_through_the_policy(listener, process_id):
    registry = build_registry({}, DataAccess())
    impl = registry["predefined", process_id].implementation
    [name] = LOCATION_PARAMETERS[process_id]
    arguments = {} if process_id == "load_geojson" else {"data": _cube()}
    if process_id == "aggregate_spatial":
        arguments["reducer"] = lambda data, **_: data
    for location in (f"{listener.base}/geo.json", "file:///etc/passwd", "geo.json"):
        with pytest.raises(OpenEOError) as error:
            impl(**arguments, **{name: location})
        assert error.value.message == DataAccess.refusal(process_id, name).message
    wait_briefly()
    assert listener.connections == 0


def test_a_load_stac_that_reaches_the_registry_reads_nothing(listener):
    # Every top-level load_stac is planned as the load of what its URL names; one inside a
    # callback reaches our implementation, which refuses whatever it is given.
    impl = build_registry({}, DataAccess())["predefined", "load_stac"].implementation
    for location in (f"{listener.base}/collection.json", "file:///etc/passwd"):
        with pytest.raises(OpenEOError) as error:
            impl(url=location)
        assert error.value.status == 400
    wait_briefly()
    assert listener.connections == 0


def test_our_aggregate_spatial_never_hands_a_string_to_upstream(listener):
    from openeo_dedl.execution.processes.vector import aggregate_spatial

    with pytest.raises(OpenEOError) as error:
        aggregate_spatial(_cube(), f"{listener.base}/geo.json", reducer=lambda data, **_: data)
    assert error.value.status == 400
    wait_briefly()
    assert listener.connections == 0
