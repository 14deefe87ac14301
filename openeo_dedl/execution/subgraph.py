"""A partition's flat sub-graph: its nodes, values of other partitions coming in as parameters."""

from __future__ import annotations

from collections.abc import Sequence

from openeo_dedl.execution.pg_adapter import with_outputs_node
from openeo_dedl.planning import FlatGraph, Partition
from openeo_dedl.planning.walk import replace_references

INPUT_PARAMETER_PREFIX = "dedl_input_"


def input_parameter(node_id: str) -> str:
    return f"{INPUT_PARAMETER_PREFIX}{node_id}"


def partition_subgraph(graph: FlatGraph, partition: Partition, outputs: Sequence[str]) -> dict:
    """The flat graph computing ``outputs`` from this partition's nodes and external inputs.

    One output is the graph's result node; several are collected by one extra result node (see
    ``pg_adapter.with_outputs_node``), so that the partition is parsed once, not per output.
    """
    members = set(partition.nodes)
    needed = set(outputs)
    stack = list(outputs)
    while stack:
        for producer in graph.producers(stack.pop()):
            if producer in members and producer not in needed:
                needed.add(producer)
                stack.append(producer)
    # Values of other partitions come in as parameters.
    external = {node: {"from_parameter": input_parameter(node)} for node in partition.inputs}
    sub = {}
    for node_id in partition.nodes:
        if node_id not in needed:
            continue
        node = dict(graph.nodes[node_id])
        node["arguments"] = replace_references(node.get("arguments", {}), external)
        node["result"] = len(outputs) == 1 and node_id == outputs[0]
        sub[node_id] = node
    return sub if len(outputs) == 1 else with_outputs_node(sub, list(outputs))
