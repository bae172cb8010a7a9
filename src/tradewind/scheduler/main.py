"""Build and run a scheduler from configuration: what ``tradewind scheduler`` and ``standalone`` call."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from tradewind.config import Config
from tradewind.executors import make_executor
from tradewind.parsing import DagFolderSync
from tradewind.scheduler.parser import DagParser
from tradewind.scheduler.scheduler import Scheduler
from tradewind.store import Database
from tradewind.store.scheduling import RunScope

log = logging.getLogger(__name__)


def build_scheduler(
    config: Config, db: Database, *, parse: bool = True, scope: RunScope | None = None
) -> Scheduler:
    """A Scheduler with the configured executor and, unless ``parse`` is off, a DAG-folder parser.

    ``scope`` limits it to some runs of one DAG and turns off run creation (``dags backfill``).
    """
    parser = None
    if parse:
        sync = DagFolderSync(
            db, config.dags_folder, include_examples=config.core.load_examples,
            paused_at_creation=config.core.dags_are_paused_at_creation,
            timeout=config.core.dag_file_processor_timeout,
        )  # fmt: skip
        parser = DagParser(sync, interval=config.scheduler.dag_dir_list_interval)
    return Scheduler(
        db, make_executor(config, db=db), log_folder=config.log_folder, parallelism=config.core.parallelism,
        heartbeat_sec=config.scheduler.heartbeat_sec,
        health_check_threshold=config.scheduler.scheduler_health_check_threshold, parser=parser,
        zombie_threshold=config.scheduler.zombie_threshold_sec, scope=scope,
        queued_timeout=config.scheduler.task_queued_timeout, listen_for_nudges=scope is None,
    )  # fmt: skip


def run_scheduler(config: Config, db: Database, stop: threading.Event, *, parse: bool = True) -> bool:
    """Parse the DAG folder once, then schedule until ``stop`` is set.

    Returns False if the scheduler stopped because a peer declared it dead (see ``Scheduler.lost``).
    """
    scheduler = build_scheduler(config, db, parse=parse)
    if scheduler.parser is not None:
        scheduler.parser.sync_now()
    scheduler.run(stop)
    return not scheduler.lost


@contextmanager
def stop_event_on_signals(*signums: int) -> Iterator[threading.Event]:
    """An Event set by the first of ``signums``; a second one raises KeyboardInterrupt (main thread only)."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("Received %s: shutting down gracefully", signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in signums}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
