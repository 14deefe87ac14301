"""What the planner knows about each process: one :class:`Traits` record per process (pure).

Every process this backend lists (``/processes``) has a record here, and so have the processes
the planner adds (``planning/internal.py``); ``tests/planning/test_traits.py`` checks that none
is missing and that the callback parameters agree with the specs. A record says

- ``size``: how the output size follows from the inputs (a rule of ``planning/size_rules.py``);
  None: as large as the largest cube input, as floating point (band math and the like), or a
  plain value;
- ``split``: how the process behaves on the parts of a load split over sites
  (``planning/split.py``), see :class:`Split`;
- ``pinned``: a reduction that stays at its load's site when it directly follows the load
  (``planning/place.py``), and whose size never exceeds its input's (``planning/partition.py``);
- ``callbacks``: the parameters each callback argument declares (inlining user-defined processes
  leaves references to them alone, ``planning/inline.py``);
- ``unsupported``: optional parameters of the spec that the implementation here cannot honour
  (refused at run time unless null, ``execution/registry.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Flag, auto

from openeo_dedl.planning import size_rules as rules
from openeo_dedl.planning.internal import MERGE_PROCESS, PARTIAL_MEAN_PROCESS
from openeo_dedl.planning.sizes import Estimate

# (data estimate, argument getter) -> output estimate; see planning/size_rules.py.
SizeRule = Callable[[Estimate, Callable], Estimate]


class Split(Flag):
    """Behaviour of a process on the parts of a load split over sites."""

    NONE = 0
    # Works on each time step on its own: with parts holding disjoint time steps it gives the
    # same result per part as on the whole (unless it touches the time dimension).
    PER_TIME_STEP = auto()
    # Works per pixel and keeps NaN NaN whatever its arguments: it runs on each part of an
    # area split (parts are NaN outside their own items).
    PER_PIXEL = auto()
    # Element-wise and maps NaN to NaN: may be in an ``apply`` callback run on such parts.
    NAN_PRESERVING = auto()
    # As a reducer: skips missing values and gives a missing value where all are missing, so
    # on a part of an area split it gives the whole's result in the part's area, NaN elsewhere.
    MISSING_PRESERVING = auto()


@dataclass(frozen=True)
class Traits:
    """What the planner knows about one process (see the module docstring)."""

    size: SizeRule | None = None
    split: Split = Split.NONE
    pinned: bool = False
    callbacks: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unsupported: frozenset[str] = frozenset()


PLAIN = Traits()

_TIME = Split.PER_TIME_STEP
_PIXEL = Split.PER_PIXEL
_NAN = Split.NAN_PRESERVING
_MISSING = Split.MISSING_PRESERVING

_REDUCER = {"reducer": frozenset({"data", "context"})}


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Processes on arrays without callbacks.
_ARRAY_PROCESSES = _names("""
    array_append array_concat array_contains array_create array_create_labeled array_element
    array_find array_find_label array_interpolate_linear array_labels array_modify cummax
    cummin cumproduct cumsum order rearrange sort extrema quantiles product sd variance all
    any
""")

# Element-wise arithmetic that maps NaN to NaN.
_NAN_PRESERVING = _names("""
    absolute add subtract multiply divide sqrt power exp ln log sin cos tan floor ceil round
    sgn clip linear_scale_range normalized_difference
""")

# Other processes on plain values (numbers, logic, comparisons, text, dates).
_OTHER_PLAIN = _names("""
    arccos arcosh arcsin arctan arctan2 arsinh artanh cosh sinh tanh int mod e pi nan
    constant is_infinite is_nan is_nodata is_valid and or xor not if eq neq gt gte lt lte
    between text_begins text_concat text_contains text_ends text_find date_between
    date_difference date_shift inspect ddmc
