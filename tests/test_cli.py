"""The command line, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from openeo_dedl.cli import main
from tests.support.graphs import load_reduce_save, reducer


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "openeo_dedl.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def cli_in_process(monkeypatch, capsys):
    """The command line's ``main`` in this process, for the loops over many inputs: the
    process implementations are imported once, not per case (the tests above start it as a
    user would). An exception escaping ``main`` fails the test, as a traceback would."""

    def run(*args: str, cwd) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return run


def reduce_graph() -> dict:
    """load_collection at lumi, the maximum over time, saved as netCDF."""
    return {
        "process_graph": load_reduce_save(
            "ERA5_LAND",
            spatial_extent={"west": 67, "south": 26, "east": 68, "north": 27},
            temporal_extent=["2022-08-20", "2022-08-30"],
            bands=["total_precipitation"],
            reduce="max",
            format="netCDF",
        )
    }


def test_run_and_plan_a_graph_without_a_server(tmp_path, demo_catalog_dir):
    graph = reduce_graph()
    (tmp_path / "graph.json").write_text(json.dumps(graph))
    env_args = ("--config", str(_config(tmp_path, demo_catalog_dir)))

    plan = run_cli(*env_args, "plan", "graph.json", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "lumi" in plan.stdout

    result = run_cli(*env_args, "run", "graph.json", "-o", "out.nc", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.nc").stat().st_size > 0
    report = json.loads(result.stdout)
    assert report["usage"]["cross_site_bytes"]["value"] == 0


def test_run_reports_openeo_errors(tmp_path, demo_catalog_dir):
    graph = {"a": {"process_id": "frobnicate", "arguments": {}, "result": True}}
    (tmp_path / "bad.json").write_text(json.dumps(graph))
    result = run_cli(
        "--config", str(_config(tmp_path, demo_catalog_dir)), "run", "bad.json", cwd=tmp_path
    )
    assert result.returncode == 1
    assert "ProcessUnsupported" in result.stderr


def _config(tmp_path, demo_catalog_dir):
    path = tmp_path / "config.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\ndemo_catalog_dir = "{demo_catalog_dir}"\n')
    return path


def test_unreadable_inputs_give_a_message_not_a_traceback(
    tmp_path, demo_catalog_dir, cli_in_process
):
    config = ("--config", str(_config(tmp_path, demo_catalog_dir)))
    (tmp_path / "bad.json").write_text("{'not': json}")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "ok.json").write_text(json.dumps({"a": {"process_id": "add", "arguments": {}}}))
    (tmp_path / "udp.json").write_text(json.dumps({"process_graph": {}}))
    cases = [
        (("plan", "bad.json"), "not valid JSON"),
        (("run", "bad.json"), "not valid JSON"),
        (("plan", "missing.json"), "cannot read"),
        (("run", "missing.json"), "cannot read"),
        (("plan", "list.json"), "JSON object"),
        (("plan", "ok.json", "--udp", "bad.json"), "not valid JSON"),
        (("plan", "ok.json", "--udp", "udp.json"), "string 'id'"),
    ]
    for args, message in cases:
        result = cli_in_process(*config, *args, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)


ERA5 = {
    "process_id": "load_collection",
    "arguments": {
        "id": "ERA5_LAND",
        "spatial_extent": {"west": 67, "south": 26, "east": 68, "north": 27},
        "temporal_extent": ["2022-08-20", "2022-08-30"],
        "bands": ["total_precipitation"],
    },
}


def test_plan_validates_first(tmp_path, demo_catalog_dir, cli_in_process):
    config = ("--config", str(_config(tmp_path, demo_catalog_dir)))
    outer_ref = {
        "process_graph": {
            "m": {"process_id": "max", "arguments": {"data": {"from_parameter": "data"}}},
            "x": {
                "process_id": "multiply",
                "arguments": {"x": {"from_node": "m"}, "y": {"from_node": "k"}},
                "result": True,
            },
        }
    }
    cases = {
        "unknown_process": (
            {"l": ERA5, "x": {"process_id": "frobnicate", "arguments": {}, "result": True}},
            "ProcessUnsupported",
        ),
        "unknown_collection": (
            {"l": {**ERA5, "arguments": {**ERA5["arguments"], "id": "NOPE"}, "result": True}},
            "CollectionNotFound",
        ),
        "unresolved_udp": (
            {
                "l": ERA5,
                "u": {
                    "process_id": "my_udp",
                    "namespace": "user",
                    "arguments": {"data": {"from_node": "l"}},
                    "result": True,
                },
            },
            "ProcessUnsupported",
        ),
        "callback_refers_to_outer_node": (
            {
                "l": ERA5,
                "k": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
                "r": {
                    "process_id": "reduce_dimension",
                    "arguments": {
                        "data": {"from_node": "l"},
                        "dimension": "t",
                        "reducer": outer_ref,
                    },
                    "result": True,
                },
            },
            "ProcessGraphInvalid",
        ),
        "reduce_without_arguments": (
            {"l": ERA5, "r": {"process_id": "reduce_dimension", "arguments": {}, "result": True}},
            "ProcessParameterRequired",
        ),
    }
    for name, (graph, code) in cases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps({"process_graph": graph}))
        result = cli_in_process(*config, "plan", f"{name}.json", cwd=tmp_path)
        assert result.returncode == 1, (name, result.stdout)
        assert code in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr and "Plan:" not in result.stdout, name


def test_plan_resolves_user_processes_given_with_udp(tmp_path, demo_catalog_dir, cli_in_process):
    config = ("--config", str(_config(tmp_path, demo_catalog_dir)))
    udp = {
        "id": "wettest",
        "parameters": [{"name": "data", "schema": {"type": "object", "subtype": "datacube"}}],
        "process_graph": {
            "r": {
                "process_id": "reduce_dimension",
                "arguments": {
                    "data": {"from_parameter": "data"},
                    "dimension": "t",
                    "reducer": reducer("max"),
                },
                "result": True,
            }
        },
    }
    graph = {
        "l": ERA5,
        "u": {"process_id": "wettest", "arguments": {"data": {"from_node": "l"}}, "result": True},
    }
    (tmp_path / "udp.json").write_text(json.dumps(udp))
    (tmp_path / "graph.json").write_text(json.dumps({"process_graph": graph}))
    without = cli_in_process(*config, "plan", "graph.json", cwd=tmp_path)
    assert without.returncode == 1 and "ProcessUnsupported" in without.stderr
    result = cli_in_process(
        *config, "plan", "graph.json", "--udp", "udp.json", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["node_sites"] == {"l": "lumi", "u__r": "lumi"}
    assert plan["result_node"] == "u__r"
