"""The database-backed stores the routers use, made once per app on first use.

The database is the app's (``app.state.database``) or the backend's (``backend.database``) when
either has one; otherwise one is opened (and migrated) here. Made lazily so that apps which never
touch files or user-defined processes never open a database.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI, Request

from openeo_dedl.api.auth import User
from openeo_dedl.config import Settings
from openeo_dedl.storage.db import Database
from openeo_dedl.storage.files import UserFiles
from openeo_dedl.storage.udps import UserProcessStore
from openeo_dedl.storage.workspace import Workspace

_lock = threading.Lock()


def database_of(app: FastAPI) -> Database:
    """The app's database (migrated)."""
    db = getattr(app.state, "database", None)
    if db is not None:
        return db
    with _lock:
        db = getattr(app.state, "database", None)
        if db is None:
            db = getattr(getattr(app.state, "backend", None), "database", None)
        if not isinstance(db, Database):
            settings: Settings = app.state.settings
            db = Database(settings.effective_database_url)
            db.migrate()
        app.state.database = db
        return db


def user_files(request: Request) -> UserFiles:
    """FastAPI dependency: the users' files."""
    app = request.app
    files = getattr(app.state, "user_files", None)
    if files is None:
        settings: Settings = app.state.settings
        database = database_of(app)
        with _lock:
            files = getattr(app.state, "user_files", None)
            if files is None:
                workspace = Workspace(settings.workspace_url, settings.workspace.storage_options)
                files = UserFiles(workspace, database, settings.workspace)
                app.state.user_files = files
    return files


def user_processes(request: Request) -> UserProcessStore:
    """FastAPI dependency: the users' user-defined processes."""
    app = request.app
    store = getattr(app.state, "user_process_store", None)
    if store is None:
        database = database_of(app)
        with _lock:
            store = getattr(app.state, "user_process_store", None)
            if store is None:
                store = UserProcessStore(database)
                app.state.user_process_store = store
    return store


def processes_of(request: Request, user: User | None) -> dict[str, dict]:
    """The user-defined processes of ``user`` (id -> process); none without a user.

    Blocking (database): call it from a worker thread.
    """
    if user is None:
        return {}
    return user_processes(request).all(user.user_id)
