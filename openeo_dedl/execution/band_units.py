"""The units of a collection's bands, recorded on a loaded cube for the result writers.

The loader puts ``{band: unit}`` (STAC ``raster:bands``/``unit`` of the collection's
``item_assets``) in the cube's attributes under ``UNITS_ATTR``; processes that keep attributes
(reductions, ``apply``, filters) carry it along, and the GTiff and netCDF writers label the bands
whose names are still the collection's with it.
"""

from __future__ import annotations

UNITS_ATTR = "openeo_dedl:units"


def collection_units(doc: dict) -> dict[str, str]:
    """Band name → unit, for the bands of the collection document ``doc`` that name one."""
    units: dict[str, str] = {}
    for name, asset in (doc.get("item_assets") or {}).items():
        bands = asset.get("raster:bands") if isinstance(asset, dict) else None
        if isinstance(bands, list) and bands and isinstance(bands[0], dict):
            unit = bands[0].get("unit")
            if isinstance(unit, str) and unit:
                units[name] = unit
    return units
