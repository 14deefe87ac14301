"""Names the planner adds to process graphs and the runner understands (see planning/split.py).

They never appear in user graphs: validation rejects them as unknown before planning.
"""

# Argument of a per-site ``load_collection``: read only the items whose first site is this one,
# on the grid the whole load would have.
ITEM_SITE_ARGUMENT = "dedl_item_site"

# Process combining the per-site parts of an item-level split: ``cube1``, ``cube2``, ``combine``.
MERGE_PROCESS = "dedl_merge_sites"

# Process of a per-site partial mean (``data``, ``dimension``): the NaN-aware sum and the count of
# non-NaN values along ``dimension``, stacked along PARTIAL_DIMENSION (labels "sum", "count").
PARTIAL_MEAN_PROCESS = "dedl_partial_mean"
PARTIAL_DIMENSION = "dedl_partial"

# ``combine`` values: concatenate along time (parts hold disjoint time steps), take the first
# valid value per element (parts on one grid), or combine partial reductions over time.
COMBINE_CONCAT = "concat"
COMBINE_FIRST = "first"
COMBINE_REDUCERS = ("min", "max", "sum")
# Partial means: add sums and counts (MEAN_PARTS, a partial again), or add and divide (MEAN).
COMBINE_MEAN_PARTS = "mean_parts"
COMBINE_MEAN = "mean"
