"""The errors of openeo_dedl/errors.py against the openEO API's errors.json and the process specs.

Every error class has the status errors.json gives its code (or one the docs list as answered
differently), every code written anywhere in openeo_dedl/ is a code of errors.json, an exception
of a process spec or a code of ours documented in docs/architecture.md ("Errors"), and Python
exceptions become 400s only inside the process implementations' wrapper.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from pathlib import Path

import pytest

from openeo_dedl import errors
from openeo_dedl.execution.executor import as_openeo_error
from openeo_dedl.execution.processes._wrap import resolve_parameters
from openeo_dedl.execution.registry import OPENEO_PROCESSES_DIR, PROCESS_SPECS_DIR, spec_files

ROOT = Path(__file__).resolve().parents[1]
ERRORS_JSON = Path("/work/shared/openeo-specs/openeo-api/errors.json")
PACKAGE = ROOT / "openeo_dedl"


def _spec_statuses() -> dict[str, int]:
    if not ERRORS_JSON.exists():
        pytest.skip(f"the openEO API spec is not at {ERRORS_JSON}")
    return {code: entry["http"] for code, entry in json.loads(ERRORS_JSON.read_text()).items()}


def _process_exception_codes() -> set[str]:
    codes: set[str] = set()
    for directory in (PROCESS_SPECS_DIR, OPENEO_PROCESSES_DIR, OPENEO_PROCESSES_DIR / "proposals"):
        for path in spec_files(directory):
            codes |= set(json.loads(path.read_text()).get("exceptions", {}))
    return codes


def _documented_tables() -> tuple[dict[str, int | None], dict[str, int]]:
    """(our codes -> status, errors.json codes answered otherwise -> status) of the docs."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    ours_text, _, other_text = section.partition("answered with another status")
    row = re.compile(r"^\| `(\w+)` \| (\d+|-) \|", re.M)

    def table(part: str) -> dict[str, int | None]:
        return {c: None if s == "-" else int(s) for c, s in row.findall(part)}

    return table(ours_text), {c: s for c, s in table(other_text).items() if s is not None}


def test_every_error_class_has_its_documented_status():
    spec, process_codes = _spec_statuses(), _process_exception_codes()
    ours, deviations = _documented_tables()
    classes = {
        c: cls for c, cls in errors.error_classes().items() if cls is not errors.ProcessException
    }
    assert len(classes) > 40
    for code, cls in classes.items():
        if code in deviations:
            assert code in spec, f"{code} is listed as deviating but is not in errors.json"
            assert cls.status == deviations[code], code
        elif code in spec:
            assert cls.status == spec[code], f"{code}: {cls.status}, errors.json: {spec[code]}"
        elif code in process_codes:
            assert cls.status == 400, code
        else:
            assert code in ours, f"{code} is neither in errors.json nor in docs/architecture.md"
            assert cls.status == ours[code], f"{code}: {cls.status}, docs: {ours[code]}"
    # The docs list nothing that is not there.
    assert set(ours) - set(classes) <= {errors.JOB_INTERRUPTED}
    assert not set(ours) & set(spec)


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            yield name, node


def test_every_code_written_in_the_package_is_known():
    spec, process_codes = _spec_statuses(), _process_exception_codes()
    ours, _ = _documented_tables()
    known = set(spec) | set(ours)
    written: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text())
        for name, call in _calls(tree):
            if name == "OpenEOError" and path.name != "errors.py":
                pytest.fail(
                    f"{where}:{call.lineno} builds an OpenEOError: use a class of errors.py"
                )
            if name == "ProcessException":
                first = call.args[0] if call.args else None
                if isinstance(first, ast.Constant):
                    assert first.value in process_codes, f"{where}:{call.lineno}: {first.value}"
                else:  # only the upstream mapping passes a code it did not write
                    assert where.endswith(("_wrap.py", "errors.py")), f"{where}:{call.lineno}"
            for keyword in call.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    written[keyword.value.value] = f"{where}:{call.lineno}"
    unknown = {code: where for code, where in written.items() if code not in known}
    assert not unknown, unknown
    for code in errors.error_classes():
        assert code in known | process_codes | {"ProcessException"}, code


def test_restored_errors_keep_their_class_and_status():
    lost = errors.restore("WorkerLost", "gone", 503)
    assert isinstance(lost, errors.WorkerLost) and lost.status == 503
    other = errors.restore("DimensionNotAvailable", "no t", 400)
    assert (other.code, other.status, other.message) == ("DimensionNotAvailable", 400, "no t")


def test_a_python_exception_outside_the_wrapper_is_a_logged_500(caplog):
    # A ValueError that reaches the executor came from our code (writing, packing, ...): a bug.
    with caplog.at_level(logging.ERROR, logger="openeo_dedl.execution.executor"):
        error = as_openeo_error(ValueError("an internal mistake"))
    assert (error.code, error.status) == ("Internal", 500)
    assert any(
        r.exc_info and r.exc_info[1].args == ("an internal mistake",) for r in caplog.records
    )


@pytest.mark.parametrize("raised", [TypeError, ValueError, KeyError, IndexError])
def test_an_implementation_failing_on_its_input_is_a_400(raised):
    def scale(x):
        raise raised("cannot handle it")

    with pytest.raises(errors.ProcessParameterInvalid) as info:
        resolve_parameters(scale)(x=1)
    assert info.value.status == 400 and "scale" in info.value.message
    assert isinstance(info.value.__cause__, raised)


def test_other_exceptions_of_an_implementation_are_not_mapped():
    def broken(x):
        return x.no_such_attribute

    with pytest.raises(AttributeError):
        resolve_parameters(broken)(x=1)
