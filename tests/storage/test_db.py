"""The database foundation on SQLite and PostgreSQL: migrations, models, time zones, cascades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from openeo_dedl.storage import Base, Database, import_models
from openeo_dedl.storage.db import alembic_config, normalize_url
from openeo_dedl.storage.models import Job, JobLog, User


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def test_migrations_create_every_table_and_match_the_models(db):
    import_models()
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "jobs", "job_logs", "alembic_version"} <= tables
    assert set(Base.metadata.tables) <= tables
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # A model changed without a migration shows up here.
    assert diff == []


def test_migrate_twice_is_a_no_op_and_reaches_every_head(db):
    db.migrate()
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with db.engine.connect() as conn:
        assert set(MigrationContext.configure(conn).get_current_heads()) == heads


def test_downgrade_to_base_and_back(db):
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.migrate()
    assert "jobs" in inspect(db.engine).get_table_names()


def test_job_round_trip_keeps_json_and_utc_times(db):
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    with db.session() as s:
        s.add(User(user_id="alice"))
        s.add(
            Job(
                id="j1",
                user_id="alice",
                process={"process_graph": {"a": {"process_id": "add", "result": True}}},
                started=started,
                usage={"cpu": {"value": 1.5, "unit": "cpu-seconds"}},
            )
        )
    with db.session() as s:
        job = s.get(Job, "j1")
        assert job.status == "created" and job.progress == 0.0 and job.attempts == 0
        assert job.process["process_graph"]["a"]["result"] is True
        assert job.usage["cpu"]["value"] == 1.5
        assert job.started == started and job.started.tzinfo is not None
        assert job.started.utcoffset() == timedelta(0)
        assert job.created.tzinfo is not None
        assert abs(job.created - datetime.now(UTC)) < timedelta(minutes=1)


def test_naive_datetimes_are_refused(db):
    with pytest.raises(Exception, match="naive"), db.session() as s:
        s.add(User(user_id="bob", last_seen=datetime(2026, 1, 1)))


def test_log_ids_increase_and_logs_go_with_their_job(db):
    with db.session() as s:
        s.add(User(user_id="alice"))
        s.add(Job(id="j1", user_id="alice", process={}))
        s.add(Job(id="j2", user_id="alice", process={}))
    with db.session() as s:
        for i in range(3):
            s.add(JobLog(job_id="j1", level="info", message=f"m{i}", data={"site": "lumi"}))
            s.add(JobLog(job_id="j2", level="info", message=f"n{i}"))
    with db.session() as s:
        ids = s.scalars(select(JobLog.id).where(JobLog.job_id == "j1").order_by(JobLog.id)).all()
        assert len(ids) == 3 and ids == sorted(set(ids))
        s.delete(s.get(Job, "j1"))
    with db.session() as s:
        assert s.scalars(select(JobLog).where(JobLog.job_id == "j1")).all() == []
        assert len(s.scalars(select(JobLog).where(JobLog.job_id == "j2")).all()) == 3


def test_a_failing_session_rolls_back(db):
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(User(user_id="carol"))
        s.flush()
        raise RuntimeError("boom")
    with db.session() as s:
        assert s.get(User, "carol") is None


def test_default_url_is_a_sqlite_file_under_the_data_dir(tmp_path):
    from openeo_dedl.config import Settings

    settings = Settings(data_dir=tmp_path / "data")
    db = Database(settings.effective_database_url)
    db.migrate()
    assert (tmp_path / "data" / "openeo-dedl.db").is_file()
    db.dispose()


def test_plain_postgresql_urls_get_the_psycopg_driver():
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_ensure_user_creates_once_and_updates_last_seen(db):
    from openeo_dedl.storage.users import ensure_user

    with db.session() as s:
        first = ensure_user(s, "dave").last_seen
    with db.session() as s:
        user = ensure_user(s, "dave", name="Dave")
        assert user.last_seen >= first and user.name == "Dave"
    with db.session() as s:
        assert len(s.scalars(select(User).where(User.user_id == "dave")).all()) == 1
