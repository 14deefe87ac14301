"""Process graphs of plain ``add``/``sum`` nodes in three shapes, with their values in closed form.

Shared by the scaling tests and ``bench/graph_scaling.py``. Each builder takes the number of
nodes ``n`` and returns (flat process graph, the value its result node must have).
"""

from __future__ import annotations

from collections.abc import Callable


def _add(x, y) -> dict:
    return {"process_id": "add", "arguments": {"x": x, "y": y}}


def _ref(node_id: str) -> dict:
    return {"from_node": node_id}


def chain(n: int) -> tuple[dict, int]:
    """``n`` nodes, each adding ``i`` to the one before: the value is 0 + 1 + ... + (n - 1)."""
    graph = {"n0": _add(0, 0)}
    for i in range(1, n):
        graph[f"n{i}"] = _add(_ref(f"n{i - 1}"), i)
    graph[f"n{n - 1}"]["result"] = True
    return graph, n * (n - 1) // 2


def array(n: int) -> tuple[dict, int]:
    """``n - 1`` independent nodes ``i + 1`` in the array of one ``sum``: 1 + 2 + ... + (n - 1)."""
    leaves = n - 1
    graph = {f"a{i}": _add(i, 1) for i in range(leaves)}
    graph["total"] = {
        "process_id": "sum",
        "arguments": {"data": [_ref(f"a{i}") for i in range(leaves)]},
        "result": True,
    }
    return graph, leaves * (leaves + 1) // 2


def tree(n: int) -> tuple[dict, int]:
    """About ``n`` nodes: ``(n + 1) // 2`` independent nodes ``i + 1`` summed pairwise by a
    balanced tree of ``add`` nodes (one fewer than the leaves)."""
    leaves = (n + 1) // 2
    graph = {f"a{i}": _add(i, 1) for i in range(leaves)}
    level = list(graph)
    depth = 0
    while len(level) > 1:
        depth += 1
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = []
        for j, pair in enumerate(pairs):
            if len(pair) == 1:
                level.append(pair[0])
                continue
            node_id = f"s{depth}_{j}"
            graph[node_id] = _add(_ref(pair[0]), _ref(pair[1]))
            level.append(node_id)
    graph[level[0]]["result"] = True
    return graph, leaves * (leaves + 1) // 2


SHAPES: dict[str, Callable[[int], tuple[dict, int]]] = {
    "chain": chain,
    "array": array,
    "tree": tree,
}
