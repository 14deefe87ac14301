"""Kept results on a real local store (fsspec, Zarr): expiry, corrupt entries, size bound, users."""

from __future__ import annotations

import shutil

import numpy as np
import xarray as xr

from openeo_dedl.execution.reuse import ENTRY, ReuseStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _cube(value: float, n: int = 8) -> xr.DataArray:
    data = np.full((1, n, n), value, dtype="float32")
    return xr.DataArray(
        data, dims=("bands", "y", "x"), coords={"bands": ["b"]}, attrs={"unit": "mm"}
    ).chunk()


def _compute(delayed):
    return delayed.compute(scheduler="synchronous")


def _store(tmp_path, user="alice", clock=None, ttl=60.0, max_bytes=10**9) -> ReuseStore:
    return ReuseStore(lambda site: str(tmp_path / site), user, ttl, max_bytes, clock or Clock())


def test_kept_value_is_found_with_its_values_and_attributes(tmp_path):
    store = _store(tmp_path)
    assert store.lookup("lumi", "k1") is None
    kept = store.keep("lumi", "k1", _cube(3.0), _compute)
    assert kept is not None and kept.bytes > 0
    found = store.lookup("lumi", "k1")
    assert found is not None
    np.testing.assert_array_equal(found.value.values, _cube(3.0).values)
    assert found.value.attrs == {"unit": "mm"}
    assert store.lookup("central", "k1") is None  # kept at its site only


def test_other_users_do_not_see_kept_values(tmp_path):
    _store(tmp_path, "alice").keep("lumi", "k1", _cube(1.0), _compute)
    assert _store(tmp_path, "bob").lookup("lumi", "k1") is None
    assert _store(tmp_path, "alice").lookup("lumi", "k1") is not None


def test_expired_values_are_removed(tmp_path):
    clock = Clock()
    store = _store(tmp_path, clock=clock, ttl=60.0)
    store.keep("lumi", "old", _cube(1.0), _compute)
    clock.now += 30
    assert store.lookup("lumi", "old") is not None
    clock.now += 31
    store.keep("lumi", "new", _cube(2.0), _compute)  # its sweep removes the expired one
    assert store.lookup("lumi", "old") is None
    assert [p.name for p in (tmp_path / "lumi").iterdir() for p in p.iterdir()] == ["new"]


def test_corrupt_or_half_written_entries_are_misses(tmp_path):
    store = _store(tmp_path)
    store.keep("lumi", "k1", _cube(1.0), _compute)
    (entry,) = (tmp_path / "lumi").glob(f"*/k1/{ENTRY}")
    entry.write_text("{not json")
    assert store.lookup("lumi", "k1") is None
    entry.unlink()  # a writer that stopped before its entry: its Zarr alone is no entry
    assert store.lookup("lumi", "k1") is None
    store.keep("lumi", "k3", _cube(1.0, n=64).chunk(16), _compute)
    (entry,) = (tmp_path / "lumi").glob(f"*/k3/{ENTRY}")
    chunks = [p for p in entry.parent.glob("*.zarr/data/*") if not p.name.startswith(".")]
    chunks[0].unlink()  # a lost chunk would read as NaN: a miss, not wrong values
    assert len(chunks) > 1 and store.lookup("lumi", "k3") is None
    store.keep("lumi", "k2", _cube(1.0), _compute)
    (entry,) = (tmp_path / "lumi").glob(f"*/k2/{ENTRY}")
    for zarr in entry.parent.glob("*.zarr"):  # the entry names a store that is gone
        shutil.rmtree(zarr)
    assert store.lookup("lumi", "k2") is None


def test_oldest_values_go_first_past_the_size_bound(tmp_path):
    clock = Clock()
    one = _store(tmp_path, clock=clock).keep("lumi", "a", _cube(1.0), _compute)
    assert one is not None
    store = _store(tmp_path, clock=clock, max_bytes=int(one.bytes * 2.5))
    for key in ("b", "c"):
        clock.now += 1
        store.keep("lumi", key, _cube(2.0), _compute)
    assert store.lookup("lumi", "a") is None
    assert store.lookup("lumi", "b") is not None and store.lookup("lumi", "c") is not None


def test_concurrent_writers_of_one_key_leave_one_whole_entry(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = _store(tmp_path)
    with ThreadPoolExecutor(4) as pool:
        kept = list(pool.map(lambda v: store.keep("lumi", "k", _cube(5.0), _compute), range(4)))
    assert all(k is not None for k in kept)
    found = store.lookup("lumi", "k")
    assert found is not None
    np.testing.assert_array_equal(found.value.values, _cube(5.0).values)
    assert not list((tmp_path / "lumi").glob("*/k/*.partial"))
