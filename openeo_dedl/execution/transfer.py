"""Hand-over of partition outputs between sites.

``memory``: the producing site computes the output and the result travels through the API process.
``staging``: the producing site's workers write the output as Zarr to that site's staging store
(an fsspec URL: a local directory by default, S3-compatible object storage in production) and the
consuming site's workers read it from there; the clusters of two sites never connect.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fsspec
import xarray as xr

STAGED_VARIABLE = "data"


@dataclass
class Staged:
    """Where one partition output was staged, how large it is and how long writing took."""

    url: str
    nbytes: int
    seconds: float


def stage_output(
    client,
    value: xr.DataArray,
    staging_url: str,
    run_id: str,
    node: str,
    compute: Callable[[Any, Any], Any] | None = None,
) -> Staged:
    """Write ``value`` with the producing site's workers to ``<staging_url>/<run>/<node>.zarr``.

    ``compute(client, delayed)`` runs the write (default: ``client.compute(delayed).result()``;
    the runner passes its RunControl's, so that a canceled run stops writing).
    """
    url = f"{staging_url.rstrip('/')}/{run_id}/{node}.zarr"
    started = time.perf_counter()
    dataset = value.to_dataset(name=STAGED_VARIABLE)
    # Attributes may hold objects Zarr cannot encode; the grid lives in coordinates anyway.
    dataset.attrs = {}
    dataset[STAGED_VARIABLE].attrs = {}
    delayed = dataset.to_zarr(url, mode="w", compute=False, consolidated=True)
    if compute is None:
        client.compute(delayed).result()
    else:
        compute(client, delayed)
    seconds = time.perf_counter() - started
    fs, path = fsspec.core.url_to_fs(url)
    return Staged(url=url, nbytes=int(fs.du(path)), seconds=seconds)


def open_staged(staged: Staged) -> xr.DataArray:
    """The staged output as a lazy cube; the consuming site's workers read the chunks."""
    dataset = xr.open_zarr(staged.url, consolidated=True)
    return dataset[STAGED_VARIABLE]


def remove_run(staging_url: str, run_id: str) -> None:
    fs, path = fsspec.core.url_to_fs(f"{staging_url.rstrip('/')}/{run_id}")
    if fs.exists(path):
        fs.rm(path, recursive=True)


def new_run_id() -> str:
    return uuid.uuid4().hex
