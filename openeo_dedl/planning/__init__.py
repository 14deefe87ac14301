"""Pure planning: flat process-graph JSON (+ catalog facts) in, a site plan out. No I/O."""

from openeo_dedl.planning.estimate import Estimate, Estimator
from openeo_dedl.planning.facts import (
    BandFacts,
    CollectionFacts,
    ItemFacts,
    SearchBounds,
    without_sites,
)
from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.internal import ITEM_SITE_ARGUMENT, MERGE_PROCESS
from openeo_dedl.planning.options import RunOptions
from openeo_dedl.planning.partition import (
    MAX_PARTITION_DEPTH,
    Partition,
    Plan,
    Transfer,
    plan_process_graph,
    plan_single_site,
)
from openeo_dedl.planning.prepare import Environment, Invalid, Prepared, prepare
from openeo_dedl.planning.split import SplitLoad
from openeo_dedl.planning.validate import validate_process_graph

__all__ = [
    "ITEM_SITE_ARGUMENT",
    "MAX_PARTITION_DEPTH",
    "MERGE_PROCESS",
    "BandFacts",
    "CollectionFacts",
    "Estimate",
    "Environment",
    "Estimator",
    "FlatGraph",
    "Invalid",
    "ItemFacts",
    "Partition",
    "Plan",
    "Prepared",
    "SearchBounds",
    "RunOptions",
    "SplitLoad",
    "Transfer",
    "plan_process_graph",
    "plan_single_site",
    "prepare",
    "validate_process_graph",
    "without_sites",
]
