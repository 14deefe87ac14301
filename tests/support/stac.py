"""Offline validation of STAC documents against the STAC JSON schemas in ../shared."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED

STAC_SCHEMAS = SHARED / "openeo-specs" / "stac-schemas" / "schemas.stacspec.org"


def stac_validator(kind: str):
    """A JSON-schema validator of STAC 1.0.0 ``item``, ``collection`` or ``catalog``."""
    import jsonschema
    from referencing import Registry, Resource

    if not STAC_SCHEMAS.exists():
        pytest.skip(f"STAC schemas not found at {STAC_SCHEMAS}")
    resources = []
    for path in STAC_SCHEMAS.rglob("*.json"):
        url = "https://schemas.stacspec.org/" + str(path.relative_to(STAC_SCHEMAS))
        resources.append((url, Resource.from_contents(json.loads(path.read_text()))))
    # GeoJSON schemas are not stored offline: accept any object with the right "type".
    for name in ("Feature", "Geometry"):
        resources.append(
            (
                f"https://geojson.org/schema/{name}.json",
                Resource.from_contents(
                    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
                ),
            )
        )
    registry = Registry().with_resources(resources)
    spec = {
        "item": "item-spec/json-schema/item.json",
        "collection": "collection-spec/json-schema/collection.json",
        "catalog": "catalog-spec/json-schema/catalog.json",
    }[kind]
    schema = json.loads((STAC_SCHEMAS / "v1.0.0" / spec).read_text())
    return jsonschema.Draft7Validator(schema, registry=registry)
