"""Database.read: a read-only unit of work on a Core connection, with a Session only when needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select
from tests.actions.factory import add_dag, add_run

from tradewind.models import DagRun
from tradewind.store import Database, Store


def _statements(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2].strip().upper()))
    return seen


def test_read_store_runs_orm_queries_on_its_connection(db: Database) -> None:
    add_dag(db)
    add_run(db, "example", datetime(2024, 1, 1, tzinfo=UTC))
    with db.read() as store:
        assert store._session is None
        assert store.find_dag("example") is not None  # needs the ORM: a Session, made now
        assert store.session.connection() is store.connection()
        assert [run.dag_id for run in store.session.scalars(select(DagRun))] == ["example"]
        assert len(store.dag_runs("example")) == 1
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_read_on_sqlite_sends_no_begin(db: Database) -> None:
    """Each statement of a read is its own snapshot (as under PostgreSQL's READ COMMITTED)."""
    add_dag(db)
    seen = _statements(db)
    with db.read() as store:
        store.find_dag("example")
    with db.transaction(write=False) as store:
        store.find_dag("example")
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins == (["BEGIN"] if db.is_sqlite else [])


def test_read_sees_what_was_committed_meanwhile(db: Database) -> None:
    add_dag(db)
    with db.read() as store:
        assert store.dag_runs("example") == []
        add_run(db, "example", datetime(2024, 1, 1, tzinfo=UTC))
        assert len(store.dag_runs("example")) == 1  # no snapshot held between statements


@pytest.mark.parametrize("kwargs", [{}, {"session": object(), "connection": object()}])
def test_store_needs_a_session_or_a_connection(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        Store(**kwargs)  # type: ignore[arg-type]
