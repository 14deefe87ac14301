"""STAC access: collection metadata and the site that holds each collection or item."""

import pystac

from openeo_dedl.catalog.catalog import SITE_FIELD, Catalog, CollectionRecord

# openEO API 1.2 serves STAC 1.0.0 (capabilities say so, clients validate against it); pystac
# would stamp its own newer version on every document it writes.
STAC_VERSION = "1.0.0"
pystac.set_stac_version(STAC_VERSION)

__all__ = ["SITE_FIELD", "STAC_VERSION", "Catalog", "CollectionRecord"]
