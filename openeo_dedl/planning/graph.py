"""The flat openEO process graph as a networkx DAG of data dependencies."""

from __future__ import annotations

import networkx as nx

from openeo_dedl.errors import ProcessGraphInvalid, ProcessGraphMissing
from openeo_dedl.planning.walk import iter_references


class FlatGraph:
    """A flat process graph with its dependency DAG (edges point producer → consumer)."""

    def __init__(self, process_graph: dict):
        if not isinstance(process_graph, dict) or not process_graph:
            raise ProcessGraphMissing("The process graph is missing or empty.")
        self.nodes: dict[str, dict] = process_graph
        self.dag = nx.DiGraph()
        for node_id, node in process_graph.items():
            if not isinstance(node, dict) or not isinstance(node.get("process_id"), str):
                raise ProcessGraphInvalid(f"Node '{node_id}' has no valid 'process_id'.")
            args = node.get("arguments", {})
            if not isinstance(args, dict):
                raise ProcessGraphInvalid(f"Node '{node_id}' has invalid 'arguments'.")
            self.dag.add_node(node_id)
        for node_id, node in process_graph.items():
            for ref in iter_references(node.get("arguments", {})):
                if ref not in process_graph:
                    raise ProcessGraphInvalid(
                        f"Node '{node_id}' refers to node '{ref}', which does not exist."
                    )
                self.dag.add_edge(ref, node_id)
        if not nx.is_directed_acyclic_graph(self.dag):
            cycle = nx.find_cycle(self.dag)
            raise ProcessGraphInvalid(f"The process graph has a cycle: {cycle}.")
        results = [n for n, node in process_graph.items() if node.get("result")]
        if len(results) != 1:
            raise ProcessGraphInvalid(
                f"A process graph needs exactly one result node, found {len(results)}."
            )
        self.result_node: str = results[0]
        # Adjacency as plain lists: planning asks for them for every node, several times.
        self._producers = {n: list(self.dag.predecessors(n)) for n in self.dag.nodes}
        self._consumers = {n: list(self.dag.successors(n)) for n in self.dag.nodes}

    def process_id(self, node_id: str) -> str:
        return self.nodes[node_id]["process_id"]

    def arguments(self, node_id: str) -> dict:
        return self.nodes[node_id].get("arguments", {})

    def producers(self, node_id: str) -> list[str]:
        """Nodes whose values ``node_id`` uses (do not modify the list)."""
        return self._producers[node_id]

    def consumers(self, node_id: str) -> list[str]:
        """Nodes that use the value of ``node_id`` (do not modify the list)."""
        return self._consumers[node_id]

    def topological_order(self) -> list[str]:
        # Lexicographic tie-breaking keeps plans stable for the same graph.
        return list(nx.lexicographical_topological_sort(self.dag))

    def end_nodes(self) -> list[str]:
        """Nodes nobody consumes: the result node and e.g. additional save_result nodes."""
        return [n for n in self.dag.nodes if self.dag.out_degree(n) == 0]
