"""User-defined processes (``/process_graphs``): the service the API uses, and the checks of a
process before it is stored (its metadata's shape, its id, its graph prepared like any other).

Calls of stored processes in process graphs are inlined by ``planning/inline.py``; the records
are ``storage/process_store.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from openeo_dedl.errors import (
    PredefinedProcessExists,
    ProcessGraphInvalid,
    ProcessInvalid,
)
from openeo_dedl.planning.prepare import Preparer
from openeo_dedl.planning.walk import parameter_names
from openeo_dedl.storage import Database
from openeo_dedl.storage.process_store import UserProcessStore

_PARAMETER_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class Checker(Preparer, Protocol):
    """What checking a process to store needs of the backend (``Backend`` is one)."""

    def process_specs(self) -> list[dict]: ...


class UserProcesses:
    """The stored user-defined processes of every user; each method acts for one user."""

    def __init__(self, database: Database, backend: Checker):
        self.store = UserProcessStore(database)
        self.backend = backend

    def all(self, user_id: str) -> dict[str, dict[str, Any]]:
        """Every process of ``user_id`` by id, sorted by id (what process graphs may call)."""
        return self.store.all(user_id)

    def get(self, user_id: str, process_id: str) -> dict[str, Any] | None:
        return self.store.get(user_id, process_id)

    def put(self, user_id: str, process: dict[str, Any]) -> None:
        """Check ``process`` (with its ``id``) and store it, replacing one stored before;
        raises the first problem found."""
        check_definition(process, self.store.all(user_id), self.backend, user_id)
        self.store.put(user_id, process["id"], process)

    def delete(self, user_id: str, process_id: str) -> bool:
        """Delete a process; False if there was none."""
        return self.store.delete(user_id, process_id)


def _check_schema(schema: Any, where: str) -> None:
    """A process schema: one JSON Schema (an object) or a non-empty list of them."""
    if isinstance(schema, dict):
        return
    if isinstance(schema, list) and schema and all(isinstance(s, dict) for s in schema):
        return
    raise ProcessInvalid(
        f"{where} 'schema' must be a JSON Schema object or a non-empty list of them."
    )


_KIND_NAMES = {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}


def _check_types(doc: Mapping[str, Any], where: str, **expected: type) -> None:
    """Each of ``expected`` in ``doc``, unless absent or null, has its type."""
    for key, kind in expected.items():
        value = doc.get(key)
        if value is not None and not isinstance(value, kind):
            raise ProcessInvalid(f"{where} '{key}' must be {_KIND_NAMES[kind]}.")


def check_metadata(process: Mapping[str, Any]) -> None:
    """The metadata of a process to store: parameters and return value as the spec shapes them
    (the openEO API's ``process_parameter`` and ``process_return_value``)."""
    params = process.get("parameters")
    if params is not None:
        if not isinstance(params, list):
            raise ProcessInvalid("'parameters' must be a list of parameter objects.")
        names = []
        for param in params:
            name = param.get("name") if isinstance(param, dict) else None
            if not isinstance(name, str) or not name or not set(name) <= _PARAMETER_NAME_CHARS:
                raise ProcessInvalid(
                    "Every parameter needs a 'name' of letters, digits and underscores."
                )
            where = f"Parameter '{name}':"
            _check_types(
                param, where, description=str, optional=bool, deprecated=bool, experimental=bool
            )
            if "schema" in param:  # required by the spec; clients that omit it are tolerated
                _check_schema(param["schema"], where)
            names.append(name)
        if len(set(names)) != len(names):
            raise ProcessInvalid(f"Parameter names must be unique: {names}.")
    returns = process.get("returns")
    if returns is not None:
        if not isinstance(returns, dict):
            raise ProcessInvalid("'returns' must be an object.")
        _check_types(returns, "The return value:", description=str)
        if "schema" in returns:
            _check_schema(returns["schema"], "The return value:")
    for key in ("summary", "description"):
        if process.get(key) is not None and not isinstance(process[key], str):
            raise ProcessInvalid(f"'{key}' must be a string.")
    _check_types(
        process, "The process:", deprecated=bool, experimental=bool, categories=list,
        exceptions=dict, examples=list, links=list,
    )  # fmt: skip
    categories = process.get("categories") or []
    if not all(isinstance(c, str) for c in categories):
        raise ProcessInvalid("The process: 'categories' must be a list of strings.")


def check_definition(
    process: dict[str, Any],
    others: Mapping[str, dict],
    backend: Checker,
    user: str | None = None,
) -> None:
    """Raise the first problem of ``process`` (with ``process["id"]``) as a stored process of
    ``user`` (whose batch job results its load_stac may name).

    ``others`` are the user's stored processes (the one being replaced among them); the graph
    is prepared (validated) with calls of them, and of ``process`` itself, inlined.
    """
    pid = process["id"]
    check_metadata(process)
    if pid in {spec["id"] for spec in backend.process_specs()}:
        raise PredefinedProcessExists(
            f"A predefined process with the identifier '{pid}' exists: choose another id."
        )
    user_processes = {**others, pid: process}
    graph = process["process_graph"]
    declared = {p["name"] for p in process.get("parameters") or []}
    undeclared = sorted(_top_level_parameters(graph) - declared)
    if undeclared:
        raise ProcessGraphInvalid(
            f"The process graph refers to parameters that are not declared: {undeclared}."
        )
    backend.prepare({"process_graph": graph}, user_processes, user).valid()


def _top_level_parameters(process_graph: Mapping[str, Any]) -> set[str]:
    """Names in ``from_parameter`` outside callbacks (inside, callbacks bring their own)."""
    return parameter_names(
        [node.get("arguments") for node in process_graph.values() if isinstance(node, dict)]
    )
