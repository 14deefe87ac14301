"""User rows: created on first use, so other records can refer to them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openeo_dedl.storage.db import utcnow
from openeo_dedl.storage.models import User


def _insert_if_missing(session: Session, user_id: str, name: str | None) -> None:
    """Insert the row unless it exists: two first requests of a new user at the same moment
    (in any API process) must not fail one of them on the primary key."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        session.add(User(user_id=user_id, name=name))
        session.flush()
        return
    now = utcnow()
    statement = insert(User).values(user_id=user_id, name=name, created=now, last_seen=now)
    session.execute(statement.on_conflict_do_nothing(index_elements=["user_id"]))


def ensure_user(session: Session, user_id: str, name: str | None = None) -> User:
    """The user row of ``user_id``, created if missing; ``last_seen`` is set to now."""
    user = session.get(User, user_id)
    if user is None:
        _insert_if_missing(session, user_id, name)
        user = session.get(User, user_id, populate_existing=True)
    elif name and user.name != name:
        user.name = name
    user.last_seen = utcnow()
    session.flush()
    return user
