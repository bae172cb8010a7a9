"""Inside a worker process: claim, run, heartbeat and report task attempts.

Delivery is at-least-once, so every message is checked against the database before it runs:

1. **Claim.** ``UPDATE task_instance SET state='running', hostname, pid … WHERE <key> AND
   try_number = <try> AND state = 'queued'``. One row: this delivery owns the attempt. No row:
   the attempt already runs or ran (a redelivery), or the scheduler moved on (cleared, reset);
   the message is acknowledged and nothing runs. A database error retries the message later.
2. **Run** through :class:`~tradewind.celery_worker.slots.TaskSlots`: a forked task process,
   as with the LocalExecutor.
3. **Report** to the result backend: the final event when the attempt ends, and ``RUNNING``
   at each heartbeat while it runs (see :mod:`.messages`); each store wakes the executor
   (:mod:`.results`), which turns them into TaskEvents. The claim already recorded the start
   in the database, so a short attempt costs one result write.
4. **Heartbeat** every ``heartbeat_interval`` seconds: the ``WorkerJob`` row, each running
   instance's ``last_heartbeat_at`` and its ``RUNNING`` result. An instance whose row is no
   longer ``running`` with this try (cleared, marked, or reset by the scheduler) is stopped.
   When the database or the result backend cannot be reached for ``give_up_after`` seconds,
   every running attempt is stopped: it could not report or be seen alive, and the scheduler
   will give up on it (the executor declares it lost after ``[scheduler]
   zombie_threshold_sec``, twice ``give_up_after``), so it must not go on as a zombie.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tradewind.celery_worker.messages import (
    FINAL,
    NOTIFY,
    RUNNING,
    SUBMISSION,
    WORKER_JOB,
    event_to_dict,
    localize,
    running_meta,
    workload_from_dict,
)
from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload

if TYPE_CHECKING:
    from tradewind.celery_worker.claims import Claims
    from tradewind.celery_worker.logserver import LogServer
    from tradewind.celery_worker.results import ResultWriter
    from tradewind.celery_worker.slots import TaskSlots
    from tradewind.config import Config
    from tradewind.store import Database

log = logging.getLogger("tradewind.celery.worker")

_CLAIM_RETRY_SECONDS = 5.0
_FINAL_STORE_PATIENCE = 600.0


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How one worker process runs; the defaults come from the configuration."""

    concurrency: int
    heartbeat_interval: float
    give_up_after: float
    log_server_port: int = 0  # 0: do not serve logs
    log_server_host: str = "0.0.0.0"  # other machines read the logs
    hostname: str = ""

    @classmethod
    def from_config(cls, config: Config, **values: Any) -> WorkerOptions:
        zombie = config.scheduler.zombie_threshold_sec
        defaults: dict[str, Any] = {
            "concurrency": config.celery.worker_concurrency,
            "heartbeat_interval": min(config.scheduler.heartbeat_sec, zombie / 6),
            "give_up_after": zombie / 2,
            "hostname": socket.getfqdn(),
        }
        return cls(**(defaults | {k: v for k, v in values.items() if v is not None}))


@dataclass(slots=True)
class _Attempt:
    task_id: str
    workload: TaskWorkload
    started_at: datetime
    submission_id: str | None = None  # echoed in results (see .messages)
    notify: str | None = None  # the executor's channel
    beats: int = 0


