"""Nudges: a committed trigger wakes a listening scheduler at once, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tradewind.scheduler.nudges import NudgeListener, nudge_schedulers
from tradewind.store import Database


class Received:
    def __init__(self) -> None:
        self.count = 0
        self._event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self._event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        seen = self._event.wait(timeout)
        self._event.clear()
        return seen


@pytest.fixture
def listening(db: Database) -> Iterator[Received]:
    received = Received()
    listener = NudgeListener(db.engine.url, received)
    assert listener.start()
    try:
        if not db.is_sqlite:
            assert received.wait()  # PostgreSQL: one nudge on (re)connecting, for what it missed
        yield received
    finally:
        listener.stop()


def test_a_committed_nudge_wakes_the_listener(db: Database, listening: Received) -> None:
    with db.transaction() as store:
        nudge_schedulers(store)
    assert listening.wait()


def test_a_rolled_back_transaction_nudges_nobody(db: Database, listening: Received) -> None:
    before = listening.count
    with pytest.raises(RuntimeError), db.transaction() as store:
        nudge_schedulers(store)
        raise RuntimeError("the trigger failed")
    assert not listening.wait(0.5)
    with db.transaction() as store:  # the channel still works afterwards
        nudge_schedulers(store)
    assert listening.wait()
    assert listening.count == before + 1


def test_nudges_need_no_listener(db: Database) -> None:
    with db.transaction() as store:
        nudge_schedulers(store)
        assert store.session.execute(text("SELECT 1")).scalar() == 1


def test_one_listener_per_sqlite_database(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")  # PostgreSQL: any number of schedulers listen
    first, second = NudgeListener(db.engine.url, Received()), NudgeListener(db.engine.url, Received())
    assert first.start()
    try:
        assert not second.start()  # a backfill next to a scheduler: it polls instead
    finally:
        first.stop()
    third = NudgeListener(db.engine.url, Received())
    assert third.start()  # the address is free again once the first stopped
    third.stop()
