"""Persistent state: SQLAlchemy records (jobs, logs, users, ...) and their Alembic migrations.

:mod:`openeo_dedl.storage.db` holds the one declarative ``Base`` every area's models use, the
engine/session factory and :func:`~openeo_dedl.storage.db.migrate` (``alembic upgrade heads``).
Modules defining models are listed in :data:`MODEL_MODULES` so migrations and the migration
check test see every table. See /docs/architecture.md ("Storage").
"""

from __future__ import annotations

import importlib

from openeo_dedl.storage.db import Base, Database, UTCDateTime, utcnow

# Every module that defines models on ``Base``; add yours here (one line).
MODEL_MODULES: list[str] = [
    "openeo_dedl.storage.models",
    "openeo_dedl.storage.files",
    "openeo_dedl.storage.process_store",
]


def import_models() -> None:
    """Import every model module, so that ``Base.metadata`` knows all tables."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


__all__ = ["MODEL_MODULES", "Base", "Database", "UTCDateTime", "import_models", "utcnow"]
