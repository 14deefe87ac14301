"""Synchronous runs that need no data: JSON results, callbacks, errors."""

from __future__ import annotations

import json

import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from openeo_dedl.errors import OpenEOError


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = Backend(Settings(data_dir=tmp_path_factory.mktemp("data")))
    yield b
    b.close()


def run(backend, tmp_path, pg):
    result = backend.run_sync({"process_graph": pg}, tmp_path)
    assert result.media_type == "application/json"
    return json.loads(result.path.read_text())


def test_chained_math(backend, tmp_path):
    pg = {
        "a": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_node": "a"}, "y": 3},
            "result": True,
        },
    }
    assert run(backend, tmp_path, pg) == 9


def test_callback_called_per_element_is_not_cached(backend, tmp_path):
    pg = {
        "a": {
            "process_id": "array_apply",
            "arguments": {
                "data": [1, 2, 3],
                "process": {
                    "process_graph": {
                        "m": {
                            "process_id": "multiply",
                            "arguments": {"x": {"from_parameter": "x"}, "y": 2},
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        }
    }
    assert run(backend, tmp_path, pg) == [2, 4, 6]


def test_save_result_json(backend, tmp_path):
    pg = {
        "a": {"process_id": "mean", "arguments": {"data": [1, 2, 3]}},
        "s": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "a"}, "format": "json"},
            "result": True,
        },
    }
    assert run(backend, tmp_path, pg) == 2


@pytest.mark.parametrize(
    ("pg", "code", "status"),
    [
        ({"a": {"process_id": "nope", "arguments": {}, "result": True}}, "ProcessUnsupported", 400),
        (
            {"a": {"process_id": "add", "arguments": {"x": 1}, "result": True}},
            "ProcessParameterRequired",
            400,
        ),
        (
            {
                "a": {
                    "process_id": "save_result",
                    "arguments": {"data": 1, "format": "BMP"},
                    "result": True,
                }
            },
            "FormatUnsupported",
            400,
        ),
        (
            {
                "a": {
                    "process_id": "load_collection",
                    "arguments": {"id": "NOPE", "spatial_extent": None, "temporal_extent": None},
                    "result": True,
                }
            },
            "CollectionNotFound",
            404,
        ),
    ],
)
def test_user_errors_are_openeo_errors(backend, tmp_path, pg, code, status):
    with pytest.raises(OpenEOError) as info:
        backend.run_sync({"process_graph": pg}, tmp_path)
    assert (info.value.code, info.value.status) == (code, status)
