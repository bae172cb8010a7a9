"""Re-parse the DAG folder in the background, so parsing never holds up task dispatch.

A daemon thread calls :meth:`DagFolderSync.sync` every ``[scheduler] dag_dir_list_interval``
seconds. The files themselves are imported in worker processes by the loader, so the thread
mostly waits; only changed files (and files whose DAGs were deleted through the API) are
parsed. Each finished pass bumps :attr:`generation`,
which tells the scheduler to re-read DAGs (new schedules, new or removed tasks).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)


class Syncer(Protocol):
    def sync(self, *, force: bool = False) -> object: ...


class DagParser:
    """Runs ``syncer.sync()`` now and then every ``interval`` seconds in a daemon thread."""

    def __init__(self, syncer: Syncer, *, interval: float) -> None:
        self._syncer = syncer
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.generation = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tradewind-dag-parser", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def sync_now(self) -> None:
        """Parse once in the calling thread (at start-up, before the first tick)."""
        self._sync()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sync()

    def _sync(self) -> None:
        try:
            self._syncer.sync()
        except Exception:
            # A broken pass (database hiccup) must not kill the thread; the next one retries.
            log.exception("Parsing the DAG folder failed")
            return
        self.generation += 1
