"""Pure planning: flat process-graph JSON (+ catalog facts) in, a site plan out. No I/O."""

from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.partition import Partition, Plan, Transfer, plan_process_graph
from openeo_dedl.planning.validate import validate_process_graph

__all__ = [
    "FlatGraph",
    "Partition",
    "Plan",
    "Transfer",
    "plan_process_graph",
    "validate_process_graph",
]
