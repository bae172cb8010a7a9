"""CeleryExecutor: attempts run on Celery workers (``tradewind celery worker``), anywhere.

``submit`` publishes the workload (a plain dict) to the broker, routed to the queue of the
task (``[celery] default_queue`` for tasks left on ``default``). Workers claim the task
instance in the database, run the attempt like the LocalExecutor does and store its progress
in the result backend under a task id derived from the attempt's key (see
:mod:`tradewind.celery_worker.messages`). This executor polls those results for every
attempt in flight, in one ``MGET`` per poll (``poll_interval``), and turns them into events.

Attempts are never left running forever. An attempt is reported lost (``up_for_retry`` or
``failed``) when its worker stops heartbeating its result for ``zombie_threshold`` seconds
(the worker stopped it by then: it gives up after half that), or when the database shows it
claimed while the backend never heard of it. A broker that is down delays publishing (it is
retried, in order) but loses nothing; a backend that is down delays events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload

if TYPE_CHECKING:
    from tradewind.config import Config
    from tradewind.store import Database

log = logging.getLogger(__name__)

_REPUBLISH_DELAY = 1.0
_DEFAULT_QUEUE_NAME = "default"


@dataclass(slots=True)
class _Flight:
    workload: TaskWorkload
    task_id: str
    submitted_at: float
    changed_at: float
    published: bool = False
    raw: Any = None  # the last stored value seen
    seen_running: bool = False
    claimed_at: float | None = None  # when the database first showed it running with no result


class CeleryExecutor:
    """Publishes attempts to Celery and reads their progress from the result backend.

    ``config`` supplies ``[celery]`` (broker, backend, default queue) and ``[scheduler]
    zombie_threshold_sec``; ``database`` (or ``db_url``) is read only to find attempts a worker
    claimed but never reported. ``app`` replaces the Celery app built from ``config`` (tests).
    """

    def __init__(
        self,
        *,
        config: Config,
        database: Database | None = None,
        db_url: str | None = None,
        poll_interval: float = 0.02,
        zombie_threshold: float | None = None,
        app: Any = None,
    ) -> None:
        self._config = config
        self._database = database
        self._db_url = db_url or str.__str__(config.core.sql_alchemy_conn)
        self._owns_database = database is None
        self._namespace = self._db_url
        self._poll_interval = poll_interval
        self._zombie_threshold = zombie_threshold or config.scheduler.zombie_threshold_sec
        self._app = app
        self._results: _Results | None = None
        self._flights: dict[TaskKey, _Flight] = {}
        self._ready: list[TaskEvent] = []
        self._next_poll = 0.0
        self._next_publish = 0.0
        self._next_claim_check = 0.0
        self._backend_down = False
        self._is_stopped = False

    # --- the contract -----------------------------------------------------------------

    def start(self) -> None:
        """Build the Celery app; connections open lazily, on the first publish and poll."""
        if self._app is None:
            from tradewind.celery_worker.app import make_celery_app

            self._app = make_celery_app(self._config)
        if self._results is None:
            self._results = _Results(self._app.backend)

    def submit(self, workload: TaskWorkload) -> None:
        if self._is_stopped:
            raise RuntimeError("The executor is stopped")
        if workload.key in self._flights:
            raise ValueError(f"{workload.key} was already submitted")
        self.start()
        from tradewind.celery_worker.messages import task_id_for

        now = time.monotonic()
        flight = _Flight(workload, task_id_for(workload.key, self._namespace), now, now)
        self._flights[workload.key] = flight
        if now >= self._next_publish:
            self._publish(flight)

    def events(self) -> list[TaskEvent]:
        self._poll()
        ready, self._ready = self._ready, []
        return ready

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            self._poll()
            remaining = deadline - time.monotonic()
            if self._ready or remaining <= 0:
                return bool(self._ready)
            time.sleep(min(remaining, self._poll_interval if self._flights else remaining))

    def running(self) -> set[TaskKey]:
        return set(self._flights)

    def stop(self, *, wait: bool = True) -> None:
        """With ``wait``, wait for attempts in flight; else report those started as ended.

        Celery attempts run on other machines: they are not killed from here. An attempt
        reported ended here is stopped by its worker at the next heartbeat, once the
        scheduler has recorded its new state. Attempts not yet started are dropped.
        """
        if self._is_stopped:
            return
        self._is_stopped = True
        while wait and self._flights:
            self._poll(force=True)
            time.sleep(self._poll_interval)
        self._poll(force=True)
        for flight in list(self._flights.values()):
            if flight.seen_running or flight.claimed_at is not None:
                self._lost(
                    flight, "The scheduler stopped; the worker stops the attempt at its next heartbeat"
                )
        self._flights.clear()
        if self._owns_database and self._database is not None:
            self._database.dispose()

    # --- optional: adopting attempts of a previous scheduler -----------------------------

    def adopt(self, attempts: Mapping[TaskKey, int]) -> set[TaskKey]:
        """Follow attempts another executor submitted (``key -> max_tries``); returns the keys taken.

        For a scheduler taking over a dead scheduler's queued and running instances instead of
        resetting them: their workers keep running them and report here, because the result
        of an attempt is found from its key alone. Adopted attempts that turn out to be lost
        (no heartbeat for ``zombie_threshold``) are reported like any other.
        """
        from tradewind.celery_worker.messages import task_id_for

        self.start()
        now, taken = time.monotonic(), set()
        for key, max_tries in attempts.items():
            if key in self._flights:
                continue
            workload = _placeholder_workload(key, max_tries)
            self._flights[key] = _Flight(
                workload, task_id_for(key, self._namespace), now, now, published=True
            )
            taken.add(key)
        return taken

    # --- publishing -----------------------------------------------------------------------

    def _publish(self, flight: _Flight) -> bool:
        from tradewind.celery_worker.messages import TASK_NAME, workload_to_dict

        assert self._app is not None and self._results is not None
        workload = flight.workload
        try:
            self._results.forget(flight.task_id)  # a result left by an earlier database of the same ids
            self._app.send_task(
                TASK_NAME, args=[workload_to_dict(workload)], task_id=flight.task_id,
                queue=self._queue_for(workload), ignore_result=True, retry=True,
            )  # fmt: skip
        except Exception as exc:
            log.warning("Cannot publish %s (%s); retrying in %g s", workload.key, exc, _REPUBLISH_DELAY)
            self._next_publish = time.monotonic() + _REPUBLISH_DELAY
            return False
        flight.published = True
        return True

    def _publish_pending(self, now: float) -> None:
        if now < self._next_publish:
            return
        for flight in [f for f in self._flights.values() if not f.published]:
            if not self._publish(flight):
                return

    def _queue_for(self, workload: TaskWorkload) -> str:
        queue = workload.queue
        return self._config.celery.default_queue if queue in ("", _DEFAULT_QUEUE_NAME) else queue

    # --- reading results --------------------------------------------------------------------

    def _poll(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if (now < self._next_poll and not force) or self._results is None:
            return
        self._next_poll = now + self._poll_interval
        self._publish_pending(now)
        flights = [f for f in self._flights.values() if f.published]
        if not flights:
            return
        try:
            values = self._results.fetch([f.task_id for f in flights])
        except Exception as exc:
            if not self._backend_down:
                log.warning("Cannot read the result backend: %s", exc)
            self._backend_down = True
            return
        if self._backend_down:  # silence during the outage says nothing about the workers
            self._backend_down = False
            for flight in self._flights.values():
                flight.changed_at = now
        for flight, raw in zip(flights, values, strict=True):
            if raw is not None and raw != flight.raw:
                flight.raw, flight.changed_at = raw, now
                self._observe(flight, self._results.decode(raw))
        self._find_lost(now)

    def _observe(self, flight: _Flight, meta: Mapping[str, Any]) -> None:
        from tradewind.celery_worker.messages import FINAL, RUNNING, event_from_dict

        status, result = meta.get("status"), meta.get("result")
        if not isinstance(result, dict):
            return
        if status == RUNNING and not flight.seen_running:
            self._announce(flight, result.get("started_at"), result.get("pid"), result.get("hostname"))
        elif status == FINAL:
            event = event_from_dict(result)
            if event.key != flight.workload.key:
                return
            if not flight.seen_running:  # it ran between two polls: the scheduler still wants its start
                self._announce(flight, result.get("started_at"), event.pid, event.hostname)
            self._flights.pop(event.key, None)
            self._ready.append(event)

    def _announce(self, flight: _Flight, started_at: Any, pid: Any, hostname: Any) -> None:
        flight.seen_running = True
        at = datetime.fromisoformat(started_at) if isinstance(started_at, str) else datetime.now(UTC)
        self._ready.append(TaskEvent(flight.workload.key, "running", at, pid if isinstance(pid, int) else None,
                                     str(hostname or "")))  # fmt: skip

    # --- lost attempts --------------------------------------------------------------------

    def _find_lost(self, now: float) -> None:
        for flight in list(self._flights.values()):
            if flight.seen_running and now - flight.changed_at > self._zombie_threshold:
                self._lost(flight, f"The worker stopped heartbeating for {self._zombie_threshold:g} s "
                                   "(killed, or cut off from the database or result backend)")  # fmt: skip
        if now >= self._next_claim_check:
            self._next_claim_check = now + self._zombie_threshold / 2
            self._find_claimed_but_silent(now)

    def _find_claimed_but_silent(self, now: float) -> None:
        """Attempts the database shows running while the backend never heard of them."""
        silent = [f for f in self._flights.values()
                  if f.published and f.raw is None and now - f.submitted_at > self._zombie_threshold]  # fmt: skip
        if not silent:
            return
        try:
            running = self._claimed(f.workload.key for f in silent)
        except Exception as exc:
            log.warning("Cannot check claimed attempts in the database: %s", exc)
            return
        for flight in silent:
            if flight.workload.key not in running:
                flight.claimed_at = None
            elif flight.claimed_at is None:
                flight.claimed_at = now
            elif now - flight.claimed_at > self._zombie_threshold:
                self._lost(flight, "A worker claimed the attempt but never reported it (it died)")

    def _claimed(self, keys: Iterable[TaskKey]) -> set[TaskKey]:
        from sqlalchemy import and_, or_, select

        from tradewind.models import TaskInstance

        ti = TaskInstance.__table__
        wanted = list(keys)
        match = or_(*(and_(ti.c.dag_id == k.dag_id, ti.c.run_id == k.run_id, ti.c.task_id == k.task_id)
                      for k in wanted))  # fmt: skip
        query = select(ti.c.dag_id, ti.c.run_id, ti.c.task_id, ti.c.try_number).where(
            match, ti.c.state == "running"
        )
        with self._db().transaction(write=False) as store:
            rows = store.session.execute(query).all()
        found = {TaskKey(r.dag_id, r.task_id, r.run_id, r.try_number) for r in rows}
        return {k for k in wanted if k in found}

    def _db(self) -> Database:
        if self._database is None:
            from tradewind.store import Database

            self._database = Database(self._db_url)
        return self._database

    def _lost(self, flight: _Flight, error: str) -> None:
        from tradewind.runtime.attempt import retry_state

        key = flight.workload.key
        log.warning("Attempt %s is lost: %s", key, error)
        self._flights.pop(key, None)
        state = retry_state(key.try_number, flight.workload.max_tries)
        self._ready.append(TaskEvent(key, state, datetime.now(UTC), error=error))


class _Results:
    """Reads and clears attempt results: one ``MGET`` on key-value backends (Redis), else one call each."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._batched = True

    def fetch(self, task_ids: list[str]) -> list[Any]:
        backend = self._backend
        if self._batched:
            try:
                return list(backend.mget([backend.get_key_for_task(t) for t in task_ids]))
            except (NotImplementedError, AttributeError):
                self._batched = False
        metas = [backend.get_task_meta(t, cache=False) for t in task_ids]
        return [m if m.get("status") not in (None, "PENDING") else None for m in metas]

    def decode(self, raw: Any) -> Mapping[str, Any]:
        meta = raw if isinstance(raw, Mapping) else self._backend.decode_result(raw)
        return meta if isinstance(meta, Mapping) else {}

    def forget(self, task_id: str) -> None:
        backend = self._backend
        if self._batched and hasattr(backend, "get_key_for_task"):
            backend.delete(backend.get_key_for_task(task_id))
        else:
            backend.forget(task_id)


def _placeholder_workload(key: TaskKey, max_tries: int) -> TaskWorkload:
    """What an adopted attempt's bookkeeping needs (its key and tries); never published."""
    epoch = datetime.fromtimestamp(0, UTC)
    return TaskWorkload(key, "", epoch, epoch, epoch, "manual", False, None, max_tries, None, "", 1, "")
