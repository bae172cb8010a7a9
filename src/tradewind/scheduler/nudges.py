"""Nudges: whoever triggers a run wakes the schedulers, so it starts now, not at their next poll.

* PostgreSQL (schedulers on any machine): ``NOTIFY tradewind_scheduler`` in the trigger's own
  transaction, so it is delivered at commit and only if the run exists; each scheduler
  ``LISTEN``\\ s on a connection of its own.
* SQLite (one machine, one scheduler): a datagram, sent after the commit, to a Unix socket in
  the abstract namespace named after the database file (nothing to clean up on disk).

A nudge is a hint: a lost one (no scheduler running, a full socket buffer, a dropped
connection) costs no more than the scheduler's poll interval, which stays the fallback.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import URL

from tradewind.store import Store

log = logging.getLogger(__name__)

CHANNEL = "tradewind_scheduler"
_RECONNECT_SECONDS = 1.0
_CHECK_STOP_SECONDS = 0.5


def nudge_schedulers(store: Store) -> None:
    """Wake the schedulers once ``store``'s transaction commits (nothing if it rolls back)."""
    connection = store.connection()
    if connection.dialect.name == "sqlite":
        address = socket_address(connection.engine.url)
        if address is not None:
            store.after_commit(lambda: send_datagram(address))
    else:
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def socket_address(url: URL) -> bytes | None:
    """The abstract Unix socket of the scheduler of this SQLite database (None: in memory)."""
    return _socket_address(url.database)


@functools.cache  # every trigger asks: resolve the path once per process
def _socket_address(database: str | None) -> bytes | None:
    if not database or database == ":memory:":
        return None
    digest = hashlib.sha1(os.path.realpath(database).encode(), usedforsecurity=False).hexdigest()
    return f"\0tradewind-scheduler-{digest[:20]}".encode()


def send_datagram(address: bytes) -> None:
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        sender.sendto(b"!", address)


class NudgeListener:
    """A daemon thread that calls ``on_nudge`` (from that thread) for each nudge received."""

    def __init__(self, url: URL, on_nudge: Callable[[], None]) -> None:
        self._url = url
        self._on_nudge = on_nudge
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tradewind-nudges", daemon=True)
        self._socket: socket.socket | None = None

    def start(self) -> bool:
        """Start listening; False when nudges cannot reach this process (polling still works)."""
        if self._url.drivername.startswith("sqlite"):
            address = socket_address(self._url)
            if address is None:
                return False
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                receiver.bind(address)  # taken: another process (a backfill) listens for this DB
            except OSError:
                receiver.close()
                return False
            receiver.settimeout(_CHECK_STOP_SECONDS)
            self._socket = receiver
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(_CHECK_STOP_SECONDS * 4)
        if self._socket is not None:
            self._socket.close()

    def _serve(self) -> None:
        if self._socket is not None:
            self._receive_datagrams(self._socket)
            return
        while not self._stop.is_set():
            try:
                self._listen_postgres()
            except Exception as exc:  # the database went away: nudges resume when it is back
                log.warning("Not receiving trigger nudges (%s); retrying in %gs", exc, _RECONNECT_SECONDS)
                self._stop.wait(_RECONNECT_SECONDS)

    def _receive_datagrams(self, receiver: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                receiver.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            self._on_nudge()

    def _listen_postgres(self) -> None:
        import psycopg

        from tradewind.runtime.xcoms import XComDatabase  # the one SQLAlchemy URL -> libpq translation

        conninfo = XComDatabase.from_url(self._url.render_as_string(hide_password=False)).target
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._on_nudge()  # a trigger may have come while we were not listening
            while not self._stop.is_set():
                for _ in connection.notifies(timeout=_CHECK_STOP_SECONDS):
                    self._on_nudge()
