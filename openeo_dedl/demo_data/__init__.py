"""Deterministic demo data: a static STAC catalog of Cloud-Optimized GeoTIFFs over three sites.

Themes follow the DEDL paper: the 2022 Pakistan flood (GFM_FLOOD, GHSL_BUILT_S, ERA5_LAND) and the
2022 Po valley drought (ERA5_LAND, S1_SSM, CORINE_LAND_COVER), plus Sentinel-2 L2A near Bolzano.
Nothing is downloaded: every value comes from seeded synthetic models with spatial structure,
seasonal cycles and the 2022 events, so the same call writes the same bytes. The collection table
is in :mod:`openeo_dedl.demo_data.specs`.
"""

from openeo_dedl.demo_data.generate import (
    GENERATOR_VERSION,
    REGION_FILES,
    generate_demo_catalog,
)
from openeo_dedl.demo_data.specs import DEMO_COLLECTIONS

__all__ = ["DEMO_COLLECTIONS", "GENERATOR_VERSION", "REGION_FILES", "generate_demo_catalog"]