""")

TRAITS: Mapping[str, Traits] = {
    # -- loading, saving, filtering -------------------------------------------------------------
    "load_collection": PLAIN,  # sized from collection facts (Estimator.load)
    # Planned as the load_collection of what its URL names (planning/stac.py).
    "load_stac": PLAIN,
    "load_geojson": PLAIN,
    "save_result": Traits(size=rules.same),
    # Copies what save_result saved (execution/exports.py): a value as large as the saved one.
    "export_workspace": Traits(size=rules.same),
    "filter_bbox": Traits(size=rules.filter_bbox, split=_TIME | _PIXEL),
    "filter_spatial": Traits(size=rules.filter_spatial, split=_TIME | _PIXEL),
    "filter_temporal": Traits(size=rules.filter_temporal, split=_TIME | _PIXEL),
    "filter_bands": Traits(
        size=rules.filter_bands, split=_TIME | _PIXEL, unsupported=frozenset({"wavelengths"})
    ),
    "filter_labels": Traits(
        size=rules.same, callbacks={"condition": frozenset({"value", "context"})}
    ),
    "mask": Traits(size=rules.same),
    # Per pixel without a replacement only: split.py looks at the argument.
    "mask_polygon": Traits(size=rules.same, split=_TIME),
    # -- dimensions and labels ------------------------------------------------------------------
    "rename_labels": Traits(size=rules.same, split=_TIME | _PIXEL),
    "rename_dimension": Traits(size=rules.same),
    "add_dimension": Traits(size=rules.same),
    "drop_dimension": Traits(size=rules.same),
    "dimension_labels": PLAIN,
    "create_data_cube": PLAIN,
    "trim_cube": PLAIN,
    # -- callbacks over cubes -------------------------------------------------------------------
    # apply: per pixel when its callback is NaN-preserving arithmetic (split.py looks at it).
    "apply": Traits(
        size=rules.as_float, split=_TIME, callbacks={"process": frozenset({"x", "context"})}
    ),
    "apply_dimension": Traits(
        size=rules.as_float, split=_TIME, callbacks={"process": frozenset({"data", "context"})}
    ),
    "apply_neighborhood": Traits(callbacks={"process": frozenset({"data", "context"})}),
    "apply_polygon": Traits(
        size=rules.as_float, callbacks={"process": frozenset({"data", "context"})}
    ),
    "apply_kernel": PLAIN,
    # Over bands a reduction is per pixel with a missing-preserving reducer (split.py).
    "reduce_dimension": Traits(
        size=rules.reduce_dimension, split=_TIME, pinned=True, callbacks=_REDUCER
    ),
    "reduce_spatial": Traits(size=rules.reduce_spatial, pinned=True, callbacks=_REDUCER),
    "aggregate_temporal": Traits(size=rules.aggregate_temporal, pinned=True, callbacks=_REDUCER),
    "aggregate_temporal_period": Traits(
        size=rules.aggregate_temporal_period, pinned=True, callbacks=_REDUCER
    ),
    "aggregate_spatial": Traits(size=rules.aggregate_spatial, pinned=True, callbacks=_REDUCER),
    "merge_cubes": Traits(
        size=rules.merge_cubes, callbacks={"overlap_resolver": frozenset({"x", "y", "context"})}
    ),
    "ndvi": Traits(size=rules.ndvi, split=_TIME | _PIXEL),
    "resample_spatial": Traits(
        size=rules.resample_spatial, split=_TIME, unsupported=frozenset({"align"})
    ),
    "resample_cube_spatial": Traits(size=rules.resample_cube_spatial),
    "resample_cube_temporal": Traits(size=rules.resample_cube_temporal),
    "climatological_normal": PLAIN,
    "anomaly": PLAIN,
    # -- the planner's own (planning/internal.py) -----------------------------------------------
    MERGE_PROCESS: Traits(size=rules.merge_sites),
    # A split load's per-site sums and counts: stays with its part of the load.
    PARTIAL_MEAN_PROCESS: Traits(size=rules.partial_mean, pinned=True),
    # -- arrays ---------------------------------------------------------------------------------
    "array_apply": Traits(callbacks={"process": frozenset({"x", "index", "label", "context"})}),
    "array_filter": Traits(callbacks={"condition": frozenset({"x", "index", "label", "context"})}),
    "count": Traits(callbacks={"condition": frozenset({"x", "context"})}),
    **dict.fromkeys(_ARRAY_PROCESSES, PLAIN),
    # Reducers that skip missing values and give one where all are missing.
    **dict.fromkeys(("mean", "median", "min", "max", "first", "last"), Traits(split=_MISSING)),
    "sum": PLAIN,  # 0 where everything is missing (split.py adds the parts' sums)
    # -- element-wise arithmetic that maps NaN to NaN -------------------------------------------
    **dict.fromkeys(_NAN_PRESERVING, Traits(split=_NAN)),
    # -- other plain values (numbers, logic, comparisons, text, dates) --------------------------
    **dict.fromkeys(_OTHER_PLAIN, PLAIN),
}

# Parameter names that callbacks of predefined processes declare. Also ``dimension`` and
# ``labels``: the table of inlining always held them (no current spec declares them), and
# leaving them out would change which references inlining substitutes inside callbacks.
CALLBACK_PARAMETERS = frozenset(
    {"dimension", "labels"}.union(
        *(names for traits in TRAITS.values() for names in traits.callbacks.values())
    )
)


def traits_of(process_id: str) -> Traits:
    """The traits of ``process_id`` (those of a plain process when it has none)."""
    return TRAITS.get(process_id, PLAIN)


def has_split(process_id: str, behaviour: Split) -> bool:
    """Whether ``process_id`` has the split behaviour ``behaviour``."""
    return behaviour in traits_of(process_id).split
