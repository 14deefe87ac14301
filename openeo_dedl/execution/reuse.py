"""Kept partition results: written at their site, found again by key, expired, bounded per user.

Layout under a site's re-use folder (``Settings.reuse_url``, fsspec)::

    <user>/<key>/<writer>.zarr     the value, written by the site's workers (Zarr)
    <user>/<key>/entry.json        written last, by an atomic rename: which Zarr, when, how large

``<user>`` is a digest of the user id: results are never shared between users (a user's files,
UDP defaults or results of another's inputs could leak through them; see
docs/configuration.md). An entry counts only once its ``entry.json`` exists, so a writer that
stops half-way leaves nothing to be read, and two writers of one key each write their own Zarr
(the last ``entry.json`` wins). Anything unreadable is a miss (logged): the run computes the
value instead. Entries older than ``reuse.ttl_seconds`` are removed when met and by
:meth:`ReuseStore.sweep`, which also removes the oldest ones past ``max_bytes_per_user``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fsspec
import xarray as xr

from openeo_dedl.formats import rfc3339

logger = logging.getLogger(__name__)

ENTRY = "entry.json"
VARIABLE = "data"


@dataclass(frozen=True)
class Kept:
    """A kept value: its key, the cube (lazy, read by the site's workers), when it was made."""

    key: str
    value: xr.DataArray
    created: datetime
    bytes: int


def _user_folder(user: str | None) -> str:
    return hashlib.sha256((user or "").encode()).hexdigest()[:32]


def _json_attrs(attrs: dict) -> dict:
    """The attributes that survive JSON (the rest cannot be kept; the grid is in coordinates)."""
    kept = {}
    for name, value in attrs.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        kept[str(name)] = value
    return kept


class ReuseStore:
    """One user's kept results at every site."""

    def __init__(
        self,
        site_url: Callable[[str], str],
        user: str | None,
        ttl_seconds: float,
        max_bytes: int,
        clock: Callable[[], float] = time.time,
    ):
        self._site_url, self._user = site_url, _user_folder(user)
        self.ttl_seconds, self.max_bytes, self._clock = ttl_seconds, max_bytes, clock

    def _folder(self, site: str) -> tuple[Any, str]:
        fs, path = fsspec.core.url_to_fs(f"{self._site_url(site).rstrip('/')}/{self._user}")
        return fs, path

    def _expired(self, created: float) -> bool:
        return self._clock() - created > self.ttl_seconds

    def lookup(self, site: str, key: str) -> Kept | None:
        """The value kept under ``key`` at ``site``, or None (missing, expired or unreadable)."""
        fs, folder = self._folder(site)
        entry_path = f"{folder}/{key}/{ENTRY}"
        try:
            if not fs.exists(entry_path):
                return None
            entry = json.loads(fs.cat_file(entry_path))
            if self._expired(float(entry["created"])):
                self._remove(fs, f"{folder}/{key}")
                return None
            # A lost or truncated chunk would read as fill values: the sizes must agree.
            if int(fs.du(f"{folder}/{key}/{entry['data']}")) != int(entry["bytes"]):
                raise ValueError("its Zarr store is not the one written")
            url = f"{self._site_url(site).rstrip('/')}/{self._user}/{key}/{entry['data']}"
            array = xr.open_zarr(url, consolidated=True)[VARIABLE]
            array.attrs = dict(entry.get("attrs") or {})
            array.name = entry.get("name")
            created = datetime.fromtimestamp(float(entry["created"]), UTC)
            return Kept(key, array, created, int(entry.get("bytes", 0)))
        except Exception as exc:  # a corrupt entry is a miss, never a failure
            logger.warning(
                "kept result %s at site %s is unreadable (%s): computing it", key, site, exc
            )
            return None

    def keep(
        self,
        site: str,
        key: str,
        value: xr.DataArray,
        compute: Callable[[Any], Any],
    ) -> Kept | None:
        """Write ``value`` under ``key`` (``compute(delayed)`` runs the write on the site's
        workers) and return it as kept; None when writing failed (the run goes on without)."""
        fs, folder = self._folder(site)
        writer = f"{uuid.uuid4().hex}.zarr"
        base = f"{self._site_url(site).rstrip('/')}/{self._user}/{key}"
        try:
            dataset = value.to_dataset(name=VARIABLE)
            dataset.attrs = {}
            dataset[VARIABLE].attrs = {}
            compute(dataset.to_zarr(f"{base}/{writer}", mode="w", compute=False, consolidated=True))
            nbytes = int(fs.du(f"{folder}/{key}/{writer}"))
            created = self._clock()
            entry = {
                "key": key,
                "data": writer,
                "created": created,
                "bytes": nbytes,
                "name": value.name if isinstance(value.name, str) else None,
                "attrs": _json_attrs(dict(value.attrs)),
            }
            partial = f"{folder}/{key}/{ENTRY}.{uuid.uuid4().hex}.partial"
            fs.pipe_file(partial, json.dumps(entry).encode())
            fs.mv(partial, f"{folder}/{key}/{ENTRY}")  # atomic: readers see all or nothing
        except (OSError, ValueError, TypeError, KeyError) as exc:  # storage, Zarr encoding
            # Not cancels, time-outs or a lost site: those end the run as they would without.
            logger.warning("could not keep result %s at site %s: %s", key, site, exc)
            with contextlib.suppress(Exception):
                self._remove(fs, f"{folder}/{key}/{writer}")
            return None
        with contextlib.suppress(Exception):
            self.sweep(site)
        return self.lookup(site, key)

    def sweep(self, site: str) -> None:
        """Remove expired entries, Zarr stores no entry names (after the TTL: a writer may
        still be busy with one), and the oldest entries past ``max_bytes``."""
        fs, folder = self._folder(site)
        if not fs.exists(folder):
            return
        alive: list[tuple[float, int, str]] = []
        for key_path in fs.ls(folder, detail=False):
            entry = None
            with contextlib.suppress(Exception):
                entry = json.loads(fs.cat_file(f"{key_path}/{ENTRY}"))
            if entry is not None and self._expired(float(entry["created"])):
                self._remove(fs, key_path)
                continue
            for child in fs.ls(key_path, detail=True):
                name = child["name"].rstrip("/").rsplit("/", 1)[-1]
                referenced = entry is not None and name in (ENTRY, entry["data"])
                if not referenced and self._expired(_mtime(child, self._clock())):
                    self._remove(fs, child["name"])
            if entry is not None:
                alive.append((float(entry["created"]), int(entry.get("bytes", 0)), key_path))
        total = sum(size for _, size, _ in alive)
        for _, size, key_path in sorted(alive):
            if total <= self.max_bytes:
                break
            self._remove(fs, key_path)
            total -= size

    @staticmethod
    def _remove(fs, path: str) -> None:
        if fs.exists(path):
            fs.rm(path, recursive=True)


def _mtime(info: dict, default: float) -> float:
    """Modification time (seconds) of an fsspec listing entry (local: ``mtime``; object
    stores: ``LastModified``), ``default`` when unknown."""
    value = info.get("mtime", info.get("LastModified", info.get("last_modified")))
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return default


def created_text(kept: Kept) -> str:
    """When ``kept`` was made, as RFC 3339."""
    return rfc3339(kept.created)
