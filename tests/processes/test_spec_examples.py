"""Every process we list computes the test cases of its openEO specification.

The cases come from openeo-processes' ``tests/*.json5`` (the ones the compliance suite runs). Each
runs as a one-node process graph through ``evaluate_graph``, the path every partition of a
``POST /result`` takes (literal protection, parser, our registry). Unlike the HTTP runner of the
compliance suite, NaN and ±Infinity can be passed and compared here.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.runner import evaluate_graph
from tests.conftest import SHARED

TESTS_DIR = SHARED / "openeo-specs/openeo-processes/tests"

EXPECTED_FAILURES = Path(__file__).resolve().parents[1] / "compliance/expected_failures.json"

# Cases on data cubes that are expected to fail, "process#index" of the case in its json5 file →
# why: "cases" where our implementation differs from the spec (backend bugs, to fix) and
# "defects" where the case's test data contradicts the spec text. Both run as strict xfail, so a
# case that starts to pass shows up.
_KNOWN = json.loads((Path(__file__).with_name("known_gaps.json")).read_text())
KNOWN_GAPS: dict[str, str] = _KNOWN["cases"]
TEST_DATA_DEFECTS: dict[str, str] = _KNOWN["defects"]

# Cases we cannot run here, with the reason.
NOT_RUNNABLE = {
    "labeled-array": "labeled arrays exist only inside data cubes here, not as JSON values",
    "reference": "the case refers to a file that is not JSON5 (e.g. a WKT2 CRS)",
    "missing-asset": "test data defect: the case refers to an asset file that does not exist",
}


def comparable(value: Any) -> Any:
    """Test values with NaN and infinities as strings, as expected_failures.json writes them."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    return value


def _defective_case(pid: str, arguments: dict) -> str | None:
    """The reason a case of the spec's test data is wrong, if expected_failures.json lists it."""
    for entry in json.loads(EXPECTED_FAILURES.read_text())["processing_cases"]:
        if entry["process"] == pid and entry["arguments"] == comparable(arguments):
            return entry["reason"]
    return None


def _uses_from_argument(value: Any) -> bool:
    if isinstance(value, dict):
        return "from_argument" in value or any(_uses_from_argument(v) for v in value.values())
    if isinstance(value, list):
        return any(_uses_from_argument(v) for v in value)
    return False


def _load_cases() -> list:
    import json5

    specs = process_registry.available_specs()
    cases = []
    for path in sorted(TESTS_DIR.glob("*.json5")):
        pid = path.stem
        if pid not in specs:
            continue
        doc = json5.loads(path.read_text())
        for i, case in enumerate(doc.get("tests", [])):
            cases.append(pytest.param(pid, case, path, i, id=f"{pid}#{i}"))
    return cases


def datacube(doc: dict):
    """An xarray cube from the test data's datacube notation."""
    import numpy as np
    import pandas as pd
    import xarray as xr

    order = doc.get("order") or list(doc["dimensions"])
    coords, crs = {}, None
    for name in order:
        dim = doc["dimensions"][name]
        values = dim.get("values", [])
        if dim["type"] == "temporal" and all(
            isinstance(v, str) and re.match(r"^\d{4}-\d{2}-\d{2}([T ].*)?$", v) for v in values
        ):
            # Dates and date-times; period labels such as "2024-02", "2023-djf" or
            # "2020-06-01-00" (an hour) stay strings.
            values = pd.to_datetime(values, utc=True).tz_localize(None).values
        if dim["type"] == "spatial":
            crs = dim.get("reference_system", crs)
        coords[name] = values
    shape = [len(coords[n]) for n in order]
    if doc.get("data") is None:  # the case does not check values
        data = np.full(shape, np.nan)
    elif np.size(np.array(doc["data"], dtype=object)) == 0:
        # An empty cube ("data": [] for any number of dimensions, one of them empty): the
        # values in the cube's shape; a cube without dimensions holds a single no-data value.
        data = np.full(shape, np.nan)
    else:
        data = np.array(doc["data"], dtype=float if _has_nodata(doc["data"]) else None)
        nodata = doc.get("nodata")
        if isinstance(nodata, int | float) and not math.isnan(nodata) and (data == nodata).any():
            # The cube's no-data value (e.g. 255 in uint8 test cubes) is no data: NaN here.
            data = np.where(data == nodata, np.nan, data.astype(float))
    cube = xr.DataArray(data, dims=order, coords=coords)
    cube.attrs["check_values"] = doc.get("data") is not None
    if crs is not None:
        cube = cube.rio.write_crs(crs)
        if {"x", "y"} <= set(order):
            cube = cube.rio.set_spatial_dims(x_dim="x", y_dim="y")
    return cube


def _has_nodata(data: Any) -> bool:
    if isinstance(data, list):
        return any(_has_nodata(v) for v in data)
    return data is None


def _special(value: Any, path: Path) -> tuple[Any, str | None]:
    """The Python value of a test value, or a reason the case cannot run here."""
    if isinstance(value, dict):
        if "$ref" in value:
            import json5

            ref = value["$ref"]
            if not ref.endswith(".json5"):
                return None, "reference"
            if not (path.parent / ref).exists():
                return None, "missing-asset"
            return _special(json5.loads((path.parent / ref).read_text()), path)
        kind = value.get("type")
        if kind == "nodata":
            return None, None
        if kind == "datacube":
            return datacube(value), None
        if kind == "labeled-array":
            return None, kind
        if kind == "datetime":
            return value["value"], None
        if "process_graph" in value:
            return value, None
        out = {}
        for k, v in value.items():
            out[k], reason = _special(v, path)
            if reason:
                return None, reason
        return out, None
    if isinstance(value, list):
        out = []
        for v in value:
            item, reason = _special(v, path)
            if reason:
                return None, reason
            out.append(item)
        return out, None
    return value, None


