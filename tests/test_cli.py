"""The command line, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "openeo_dedl.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_and_plan_a_graph_without_a_server(tmp_path, demo_catalog_dir):
    graph = {
        "process_graph": {
            "load": {
                "process_id": "load_collection",
                "arguments": {
                    "id": "ERA5_LAND",
                    "spatial_extent": {"west": 67, "south": 26, "east": 68, "north": 27},
                    "temporal_extent": ["2022-08-20", "2022-08-30"],
                    "bands": ["total_precipitation"],
                },
            },
            "max": {
                "process_id": "reduce_dimension",
                "arguments": {
                    "data": {"from_node": "load"},
                    "dimension": "t",
                    "reducer": {
                        "process_graph": {
                            "m": {
                                "process_id": "max",
                                "arguments": {"data": {"from_parameter": "data"}},
                                "result": True,
                            }
                        }
                    },
                },
            },
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "max"}, "format": "netCDF"},
                "result": True,
            },
        }
    }
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
