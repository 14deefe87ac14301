"""Alembic environment: runs on the engine handed over in ``config.attributes["engine"]``.

Called programmatically (openeo_dedl.storage.db.migrate); a plain ``alembic`` command line can
use it too with ``-x url=<database url>``.
"""

from __future__ import annotations

from alembic import context

from openeo_dedl.storage import import_models
from openeo_dedl.storage.db import Base, UTCDateTime, make_engine

import_models()
target_metadata = Base.metadata

engine = context.config.attributes.get("engine")
if engine is None:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database with -x url=<database url>")
    engine = make_engine(url)


def render_item(type_: str, obj, autogen_context):
    """Write UTCDateTime as a plain timezone-aware DateTime: migrations import only sqlalchemy."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds tables where needed.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
