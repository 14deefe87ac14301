"""load_stac of an Item or a Catalog inside the configured catalogs (this side does I/O: the
catalog's documents, a STAC API's item).

An **item** (its JSON in a static catalog, ``{api}/collections/{id}/items/{item}`` of a STAC API)
is its collection restricted to that one item: the collection's document (bands, dimension
names, units) and the collection's facts (grid, CRS, band types), with the item's footprint,
time and sites (``federation:backends`` of the item, else its collection's, as
``Catalog.item_sites`` says) instead of the collection's. It is read by the one loader, as
``load_collection`` reads the same item, so the values are those of ``load_collection`` of the
collection within the item's time and footprint (where no other item overlaps it).

A **catalog** of a static catalog (its root ``catalog.json`` or a sub-catalog) holding one
collection is that collection. Items of several collections form no one data cube (their bands,
grids and times may differ): such a catalog is refused, naming its collections and their URLs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import pystac

from openeo_dedl.catalog import Catalog
from openeo_dedl.errors import OpenEOError, ProcessParameterInvalid
from openeo_dedl.execution.facts import item_facts
from openeo_dedl.planning import CollectionFacts
from openeo_dedl.planning.stac import ITEM_PREFIX, StacSource

# At most this many collections are named in the refusal of a catalog holding several.
NAMED_COLLECTIONS = 10


def _param(message: str) -> OpenEOError:
    return ProcessParameterInvalid(
        f"The value passed for parameter 'url' in process 'load_stac' is invalid: {message}"
    )


def catalog_item_source(
    catalog: Catalog, facts_of: Callable[[str], CollectionFacts], location: str
) -> StacSource | None:
    """The source of the item whose document ``location`` is, None when it is no item of
    the configured catalogs."""
    found = catalog.item_at(location)
    if found is None:
        return None
    collection_id, item = found
    record = catalog.record(collection_id)
    pairs = catalog.item_providers(item, record)
    sites = tuple(site for _, site in pairs)
    facts = facts_of(collection_id)
    own = item_facts(item, sites, facts.crs)
    cid = f"{ITEM_PREFIX}{collection_id}/{item.id}"
    facts = replace(
        facts,
        id=cid,
        sites=sites,
        bbox=own.bbox or facts.bbox,
        native_bbox=own.native_bbox or facts.native_bbox,
        times=(own.time,) if own.time is not None else None,
        time_count=1,
        items=(own,),
        providers={p: s for p, s in pairs if p != s},
    )
    doc = record.collection.to_dict(include_self_link=False, transform_hrefs=False)
    return StacSource(cid, facts, items=(_item_dict(item),), collection=doc)


def _item_dict(item: pystac.Item) -> dict:
    """``item`` as a plain dict with absolute asset hrefs (read wherever the load runs)."""
    copy = item.clone()
    for asset in copy.assets.values():
        asset.href = asset.get_absolute_href() or asset.href
    return copy.to_dict(include_self_link=False, transform_hrefs=False)


def catalog_tree_source(
    catalog: Catalog, facts_of: Callable[[str], CollectionFacts], location: str
) -> StacSource | None:
    """The source of the static catalog document ``location`` (the collection it holds),
    None when it is no catalog of the configured static catalogs; ProcessParameterInvalid
    when it holds no collection or several."""
    ids = catalog.collections_in(location)
    if ids is None:
        return None
    if len(ids) == 1:
        return StacSource(ids[0], facts_of(ids[0]))
    name = os.path.basename(location)
    if not ids:
        raise _param(f"the STAC catalog {name!r} holds no collection of this back-end.")
    urls = []
    for cid in ids[:NAMED_COLLECTIONS]:
        href = catalog.collection(cid).get_self_href()
        urls.append(f"'{cid}' ({os.path.abspath(href) if href else 'no URL'})")
    more = f" and {len(ids) - NAMED_COLLECTIONS} more" if len(ids) > NAMED_COLLECTIONS else ""
    raise _param(
        f"the STAC catalog {name!r} holds {len(ids)} collections: {', '.join(urls)}{more}. "
        "Items of several collections form no one data cube (their bands, grids and "
        "times may differ): name one "
        "collection's URL (or one item's), or use load_collection with its id."
    )
