"""Explaining a plan: the text report, the SVG drawing and ``openeo-dedl plan``."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from openeo_dedl.planning import plan_process_graph
from openeo_dedl.planning.explain import explain, human_bytes, to_svg
from tests.planning.helpers import facts, items_by_day, load, node, reduce, save

SVG = "{http://www.w3.org/2000/svg}"


def two_site_plan():
    collections = {"E": facts("E", "lumi", side=500), "F": facts("F", "central", side=500)}
    graph = {
        "e": load("E"),
        "e_sum": reduce("e", "t", "sum"),
        "f": load("F"),
        "f_max": reduce("f", "t", "max"),
        "m": node("mask", data="@e_sum", mask="@f_max"),
        "s": save("m"),
    }
    return plan_process_graph(graph, collections, "central")


def test_text_report_lists_partitions_transfers_and_the_naive_baseline():
    plan = two_site_plan()
    text = explain(plan)
    assert "e_sum: lumi → central  2.0 MB" in text
    assert "naive, all raw inputs shipped to central: 20.0 MB" in text
    assert "Estimated bytes crossing sites: 2.0 MB" in text
    for p in plan.partitions:
        assert f"{p.id:<5} {p.site}" in text


def test_text_report_describes_splits():
    graph = {"l": load("C"), "r": reduce("l", "t", "max"), "s": save("r")}
    split = {"C": facts("C", "lumi", items=items_by_day(["lumi"] * 2 + ["leonardo"] * 2))}
    text = explain(plan_process_graph(graph, split, "central"))
    assert "split l (C, temporal): lumi: l__lumi, leonardo: l__leonardo" in text
    assert "merged by r (max)" in text


def test_svg_draws_every_node_coloured_by_site_and_marks_cross_site_edges():
    plan = two_site_plan()
    root = ET.fromstring(to_svg(plan))
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert sorted(t.split(" at ")[0] for t in titles) == sorted(plan.graph.nodes)
    fills = {
        t.text.split(" at ")[1]: rect.get("fill")
        for rect in root.iter(f"{SVG}rect")
        for t in rect.iter(f"{SVG}title")
    }
    assert len(set(fills.values())) == 2  # one colour per site
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 1  # the one edge crossing sites


def test_human_bytes():
    assert [human_bytes(n) for n in (5, 2_000, 3_500_000, 7e9)] == [
        "5 B",
        "2.0 kB",
        "3.5 MB",
        "7.0 GB",
    ]


def test_cli_prints_the_plan_and_draws_it(tmp_path, demo_catalog_dir, monkeypatch, capsys):
    from openeo_dedl.cli import main

    window = {"west": 67.96, "south": 26.98, "east": 68.02, "north": 27.04}
    interval = ["2022-08-11", "2022-09-17"]
    graph = {
        "flood": load("GFM_FLOOD", spatial_extent=window, temporal_extent=interval),
        "fmax": reduce("flood", "t", "max"),
        "era5": load("ERA5_LAND", spatial_extent=window, temporal_extent=interval),
        "psum": reduce("era5", "t", "sum"),
        "rs": node("resample_cube_spatial", data="@psum", target="@fmax", method="near"),
        "s": save("rs"),
    }
    (tmp_path / "graph.json").write_text(json.dumps({"process_graph": graph}))
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndemo_catalog_dir = "{demo_catalog_dir}"\n'
    )

    # As a user runs it: a separate process.
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "openeo_dedl.cli",
            "--config",
            str(config),
            "plan",
            "graph.json",
            "--svg",
            "plan.svg",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert text.returncode == 0, text.stderr
    assert "psum: lumi → central" in text.stdout
    assert "naive, all raw inputs shipped to central" in text.stdout
    ET.parse(tmp_path / "plan.svg")

    # The other options in this process (faster).
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "plan", "graph.json", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(t["node"], t["from_site"], t["to_site"]) for t in plan["transfers"]] == [
        ("psum", "lumi", "central")
    ]
    assert 0 < plan["estimated_bytes"]["planned"] < plan["estimated_bytes"]["naive"]

    (tmp_path / "bad.json").write_text(json.dumps({"a": {"process_id": "add"}}))
    assert main(["--config", str(config), "plan", "bad.json"]) == 1
    assert "ProcessGraphInvalid" in capsys.readouterr().err


def test_svg_edges_are_arrows_and_long_node_names_are_shown_whole():
    long_name = "precipitation_summed_over_the_whole_monsoon_season_at_lumi"
    collections = {"E": facts("E", "lumi", side=500), "F": facts("F", "central", side=500)}
    graph = {
        "e": load("E"),
        long_name: reduce("e", "t", "sum"),
        "f": load("F"),
        "f_max": reduce("f", "t", "max"),
        "m": node("mask", data=f"@{long_name}", mask="@f_max"),
        "s": save("m"),
    }
    plan = plan_process_graph(graph, collections, "central")
    root = ET.fromstring(to_svg(plan))
    markers = {m.get("id") for m in root.iter(f"{SVG}marker")}
    lines = list(root.iter(f"{SVG}line"))
    assert len(lines) == sum(len(plan.graph.producers(n)) for n in plan.graph.nodes)
    for line in lines:
        assert line.get("marker-end") in {f"url(#{m})" for m in markers}
    # The name, wrapped onto lines of its box, reads whole; the box is wide enough for them.
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert long_name in "".join(texts)
    (box,) = [
        rect
        for rect in root.iter(f"{SVG}rect")
        if any(t.text.startswith(f"{long_name} at ") for t in rect.iter(f"{SVG}title"))
    ]
    name_lines = [t for t in texts if t and t in long_name and len(t) > 3]
    assert len(name_lines) >= 2
    assert float(box.get("width")) >= 6.6 * max(len(t) for t in name_lines)
