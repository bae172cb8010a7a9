from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from tradewind.models import Base, DagModel, Pool
from tradewind.store import Database
from tradewind.store.migrate import (
    current_revision,
    downgrade,
    head_revision,
    init_db,
    reset_db,
    revisions,
    upgrade,
)


def test_fresh_database_is_at_head_with_default_pool(db: Database) -> None:
    assert current_revision(db) == head_revision()
    with db.transaction() as store:
        pools = [(p.pool, p.slots, p.description) for p in store.pools()]
    assert pools == [("default_pool", 128, "Default pool")]


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_each_migration_upgrades_a_database_holding_data(db: Database) -> None:
    downgrade(db, "base")
    assert not inspect(db.engine).has_table("dag")
    upgrade(db, revisions()[0])
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    with db.session() as session:
        session.add(DagModel(dag_id="kept", fileloc="/dags/kept.py", last_parsed_time=now))
        session.add(Pool(pool="kept_pool", slots=3, description="d"))
    for revision in revisions()[1:]:
        upgrade(db, revision)
    init_db(db)
    with db.session() as session:
        assert session.get(DagModel, "kept") is not None
        assert session.scalars(select(Pool.slots).where(Pool.pool == "kept_pool")).one() == 3
        assert session.get(DagModel, "kept").last_parsed_time == now  # type: ignore[union-attr]


def test_init_twice_keeps_data_and_one_default_pool(db: Database) -> None:
    with db.session() as session:
        session.add(Pool(pool="mine", slots=2, description=""))
    init_db(db)
    with db.transaction() as store:
        assert sorted(p.pool for p in store.pools()) == ["default_pool", "mine"]


def test_reset_drops_data(db: Database) -> None:
    with db.session() as session:
        session.add(Pool(pool="mine", slots=2, description=""))
    reset_db(db)
    with db.transaction() as store:
        assert [p.pool for p in store.pools()] == ["default_pool"]