def _run(pid: str, arguments: dict) -> Any:
    import xarray as xr

    from openeo_dedl.execution.save import to_json_value

    # Data cubes cannot be written into a process graph: they come in as parameters.
    cubes = {f"cube_{k}": v for k, v in arguments.items() if isinstance(v, xr.DataArray)}
    arguments = {
        k: {"from_parameter": f"cube_{k}"} if f"cube_{k}" in cubes else v
        for k, v in arguments.items()
    }
    graph = {"node": {"process_id": pid, "arguments": arguments, "result": True}}
    value = evaluate_graph(graph, lambda: process_registry.build_registry({}), cubes)
    if isinstance(value, xr.DataArray):
        return value.compute()
    return _python(value, to_json_value)


def _same_cube(expected, actual, delta: float) -> str | None:
    """None if the cubes agree (dimensions, labels, values; NaN equals NaN), else why not."""
    import numpy as np
    import xarray as xr

    if not isinstance(actual, xr.DataArray):
        return f"expected a data cube, got {type(actual).__name__}"
    if set(actual.dims) != set(expected.dims):
        return f"dimensions {list(actual.dims)} instead of {list(expected.dims)}"
    actual = actual.transpose(*expected.dims)
    for dim in expected.dims:
        want, got = expected[dim].values, actual[dim].values if dim in actual.coords else None
        if got is None:
            return f"dimension {dim} has no labels"
        if len(want) != len(got) or any(
            str(a) != str(b) and not _numbers_close(a, b) for a, b in zip(want, got, strict=False)
        ):
            return f"labels of {dim}: {list(got)} instead of {list(want)}"
    if not expected.attrs.get("check_values", True):
        return None
    a, e = np.asarray(actual.values, dtype=float), np.asarray(expected.values, dtype=float)
    if a.shape != e.shape or not np.allclose(a, e, rtol=delta, atol=delta, equal_nan=True):
        return f"values {a.tolist()} instead of {e.tolist()}"
    return None


def _numbers_close(a, b) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def _python(value: Any, to_json) -> Any:
    """Computed values as plain Python, keeping NaN and infinities (JSON would make them null)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return [_python(v, to_json) for v in value.tolist()] if value.ndim else value.item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_python(v, to_json) for v in value]
    if isinstance(value, float):
        return value
    return to_json(value)


def _same(expected: Any, actual: Any, delta: float) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float):
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return False
        if math.isnan(expected):
            return math.isnan(actual)
        if math.isinf(expected):
            return actual == expected
        return math.isclose(actual, expected, rel_tol=delta, abs_tol=delta)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_same(e, a, delta) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(_same(expected[k], actual[k], delta) for k in expected)
        )
    return actual == expected


def _is_bare_flat_graph(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "process_graph" not in value
        and any(isinstance(n, dict) and "process_id" in n for n in value.values())
    )


@pytest.mark.parametrize(("pid", "case", "path", "index"), _load_cases())
def test_spec_example(pid: str, case: dict, path: Path, index: int, request) -> None:
    specs = process_registry.available_specs()
    missing = [p for p in case.get("required", []) if p not in specs]
    if missing:
        pytest.skip(f"needs processes we do not offer: {missing}")
    arguments, reason = _special(case.get("arguments", {}), path)
    if reason:
        pytest.skip(NOT_RUNNABLE[reason])
    defect = _defective_case(pid, case.get("arguments", {}))
    if defect:
        pytest.skip(defect)
    if _uses_from_argument(arguments):
        pytest.skip("Test data defect: `from_argument` is openEO 0.4 syntax (`from_parameter`).")
    unknown = set(arguments) - {p["name"] for p in specs[pid]["parameters"]}
    if unknown:
        pytest.skip(f"Test data defect: parameters {sorted(unknown)} are not in the spec.")
    gap = KNOWN_GAPS.get(f"{pid}#{index}") or TEST_DATA_DEFECTS.get(f"{pid}#{index}")
    if gap:
        request.applymarker(pytest.mark.xfail(reason=gap, strict=True))
    if any(_is_bare_flat_graph(v) for v in arguments.values()):
        # Test data defect: a callback must be {"process_graph": {...}}; we refuse the bare one.
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do
            _run(pid, arguments)
        return
    throws = case.get("throws")
    if throws and "returns" not in case:
        with pytest.raises(Exception) as info:  # noqa: B017 - the spec names the code only
            _run(pid, arguments)
        code = getattr(info.value, "code", None)
        if isinstance(throws, str) and code is not None:
            assert code == throws
        return
    if "returns" not in case:
        pytest.skip("the case gives no expected result")
    expected, reason = _special(case["returns"], path)
    if reason:
        pytest.skip(NOT_RUNNABLE[reason])
    actual = _run(pid, arguments)
    delta = case.get("delta", 1e-10)
    import xarray as xr

    if isinstance(expected, xr.DataArray):
        problem = _same_cube(expected, actual, delta)
        assert problem is None, f"{pid}: {problem}"
        return
    assert _same(expected, actual, delta), f"{pid}({arguments}) = {actual!r}, expected {expected!r}"
