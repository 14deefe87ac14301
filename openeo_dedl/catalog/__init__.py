"""STAC access: collection metadata and the site that holds each collection or item."""

from openeo_dedl.catalog.catalog import SITE_FIELD, Catalog, CollectionRecord

__all__ = ["Catalog", "CollectionRecord", "SITE_FIELD"]