class WorkerService:
    """One per worker process: built and started when the Celery worker starts (see :func:`install_worker_hooks`)."""

    def __init__(self, config: Config, options: WorkerOptions, app: Any) -> None:
        self._config = config
        self.options = options
        self._app = app
        self._db: Database | None = None
        self._claims: Claims | None = None
        self._results: ResultWriter | None = None
        self._slots: TaskSlots | None = None
        self._log_server: LogServer | None = None
        self.job_id: int | None = None
        self._attempts: dict[TaskKey, _Attempt] = {}
        self._lock = threading.Lock()  # guards _attempts
        self._store_lock = threading.Lock()  # a heartbeat never overwrites a final result
        self._stopping = threading.Event()
        self._db_ok = self._backend_ok = time.monotonic()
        self._heartbeat = threading.Thread(target=self._beat_loop, name="tradewind-heartbeat", daemon=True)

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        from tradewind.celery_worker.claims import Claims
        from tradewind.celery_worker.results import ResultWriter
        from tradewind.celery_worker.slots import TaskSlots
        from tradewind.executors.local import LocalExecutor
        from tradewind.runtime.wire import lock_dir_for
        from tradewind.store import Database

        config = self._config
        self._db = Database(config.core.sql_alchemy_conn)
        with self._db.transaction() as store:
            self.job_id = store.add_job(
                WORKER_JOB, hostname=self.options.hostname, pid=os.getpid(), now=_now()
            )
        self._claims = Claims(str.__str__(config.core.sql_alchemy_conn), hostname=self.options.hostname,
                              pid=os.getpid(), unixname=_user())  # fmt: skip
        self._results = ResultWriter(self._app.backend)
        executor = LocalExecutor(
            parallelism=self.options.concurrency, db_url=str.__str__(config.core.sql_alchemy_conn),
            max_xcom_size=config.core.max_xcom_size, lock_dir=lock_dir_for(config.home),
            dags_folder=config.dags_folder,
        )  # fmt: skip
        self._slots = TaskSlots(executor)
        self._slots.start()
        self._heartbeat.start()
        self._start_log_server(config)
        log.info("Tradewind worker job %s started on %s", self.job_id, self.options.hostname)

    def _start_log_server(self, config: Config) -> None:
        from tradewind.celery_worker.logserver import LogServer

        secret = str.__str__(config.logging.log_server_secret)
        if not self.options.log_server_port:
            return
        if not secret:
            log.warning("Not serving task logs: set [logging] log_server_secret on workers and readers")
            return
        self._log_server = LogServer(config.log_folder, self.options.log_server_host,
                                     self.options.log_server_port, secret=secret)  # fmt: skip
        self._log_server.start()

    def stop(self) -> None:
        """End running attempts (they are reported), the heartbeat and the job row."""
        self._stopping.set()
        if self._slots is not None:
            self._slots.stop(terminate=True)
        if self._heartbeat.is_alive():
            self._heartbeat.join(10)
        if self._log_server is not None:
            self._log_server.stop()
        if self._claims is not None:
            self._claims.close()
        if self._db is not None and self.job_id is not None:
            with contextlib.suppress(Exception), self._db.transaction() as store:
                store.end_jobs([self.job_id], state="success", now=_now())
            self._db.dispose()

    # --- one attempt (a Celery pool thread) -------------------------------------------

    def execute(self, task: Any, payload: dict[str, Any]) -> None:
        workload = localize(
            workload_from_dict(payload), payload, self._config.dags_folder, self._config.log_folder
        )
        task_id = str(task.request.id)
        try:
            claimed = self._claim(workload)
        except Exception as exc:
            log.warning("Cannot claim %s (%s); retrying the message", workload.key, exc)
            raise task.retry(exc=exc, countdown=_CLAIM_RETRY_SECONDS) from None
        if not claimed:
            log.info(
                "Not running %s: it is not queued (a redelivered message, or it was cleared)", workload.key
            )
            return
        attempt = _Attempt(
            task_id, workload, _now(), _text(payload.get(SUBMISSION)), _text(payload.get(NOTIFY))
        )
        with self._lock:  # from now on the heartbeat stores RUNNING for it
            self._attempts[workload.key] = attempt
        try:
            assert self._slots is not None
            event = self._slots.run(workload)
        finally:
            with self._lock:
                self._attempts.pop(workload.key, None)
        self._store_final(attempt, event)

    def _claim(self, workload: TaskWorkload) -> bool:
        assert self._claims is not None
        return self._claims.claim(workload.key, _now())

    def _store_running(self, attempt: _Attempt) -> None:
        assert self._slots is not None and self._results is not None
        pid = self._slots.pid_of(attempt.workload.key) or os.getpid()
        meta = running_meta(
            self.options.hostname, pid, attempt.started_at, attempt.beats, attempt.submission_id
        )
        self._results.store(attempt.task_id, meta, RUNNING, notify=attempt.notify)

    def _store_final(self, attempt: _Attempt, event: TaskEvent) -> None:
        """Store the final event, retrying while the backend is unreachable (it is the only report)."""
        with self._store_lock:  # a heartbeat store of this attempt may be in flight: let it finish first
            pass
        assert self._results is not None
        result = event_to_dict(event, started_at=attempt.started_at, submission_id=attempt.submission_id)
        deadline = time.monotonic() + _FINAL_STORE_PATIENCE
        while True:
            try:
                self._results.store(attempt.task_id, result, FINAL, notify=attempt.notify)
                return
            except Exception:
                if time.monotonic() > deadline or self._stopping.is_set():
                    log.exception("Could not store the result of %s; the scheduler will retry it", event.key)
                    return
                log.warning("Cannot store the result of %s yet; retrying", event.key)
                time.sleep(1.0)

    # --- heartbeats ---------------------------------------------------------------------

    def _beat_loop(self) -> None:
        while not self._stopping.wait(self.options.heartbeat_interval):
            try:
                self.beat()
            except Exception:
                log.exception("Heartbeat failed")

    def beat(self) -> None:
        """One heartbeat: the database, then the result backend; stop what we cannot vouch for."""
        with self._lock:
            attempts = list(self._attempts.values())
        gone = self._beat_database(attempts)
        for attempt in attempts:
            if attempt.workload.key in gone:
                self._stop_attempt(attempt, "The task instance is no longer running in the database "
                                            "(cleared, marked or reset by the scheduler)")  # fmt: skip
        self._beat_backend([a for a in attempts if a.workload.key not in gone])
        self._give_up_if_cut_off()

    def _beat_database(self, attempts: list[_Attempt]) -> set[TaskKey]:
        """The job row, then each attempt's row in its own statement (see :mod:`.claims`)."""
        now, gone = _now(), set()
        assert self._db is not None and self._claims is not None and self.job_id is not None
        try:
            with self._db.transaction() as store:
                store.heartbeat_job(self.job_id, now)
            for attempt in attempts:
                if not self._claims.beat(attempt.workload.key, now):
                    gone.add(attempt.workload.key)
        except Exception as exc:
            log.warning("Database heartbeat failed: %s", exc)
            return set()
        self._db_ok = time.monotonic()
        return gone

    def _beat_backend(self, attempts: list[_Attempt]) -> None:
        try:
            for attempt in attempts:
                with self._store_lock:
                    with self._lock:
                        if attempt.workload.key not in self._attempts:
                            continue
                    attempt.beats += 1
                    self._store_running(attempt)
        except Exception as exc:
            log.warning("Result backend heartbeat failed: %s", exc)
            return
        self._backend_ok = time.monotonic()

    def _give_up_if_cut_off(self) -> None:
        now, limit = time.monotonic(), self.options.give_up_after
        cut_off = [name for name, ok in (("database", self._db_ok), ("result backend", self._backend_ok))
                   if now - ok > limit]  # fmt: skip
        if not cut_off:
            return
        with self._lock:
            attempts = list(self._attempts.values())
        for attempt in attempts:
            self._stop_attempt(attempt, f"The worker could not reach the {' and the '.join(cut_off)} "
                                        f"for {limit:g} s; stopping the task rather than leave a zombie")  # fmt: skip

    def _stop_attempt(self, attempt: _Attempt, reason: str) -> None:
        if self._slots is not None:
            self._slots.terminate(attempt.workload.key, reason)


# --- wiring into Celery ----------------------------------------------------------------


def service_for(app: Any) -> WorkerService:
    service: WorkerService | None = getattr(app, "tradewind_service", None)
    if service is None:
        raise RuntimeError("This Celery worker was not started as a Tradewind worker")
    return service


def install_worker_hooks(app: Any, **options: Any) -> Any:
    """Start a :class:`WorkerService` when a worker of ``app`` starts, stop it when it shuts down.

    ``options`` are :class:`WorkerOptions` values (None: from the configuration). Returns ``app``.
    """
    from celery import signals

    def on_init(sender: Any = None, **kwargs: Any) -> None:
        if id(getattr(sender, "app", None)) != id(app):
            return
        values = {"concurrency": getattr(sender, "concurrency", None)} | options
        service = WorkerService(
            app.tradewind_config, WorkerOptions.from_config(app.tradewind_config, **values), app
        )
        app.tradewind_service = service
        service.start()

    def on_shutdown(sender: Any = None, **kwargs: Any) -> None:
        service = getattr(app, "tradewind_service", None)
        if service is not None and getattr(sender, "app", app) is app:
            service.stop()

    signals.worker_init.connect(on_init, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)
    return app


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _now() -> datetime:
    return datetime.now(UTC)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""
