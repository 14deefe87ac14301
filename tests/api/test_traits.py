"""Every process listed in /processes has its planning traits (planning/traits.py), and they
agree with its spec: the callback parameters it declares, the optional parameters refused here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from openeo_dedl.errors import ProcessParameterUnsupported
from openeo_dedl.execution.registry import build_registry
from openeo_dedl.planning.traits import CALLBACK_PARAMETERS, TRAITS


def _callback_parameters(schema: Any) -> set[str]:
    """Names of the parameters a callback schema (subtype process-graph) declares."""
    if isinstance(schema, list):
        return set().union(*(_callback_parameters(s) for s in schema))
    if not isinstance(schema, dict):
        return set()
    names = set()
    if schema.get("subtype") == "process-graph":
        names = {p["name"] for p in schema.get("parameters", [])}
    for key in ("anyOf", "oneOf", "allOf"):
        names |= _callback_parameters(schema.get(key))
    return names


@pytest.fixture(scope="module")
def listed(client) -> list[dict]:
    processes = client.get("/openeo/1.2/processes?limit=10000").json()["processes"]
    assert len(processes) > 100  # the whole list, not a page of it
    return processes


def test_every_listed_process_has_its_traits(listed):
    missing = sorted(p["id"] for p in listed if p["id"] not in TRAITS)
    assert missing == []


def test_callback_parameters_are_those_of_the_specs(listed):
    for process in listed:
        declared = {
            p["name"]: names
            for p in process.get("parameters", [])
            if (names := _callback_parameters(p.get("schema")))
        }
        traits = TRAITS[process["id"]]
        assert {k: set(v) for k, v in traits.callbacks.items()} == declared, process["id"]
        for names in declared.values():
            assert names <= CALLBACK_PARAMETERS


def test_unsupported_parameters_are_optional_ones_of_the_specs(listed):
    specs = {p["id"]: p for p in listed}
    refusing = {pid: t.unsupported for pid, t in TRAITS.items() if t.unsupported}
    assert refusing  # filter_bands' wavelengths, resample_spatial's align
    for pid, names in refusing.items():
        optional = {p["name"] for p in specs[pid]["parameters"] if p.get("optional")}
        assert names <= optional, pid


def test_unsupported_parameters_are_refused_when_set():
    registry = build_registry({})
    filter_bands = registry["predefined", "filter_bands"].implementation
    cube = xr.DataArray(np.zeros((2, 1, 1)), dims=("bands", "y", "x"), coords={"bands": ["a", "b"]})
    assert list(filter_bands(data=cube, bands=["a"]).bands.values) == ["a"]
    with pytest.raises(ProcessParameterUnsupported, match="wavelengths"):
        filter_bands(data=cube, bands=["a"], wavelengths=[[0.5, 0.6]])
