"""Static checks of a process graph against the process specs and the limits (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openeo_dedl.errors import (
    OpenEOError,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
    ProcessUnsupported,
)
from openeo_dedl.locations import StacAllowList, UrlPrefix
from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.limits import GraphLimits, check_limits
from openeo_dedl.planning.literals import check_literals
from openeo_dedl.planning.walk import iter_callbacks


def validate_process_graph(
    process_graph: dict,
    specs: Mapping[str, dict],
    collection_exists=None,
    *,
    limits: GraphLimits | None = None,
    allowed_urls: tuple[UrlPrefix, ...] | None = None,
    stac_allowed: StacAllowList | None = None,
    workspaces: frozenset[str] | None = None,
) -> list[OpenEOError]:
    """All errors found in ``process_graph`` (recursing into callbacks); empty when valid.

    ``specs`` maps process id → openEO process spec. ``collection_exists(id) -> OpenEOError|None``
    checks ``load_collection`` ids when given. First the graph (user-defined processes already
    inlined) is checked against ``limits`` (default: ``planning.limits.active_limits()``); an
    exceeded limit is the only error reported, nothing else is looked at. Literal arguments
    that the run would refuse are reported too (``planning.literals``; ``allowed_urls``: the
    deployment's URL prefixes, None when not known; ``stac_allowed``: where load_stac may read;
    ``workspaces``: the ids of the export workspaces, None when not known).
    """
    errors = check_limits(process_graph, limits)
    if any(e.code == "ProcessGraphComplexity" for e in errors):
        return errors
    return errors + _validate(
        process_graph, specs, collection_exists, (allowed_urls, stac_allowed), workspaces
    )


def _validate(
    process_graph: dict,
    specs: Mapping[str, dict],
    collection_exists,
    policy: tuple[tuple[UrlPrefix, ...] | None, StacAllowList | None],
    workspaces: frozenset[str] | None = None,
) -> list:
    errors: list[OpenEOError] = []
    try:
        graph = FlatGraph(process_graph)
    except OpenEOError as exc:
        return [exc]
    for node_id, node in graph.nodes.items():
        pid = node["process_id"]
        namespace = node.get("namespace")
        spec = specs.get(pid)
        if spec is None or namespace not in (None, "backend", "predefined"):
            errors.append(
                ProcessUnsupported(
                    f"Process with identifier '{pid}' is not available in namespace "
                    f"'{namespace or 'backend'}'."
                )
            )
            continue
        args = graph.arguments(node_id)
        errors.extend(argument_errors(node_id, node, spec))
        if pid == "load_collection" and collection_exists is not None:
            cid = args.get("id")
            if isinstance(cid, str):
                err = collection_exists(cid)
                if err is not None:
                    errors.append(err)
        errors.extend(check_literals(node_id, pid, args, *policy, workspaces))
        for _, callback in iter_callbacks(args):
            errors.extend(_validate(callback, specs, collection_exists, policy, workspaces))
    return errors


def argument_errors(node_id: str, node: dict, process: Mapping[str, Any]) -> list[OpenEOError]:
    """Missing required and unknown arguments of ``node`` calling ``process`` (a process spec
    or a user-defined process: its ``parameters``)."""
    pid = node["process_id"]
    params = {p.get("name"): p for p in process.get("parameters") or [] if isinstance(p, dict)}
    args = node.get("arguments") or {}
    errors: list[OpenEOError] = []
    for name, param in params.items():
        required = not param.get("optional", False) and "default" not in param
        if required and name not in args:
            errors.append(
                ProcessParameterRequired(
                    f"Process '{pid}' parameter '{name}' is required (node '{node_id}')."
                )
            )
    for name in args:
        if name not in params:
            errors.append(
                ProcessParameterUnsupported(
                    f"Process '{pid}' does not support parameter '{name}' (node '{node_id}')."
                )
            )
    return errors
