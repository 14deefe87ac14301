"""Deterministic demo data: a static STAC catalog with Cloud-Optimized GeoTIFFs over three sites.

Themes follow the DEDL paper (2022 Pakistan flood, 2022 Po valley drought). Nothing is downloaded:
every value comes from seeded, smooth synthetic fields, so the same call writes the same bytes.
"""

from openeo_dedl.demo_data.generate import DEMO_COLLECTIONS, generate_demo_catalog

__all__ = ["DEMO_COLLECTIONS", "generate_demo_catalog"]
