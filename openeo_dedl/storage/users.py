"""User rows: created on first use, so other records can refer to them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openeo_dedl.storage.db import utcnow
from openeo_dedl.storage.models import User


def ensure_user(session: Session, user_id: str, name: str | None = None) -> User:
    """The user row of ``user_id``, created if missing; ``last_seen`` is set to now."""
    user = session.get(User, user_id)
    if user is None:
        user = User(user_id=user_id, name=name)
        session.add(user)
    elif name and user.name != name:
        user.name = name
    user.last_seen = utcnow()
    session.flush()
    return user
