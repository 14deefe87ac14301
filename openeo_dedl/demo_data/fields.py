"""What the demo data's value models put where and when, for tests and use cases to refer to.

The models themselves live in the theme modules (:mod:`~openeo_dedl.demo_data.pakistan`,
:mod:`~openeo_dedl.demo_data.po_valley`, :mod:`~openeo_dedl.demo_data.bolzano`,
:mod:`~openeo_dedl.demo_data.climate`); this module names their public facts in one place.
"""

from openeo_dedl.demo_data.climate import (
    PAKISTAN_EVENT_DAYS,
    PAKISTAN_EVENT_PEAK,
    PO_DROUGHT,
)
from openeo_dedl.demo_data.pakistan import FLOOD_PEAK
from openeo_dedl.demo_data.po_valley import CLC_CLASSES, CLC_LEGEND

__all__ = [
    "CLC_CLASSES",
    "CLC_LEGEND",
    "FLOOD_PEAK",
    "PAKISTAN_EVENT_DAYS",
    "PAKISTAN_EVENT_PEAK",
    "PO_DROUGHT",
]
