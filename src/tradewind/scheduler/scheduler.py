"""The scheduler: one event-driven loop that turns schedules and finished tasks into work.

One tick (:meth:`Scheduler.tick`) drains the executor's events and, if anything needs doing,
makes one pass in one database transaction:

1. every second (or after a re-parse): re-read pools and DAG hashes, and create the runs
   schedules are due (catchup, ``max_active_runs``), storing each DAG's ``next_dagrun``;
2. start queued runs (triggered, scheduled, cleared) of unpaused DAGs within
   ``max_active_runs``, loading them into the in-memory view (:mod:`.view`);
3. apply executor events: running, success (with XComs), failed, up_for_retry (with the
   retry delay), skipped, and the skips a branch or short-circuit asked for;
4. at heartbeat time: heartbeat the job and the running instances, fail lost attempts;
5. reschedule retries whose delay passed, and settle the tasks downstream of what changed
   (:func:`.decisions.settle`): scheduled, skipped, upstream_failed, or success for
   EmptyOperator tasks, which never take an executor slot;
6. finish runs whose instances are all done (and runs past ``dagrun_timeout``);
7. queue the scheduled instances that fit (:func:`.decisions.select_for_queue`).

The transaction commits, then the queued attempts are submitted, so an attempt only ever
runs after its ``queued`` state is durable.

Several schedulers (PostgreSQL only; on SQLite a second one refuses to start) share the work
through row locks taken by the store (see :mod:`tradewind.store.scheduling`): each holds
the runs it claimed (``dag_run.scheduler_job_id``) and is the only one to touch their task
instances; at heartbeat time it also ends dead peers' jobs (:mod:`.recovery`) and adopts
their runs. Step 7 then counts the slots in use from the database, not only from the view,
inside the critical section that locks the pool rows. Between ticks the loop blocks in
``executor.wait(timeout)``: a finished task wakes it at once, so a dependency hop costs one
pass; ``timeout`` is the time to the next schedule point, retry, heartbeat or poll for
triggered runs (a cheap indexed query every ``poll_interval``). A trigger or a clear also
nudges the scheduler (:mod:`.nudges`), which then polls at once: the poll is only the
fallback for a lost nudge.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradewind.clock import Clock, SystemClock
from tradewind.dag.schedules import RunInfo, parse_schedule_summary
from tradewind.errors import ConfigError
from tradewind.executors.base import Executor, TaskEvent, TaskKey, TaskWorkload, log_path_for
from tradewind.models.pools import DEFAULT_POOL, DEFAULT_POOL_SLOTS
from tradewind.models.states import ACTIVE_TASK_STATES, DagRunState, DagRunType, TaskState
from tradewind.scheduler import decisions
from tradewind.scheduler.nudges import NudgeListener
from tradewind.scheduler.parser import DagParser
from tradewind.scheduler.recovery import JOB_TYPE, ResetSummary, reap_dead_jobs, reset_task_instances
from tradewind.scheduler.runs import create_run, task_instance_row
from tradewind.scheduler.specs import DagSpec, SpecCache
from tradewind.scheduler.view import ActiveRun, ActiveView, TiRecord
from tradewind.store import Database, Store
from tradewind.store.scheduling import RunScope

log = logging.getLogger(__name__)

TS = TaskState
_FINAL_EVENT_STATES = {s.value: s for s in (TS.SUCCESS, TS.FAILED, TS.UP_FOR_RETRY, TS.SKIPPED)}
_SKIPPABLE = frozenset({TS.NONE, TS.SCHEDULED})
_FAR = 3600.0
#: Queued runs one pass claims at most: other schedulers get their share of a burst of triggers.
_RUNS_PER_PASS = 20
_FOREVER = datetime.max.replace(tzinfo=UTC)


class Scheduler:
    """Schedules DAG runs and task instances of one database onto one executor."""

    def __init__(
        self,
        db: Database,
        executor: Executor,
        *,
        log_folder: Path,
        clock: Clock | None = None,
        parallelism: int = 32,
        heartbeat_sec: float = 5.0,
        health_check_threshold: float = 30.0,
        poll_interval: float = 0.1,
        refresh_interval: float = 1.0,
        parser: DagParser | None = None,
        hostname: str | None = None,
        running_write_delay: float = 0.2,
        scope: RunScope | None = None,
        zombie_threshold: float = 60.0,
        queued_timeout: float = 600.0,
        listen_for_nudges: bool = False,
    ) -> None:
        self._db = db
        self._executor = executor
        self._log_folder = log_folder
        self._clock = clock or SystemClock()
        self._parallelism = parallelism
        self._heartbeat_sec = heartbeat_sec
        self._threshold = health_check_threshold
        self._poll_interval = poll_interval
        self._refresh_interval = refresh_interval
        self._parser = parser
        self._hostname = hostname or socket.getfqdn()
        self._specs = SpecCache()
        self._view = ActiveView()
        self._pools: dict[str, int] = {DEFAULT_POOL: DEFAULT_POOL_SLOTS}
        self._last_scheduled: dict[str, tuple[str, datetime | None]] = {}
        self._blocked_runs: set[int] = set()
        self._next_dagrun: dict[str, datetime | None] = {}
        self._queued_seen = False
        self._job_id: int | None = None
        self._draining = False
        self._must_load = True
        self._force = True
        self._parse_generation = 0
        self._next = {"refresh": _epoch(), "schedule": _epoch(), "poll": _epoch(), "heartbeat": _epoch(),
                      "running": _FOREVER}  # fmt: skip
        self._deferred: list[TaskEvent] = []
        self._running_write_delay = running_write_delay
        self._shared = not db.is_sqlite  # other schedulers may share the database
        self._lost = False
        self._scope = scope  # a backfill's own scheduler: only these runs, no scheduled ones
        self._zombie_threshold = zombie_threshold
        self._queued_timeout = queued_timeout
        self._listen_for_nudges = listen_for_nudges  # see .nudges: set by `tradewind scheduler`
        self._nudged = False
        adopt: Callable[[Mapping[TaskKey, int]], set[TaskKey]] | None = getattr(executor, "adopt", None)
        self._adopt = adopt  # attempts outlive this process: adopt them rather than reset them
        self._workers_beat = bool(getattr(executor, "heartbeats_tasks", False))
        self._adopted: set[TaskKey] = set()  # adopted during this pass (not in its executor snapshot)

    @property
    def job_id(self) -> int | None:
        return self._job_id

    @property
    def parser(self) -> DagParser | None:
        return self._parser

    @property
    def lost(self) -> bool:
        """True once a peer declared this scheduler dead (its heartbeat stopped for too long)."""
        return self._lost

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Register the job, reset what dead schedulers left behind, start the executor.

        Raises ConfigError on SQLite when another scheduler is alive: several schedulers
        need PostgreSQL.
        """
        now = self._clock.now()
        with self._db.transaction() as store:
            self._job_id = store.add_job(JOB_TYPE, hostname=self._hostname, pid=os.getpid(), now=now)
            summary = self._reap(store, now, always_reset=True)
            if not self._shared:
                self._refuse_a_second_scheduler(store, now)
        self._log_reaped(summary)
        self._executor.start()
        if self._parser is not None:
            self._parser.start()

    def _reap(self, store: Store, now: datetime, *, always_reset: bool = False) -> ResetSummary:
        assert self._job_id is not None
        return reap_dead_jobs(
            store, me=self._job_id, hostname=self._hostname, now=now, threshold=self._threshold,
            spec_for=lambda dag_id: self._spec(store, dag_id), always_reset=always_reset,
            adoptable=self._adopt is not None,
        )  # fmt: skip

    @staticmethod
    def _log_reaped(summary: ResetSummary) -> None:
        if summary.dead_jobs:
            log.warning("Ended dead scheduler jobs %s and reset their work: %s", summary.dead_jobs, summary)

    def _refuse_a_second_scheduler(self, store: Store, now: datetime) -> None:
        since = now - timedelta(seconds=self._threshold)
        others = [job for job in store.live_jobs(JOB_TYPE, since=since) if job.id != self._job_id]
        if others:
            job = others[0]
            raise ConfigError(
                f"Another scheduler is running on this SQLite database (job {job.id}, host {job.hostname}, "
                f"pid {job.pid}); several schedulers need PostgreSQL ([core] sql_alchemy_conn)"
            )

    def run(self, stop: threading.Event, *, drain_timeout: float = 30.0) -> None:
        """Tick until ``stop`` is set, then shut down gracefully (see :meth:`shutdown`).

        Returns early, without draining, if a peer declared this scheduler dead (:attr:`lost`).
        """
        self.start()
        listener = NudgeListener(self._db.engine.url, self.nudge) if self._listen_for_nudges else None
        if listener is not None and not listener.start():
            log.info("Not listening for trigger nudges (another process does); polling for triggered runs")
        try:
            while not stop.is_set() and not self._lost:
                timeout = self._safe_tick()
                if timeout > 0 and not stop.is_set():
                    self._executor.wait(min(timeout, 1.0))
        finally:
            if listener is not None:
                listener.stop()
            self.shutdown(drain_timeout=drain_timeout)

    def nudge(self) -> None:
        """Look for triggered runs now, not at the next poll; thread-safe (see :mod:`.nudges`)."""
        self._nudged = True
        wakeup: Callable[[], None] | None = getattr(self._executor, "wakeup", None)
        if wakeup is not None:
            wakeup()

    def shutdown(self, *, drain_timeout: float = 30.0) -> None:
        """Stop submitting; let running attempts finish for up to ``drain_timeout`` s; end the job."""
        self._draining = True
        if self._parser is not None:
            self._parser.stop()
        if self._lost:  # the runs and their instances belong to other schedulers now
            self._executor.stop(wait=False)
            return
        if self._adopt is not None:  # attempts outlive this process: the next scheduler adopts them
            self._force = True
            self._safe_tick()  # record what already happened
            self._executor.stop(wait=False)  # its "lost" reports of running attempts are not applied
            self._end_job(keep_attempts=True)
            return
        deadline = time.monotonic() + drain_timeout
        while self._view.active and time.monotonic() < deadline:
            self._executor.wait(min(self._poll_interval, 1.0))
            self._safe_tick()
        self._executor.stop(wait=False)
        self._force = True  # record every last event, deferred "running" ones included
        self._safe_tick()
        self._end_job()

    def _end_job(self, *, keep_attempts: bool = False) -> None:
        """End the job; give back its unstarted work and retry its running attempts, unless
        ``keep_attempts`` (they keep running, for the next scheduler to adopt)."""
        if self._job_id is None:
            return
        now = self._clock.now()
        with self._db.transaction() as store:
            store.end_jobs([self._job_id], state="success", now=now)
            rows = [] if keep_attempts else store.task_instances_of_jobs([self._job_id])
            summary = reset_task_instances(
                store, rows, now, lambda dag_id: self._spec(store, dag_id), graceful=True
            )
        log.info("Scheduler job %s ended (%s)", self._job_id, summary)

    def _safe_tick(self) -> float:
        try:
            return self.tick()
        except Exception:
            # The transaction rolled back: rebuild the view from the database next pass.
            log.exception("Scheduler pass failed; reloading state from the database")
            self._view = ActiveView()
            self._must_load = self._force = True
            return self._poll_interval

    # -- one tick -----------------------------------------------------------------------------

    def tick(self) -> float:
        """One pass if anything needs doing; returns the seconds until the next one is due."""
        now = self._clock.now()
        if self._nudged:
            self._nudged = False
            self._next["poll"] = min(self._next["poll"], now)
        heartbeat = now >= self._next["heartbeat"]
        if heartbeat:
            with self._db.transaction() as store:  # its own transaction: job rows stay locked briefly
                self._log_reaped(self._reap(store, now))
        snapshot = self._executor.running() if heartbeat else None
        events, self._deferred = self._deferred + self._executor.events(), []
        if self._can_defer(events, heartbeat, now):
            self._deferred = events
        elif events or heartbeat or self._needs_pass(now):
            self._next["running"] = _FOREVER
            workloads = self._pass(events, snapshot, now)
            for workload in workloads:
                self._executor.submit(workload)
        return self._timeout(self._clock.now())

    def _can_defer(self, events: list[TaskEvent], heartbeat: bool, now: datetime) -> bool:
        """Hold "running" events for a moment, so they share the pass of the next final event.

        A running state changes no decision; writing it alone would cost a transaction per
        task start. It is recorded within ``running_write_delay`` at the latest.
        """
        if not events or heartbeat or any(e.state != TS.RUNNING.value for e in events):
            return False
        if self._next["running"] == _FOREVER:
            self._next["running"] = now + timedelta(seconds=self._running_write_delay)
        return now < self._next["running"] and not self._needs_pass(now)

    def _needs_pass(self, now: datetime) -> bool:
        if self._force or self._must_load or now >= min(self._next["refresh"], self._next["schedule"]):
            return True
        if self._view.retrying and min(self._view.retrying.values()) <= now:
            return True
        if self._parser is not None and self._parser.generation != self._parse_generation:
            return True
        if now < self._next["poll"]:
            return False
        self._next["poll"] = now + timedelta(seconds=self._poll_interval)
        with self._db.transaction(write=False) as store:
            queued = store.queued_dag_run_ids(self._job_id, scope=self._scope)
        self._queued_seen = bool(set(queued) - self._blocked_runs)
        return self._queued_seen

    def _pass(
        self, events: Sequence[TaskEvent], snapshot: set[TaskKey] | None, now: datetime
    ) -> list[TaskWorkload]:
        force, self._force = self._force, False
        with self._db.transaction() as store:
            if snapshot is not None and not self._beat(store, now):
                return []
            if self._must_load:
                self._load_running_runs(store)
            elif snapshot is not None:
                self._adopt_orphaned_runs(store)
            if force or now >= self._next["refresh"] or self._parsed_again():
                self._refresh(store, now)
            created = now >= self._next["schedule"] and self._create_due_runs(store, now)
            if force or created or self._queued_seen or now >= self._next["poll"]:
                self._start_queued_runs(store, now)
            self._apply_events(store, events, now)
            if snapshot is not None:
                self._heartbeat(store, snapshot, now)
            self._reschedule_retries(now)
            self._settle(store, now)
            self._finish_runs(store, now)
            workloads = [] if self._draining else self._queue_ready(store, now)
            self._view.writes.flush(store)
        return workloads

    def _timeout(self, now: datetime) -> float:
        wake = min(self._next.values())
        if self._view.retrying:
            wake = min(wake, min(self._view.retrying.values()))
        if self._force:
            return 0.0
        return max((wake - now).total_seconds(), 0.0)

    def _parsed_again(self) -> bool:
        if self._parser is None or self._parser.generation == self._parse_generation:
            return False
        self._parse_generation = self._parser.generation
        return True

    # -- DAGs, pools and schedules --------------------------------------------------------

    def _spec(self, store: Store, dag_id: str, dag_hash: str | None = None) -> DagSpec | None:
        """The DAG's current spec, rebuilt only when its stored hash changed."""
        if dag_hash is not None:
            cached = self._specs.get(dag_id, dag_hash)
            if cached is not None:
                return cached
        elif self._specs.current(dag_id) is not None:
            return self._specs.current(dag_id)
        found = store.serialized_with_hash(dag_id)
        if found is None:
            return None
        return self._specs.get(dag_id, found[0]) or self._specs.put(found[0], found[1])

    def _refresh(self, store: Store, now: datetime) -> None:
        self._next["refresh"] = now + timedelta(seconds=self._refresh_interval)
        self._next["schedule"] = now
        self._blocked_runs.clear()
        pools = store.pool_sizes()
        pools.setdefault(DEFAULT_POOL, DEFAULT_POOL_SLOTS)
        self._pools = pools
        hashes = store.dag_hashes({run.dag_id for run in self._view.runs.values()})
        for run in list(self._view.runs.values()):
            new_hash = hashes.get(run.dag_id)
            if new_hash is not None and new_hash != run.spec_hash:
                self._update_run_spec(store, run, new_hash, now)

    def _create_due_runs(self, store: Store, now: datetime) -> bool:
        """Create due scheduled runs (queued); True if any was created."""
        if self._scope is not None:  # it runs one command's runs: schedules are someone else's
            self._next["schedule"] = _FOREVER
            return False
        counts = store.active_run_counts()
        wake = now + timedelta(seconds=_FAR)
        created = False
        for row in store.schedulable_dags():
            spec = self._spec(store, row.dag_id, row.dag_hash)
            if spec is None or spec.schedule is None:
                continue
            upcoming, made = self._create_runs_for(store, spec, row, counts.get(row.dag_id, 0), now)
            created = created or made
            if upcoming is not None and upcoming.run_after > now:
                wake = min(wake, upcoming.run_after)
        self._next["schedule"] = wake
        return created

    def _create_runs_for(
        self, store: Store, spec: DagSpec, row: Any, active: int, now: datetime
    ) -> tuple[RunInfo | None, bool]:
        state = decisions.ScheduleState(
            schedule=parse_schedule_summary(spec.schedule), start_date=spec.start_date, end_date=spec.end_date,
            catchup=spec.catchup, timezone=spec.timezone, last_logical_date=self._last_scheduled_date(store, row),
            active_runs=active, max_active_runs=row.max_active_runs,
        )  # fmt: skip
        due, upcoming = decisions.runs_to_create(state, now)
        made = False
        for info in due:
            made = bool(create_run(store, spec, info, run_type=DagRunType.SCHEDULED, now=now)) or made
            self._last_scheduled[spec.dag_id] = (row.dag_hash, info.logical_date)
        next_date = upcoming.logical_date if upcoming else None
        if self._next_dagrun.get(spec.dag_id, _epoch()) != next_date:
            interval = (upcoming.data_interval_start, upcoming.data_interval_end) if upcoming else None
            store.set_next_dagrun(spec.dag_id, next_date, interval)
            self._next_dagrun[spec.dag_id] = next_date
        return upcoming, made

    def _last_scheduled_date(self, store: Store, row: Any) -> datetime | None:
        cached = self._last_scheduled.get(row.dag_id)
        if cached is None or cached[0] != row.dag_hash:
            cached = (row.dag_hash, store.last_scheduled_logical_date(row.dag_id))
            self._last_scheduled[row.dag_id] = cached
        return cached[1]

    # -- runs -------------------------------------------------------------------------------

    def _load_running_runs(self, store: Store) -> None:
        self._must_load = False
        for row in store.running_dag_runs(self._job_id):
            self._load_run(store, row)
        self._adopt_orphaned_runs(store)

    def _adopt_orphaned_runs(self, store: Store) -> None:
        """Take over running runs nobody owns: left by a dead or stopped scheduler, or made elsewhere."""
        assert self._job_id is not None
        rows = store.claim_orphaned_dag_runs(self._job_id, scope=self._scope)
        for row in rows:
            self._load_run(store, row)
        if rows:
            log.info("Adopted %d running DAG run(s)", len(rows))

    def _start_queued_runs(self, store: Store, now: datetime) -> None:
        self._queued_seen = False
        self._next["poll"] = now + timedelta(seconds=self._poll_interval)
        rows = store.queued_dag_runs(self._job_id, limit=_RUNS_PER_PASS, scope=self._scope)
        self._force = self._force or len(rows) == _RUNS_PER_PASS  # more may wait: another pass at once
        locked = store.lock_dags(row.dag_id for row in rows)  # max_active_runs counts stay true
        running = store.running_run_counts(locked)
        for row in rows:
            if row.dag_id not in locked:  # another scheduler is starting its runs: next poll
                continue
            if (row.dag_id, row.run_id) in self._view.runs:  # cleared while running: reload it
                self._view.drop_run((row.dag_id, row.run_id))
            if running.get(row.dag_id, 0) >= row.max_active_runs:
                self._blocked_runs.add(row.id)
                continue
            store.start_dag_run(row.id, now=now, job_id=self._job_id)
            if self._load_run(store, row, started=now) is None:
                self._blocked_runs.add(row.id)
                continue
            running[row.dag_id] = running.get(row.dag_id, 0) + 1

    def _load_run(self, store: Store, row: Any, started: datetime | None = None) -> ActiveRun | None:
        spec = self._spec(store, row.dag_id)
        spec_hash = self._specs.hash_of(row.dag_id)
        if spec is None or spec_hash is None:
            log.warning("DAG %s of run %s is not serialized; leaving the run alone", row.dag_id, row.run_id)
            return None
        run = ActiveRun(
            pk=row.id, dag_id=row.dag_id, run_id=row.run_id, logical_date=row.execution_date,
            data_interval=(row.data_interval_start or row.execution_date, row.data_interval_end or row.execution_date),
            run_type=row.run_type, external_trigger=bool(row.external_trigger), conf=row.conf,
            start_date=started or row.start_date or row.execution_date, spec=spec, spec_hash=spec_hash,
        )  # fmt: skip
        if self._adopt is not None:
            self._adopt_attempts(store, row.dag_id, row.run_id)
        for ti_row in store.task_instance_rows(row.dag_id, row.run_id):
            run.add(TiRecord.from_row(ti_row))
        self._view.add_run(run)
        self._verify_integrity(store, run, started or run.start_date)
        return run

    def _adopt_attempts(self, store: Store, dag_id: str, run_id: str) -> None:
        """Take over the run's attempts a gone scheduler left running: its executor follows them."""
        assert self._job_id is not None and self._adopt is not None
        rows = store.adopt_task_instances(dag_id, run_id, self._job_id)
        if not rows:
            return
        attempts = {TaskKey(dag_id, r.task_id, run_id, r.try_number): r.max_tries for r in rows}
        self._adopted |= self._adopt(attempts) | set(attempts)  # keys it already followed count too
        log.info("Adopted %d queued or running attempt(s) of run %s.%s", len(rows), dag_id, run_id)

    def _update_run_spec(self, store: Store, run: ActiveRun, new_hash: str, now: datetime) -> None:
        spec = self._spec(store, run.dag_id, new_hash)
        if spec is None:
            return
        run.spec, run.spec_hash = spec, new_hash
        run.dirty.update(run.tis)
        self._verify_integrity(store, run, now)

    def _verify_integrity(self, store: Store, run: ActiveRun, now: datetime) -> None:
        """Tasks added to the DAG get an instance; removed ones are marked removed (and back)."""
        added = [
            t for tid, t in run.spec.tasks.items() if tid not in run.tis and t.exists_at(run.logical_date)
        ]
        store.insert_task_instances([task_instance_row(run.dag_id, run.run_id, t) for t in added])
        for task in added:
            record = TiRecord(task.task_id, TS.NONE, 0, task.retries, task.pool, task.pool_slots,
                              task.priority_weight, task.queue)  # fmt: skip
            run.add(record)
            run.dirty.add(task.task_id)
        for task_id, ti in run.tis.items():
            if task_id not in run.spec.tasks and ti.state != TS.REMOVED:
                self._view.transition(run, task_id, TS.REMOVED, now)
            elif task_id in run.spec.tasks and ti.state == TS.REMOVED:
                self._view.transition(run, task_id, TS.NONE, now)
        self._view.changed.add(run.key)

    def _finish_runs(self, store: Store, now: datetime) -> None:
        timed = (run.key for run in self._view.runs.values() if run.spec.dagrun_timeout is not None)
        self._view.changed.update(list(timed))
        for key in list(self._view.changed):
            run = self._view.runs.get(key)
            outcome = decisions.run_outcome(run.spec, run.states) if run and run.unfinished == 0 else None
            if run is not None and outcome is None:
                outcome = self._timed_out(run, now)
            if run is None or outcome is None:
                continue
            store.finish_dag_run(run.pk, outcome, now)
            self._view.drop_run(key)
            self._force = True  # a slot under max_active_runs may have opened
            self._next["schedule"] = now
            log.info("DAG run %s %s: %s", run.dag_id, run.run_id, outcome.value)
        self._view.changed.clear()

    def _timed_out(self, run: ActiveRun, now: datetime) -> DagRunState | None:
        timeout = run.spec.dagrun_timeout
        if timeout is None or now < run.start_date + timedelta(seconds=timeout):
            return None
        for task_id, state in list(run.states.items()):
            if state in _SKIPPABLE or state == TS.UP_FOR_RETRY:
                self._view.transition(run, task_id, TS.SKIPPED, now, end_date=now)
        return DagRunState.FAILED

    # -- events and heartbeats ---------------------------------------------------------------

    def _apply_events(self, store: Store, events: Iterable[TaskEvent], now: datetime) -> None:
        for event in events:
            run = self._view.runs.get((event.key.dag_id, event.key.run_id))
            ti = run.tis.get(event.key.task_id) if run is not None else None
            if (
                run is None
                or ti is None
                or ti.try_number != event.key.try_number
                or ti.state not in ACTIVE_TASK_STATES
            ):
                self._apply_stray_event(store, event)
            elif event.state == TS.RUNNING.value:
                if ti.state == TS.QUEUED:
                    self._view.transition(run, ti.task_id, TS.RUNNING, now, start_date=event.at, pid=event.pid,
                                          hostname=event.hostname)  # fmt: skip
            else:
                self._apply_final_event(run, ti, event, now)

    def _apply_final_event(self, run: ActiveRun, ti: TiRecord, event: TaskEvent, now: datetime) -> None:
        state = _FINAL_EVENT_STATES.get(event.state, TS.FAILED)
        start = ti.start_date or event.at
        values: dict[str, Any] = {"end_date": event.at, "duration": (event.at - start).total_seconds(),
                                  "start_date": start}  # fmt: skip
        if event.pid is not None:
            values |= {"pid": event.pid, "hostname": event.hostname}
        if state == TS.UP_FOR_RETRY:
            task = run.spec.tasks.get(ti.task_id)
            delay = decisions.retry_delay(task, ti.try_number) if task else timedelta(0)
            values["next_retry_at"] = event.at + delay
        key = (run.dag_id, run.run_id, ti.task_id)
        if event.xcoms:
            self._view.writes.replace_xcoms(key, event.xcoms, now)
        self._view.transition(run, ti.task_id, state, now, **values)
        for skipped in event.skip_task_ids:
            if run.states.get(skipped) in _SKIPPABLE:
                self._view.transition(
                    run, skipped, TS.SKIPPED, now, start_date=now, end_date=now, duration=0.0
                )

    def _apply_stray_event(self, store: Store, event: TaskEvent) -> None:
        """An attempt of a run the view no longer holds (cleared, timed out): record its end."""
        if event.state not in _FINAL_EVENT_STATES:
            return
        store.finish_stray_attempt(
            event.key.dag_id, event.key.run_id, event.key.task_id, event.key.try_number, event.state, event.at
        )

    def _beat(self, store: Store, now: datetime) -> bool:
        """Heartbeat the job first thing in the pass; False (and stop) if a peer ended it."""
        assert self._job_id is not None
        if store.heartbeat_job(self._job_id, now):
            return True
        log.error("Scheduler job %s was declared dead by another scheduler (no heartbeat for %.0f s); "
                  "its runs were adopted: stopping", self._job_id, self._threshold)  # fmt: skip
        self._lost = self._draining = True
        self._view = ActiveView()
        self._deferred = []
        return False

    def _heartbeat(self, store: Store, snapshot: set[TaskKey], now: datetime) -> None:
        """Keep attempts alive, or find the dead ones.

        With workers that heartbeat their attempts themselves (the executor's
        ``heartbeats_tasks``), a running attempt silent for ``zombie_threshold`` is a zombie
        and one queued for ``queued_timeout`` is queued again; otherwise this process vouches
        for its attempts by writing their ``last_heartbeat_at``.
        """
        self._next["heartbeat"] = now + timedelta(seconds=self._heartbeat_sec)
        assert self._job_id is not None
        if self._workers_beat:
            self._fail_zombies(store, now)
            self._requeue_stuck(store, now)
        else:
            store.heartbeat_task_instances(self._job_id, now)
        known, self._adopted = snapshot | self._adopted, set()
        for (dag_id, run_id, task_id), ti in list(self._view.active.items()):
            key = TaskKey(dag_id, task_id, run_id, ti.try_number)
            if ti.owner_job_id == self._job_id and key not in known:
                self._fail_lost_attempt(
                    self._view.runs[(dag_id, run_id)], ti, now, "was lost by the executor"
                )

    def _viewed(self, row: Any, state: TaskState) -> tuple[ActiveRun, TiRecord] | None:
        """The view's run and instance of ``row`` if the view agrees on its state and try."""
        run = self._view.runs.get((row.dag_id, row.run_id))
        ti = run.tis.get(row.task_id) if run is not None else None
        if run is None or ti is None or ti.try_number != row.try_number or ti.state != state:
            return None
        return run, ti

    def _fail_zombies(self, store: Store, now: datetime) -> None:
        assert self._job_id is not None
        limit = now - timedelta(seconds=self._zombie_threshold)
        for row in store.stale_running_task_instances(self._job_id, beat_before=limit):
            found = self._viewed(row, TS.RUNNING)
            if found is not None:
                reason = f"is a zombie (no heartbeat for {self._zombie_threshold:g} s)"
                self._fail_lost_attempt(*found, now, reason)

    def _requeue_stuck(self, store: Store, now: datetime) -> None:
        """Attempts no worker claimed in ``queued_timeout`` (a lost message): scheduled again.

        Fenced on the queued state and try, so an attempt a worker claims meanwhile runs on;
        the next attempt is a new try, whose message the old one's worker cannot claim.
        """
        assert self._job_id is not None
        limit = now - timedelta(seconds=self._queued_timeout)
        for row in store.stuck_queued_task_instances(self._job_id, queued_before=limit):
            found = self._viewed(row, TS.QUEUED)
            values = {"state": TS.SCHEDULED.value, "queued_by_job_id": None, "updated_at": now}
            if found is not None and store.reset_task_instance(row, values):
                log.warning("Attempt %s.%s.%s try %s was queued for more than %g s: scheduling it again",
                            row.dag_id, row.run_id, row.task_id, row.try_number, self._queued_timeout)  # fmt: skip
                self._view.transition(found[0], row.task_id, TS.SCHEDULED, now, queued_by_job_id=None)

    def _fail_lost_attempt(self, run: ActiveRun, ti: TiRecord, now: datetime, reason: str) -> None:
        """An attempt that will never report its end: a zombie (up_for_retry or failed)."""
        log.warning("Attempt %s.%s.%s try %s %s", run.dag_id, run.run_id, ti.task_id, ti.try_number, reason)
        retry = ti.try_number <= ti.max_tries
        state = TS.UP_FOR_RETRY if retry else TS.FAILED
        event = TaskEvent(TaskKey(run.dag_id, ti.task_id, run.run_id, ti.try_number), state.value, now)
        self._apply_final_event(run, ti, event, now)

    # -- deciding and queueing ---------------------------------------------------------------

    def _reschedule_retries(self, now: datetime) -> None:
        due = [key for key, at in self._view.retrying.items() if at <= now]
        for dag_id, run_id, task_id in due:
            self._view.transition(self._view.runs[(dag_id, run_id)], task_id, TS.SCHEDULED, now)

    def _settle(self, store: Store, now: datetime) -> None:
        for run in list(self._view.runs.values()):
            if not run.dirty:
                continue
            candidates, run.dirty = run.dirty, set()
            past = self._past_states(store, run) if run.spec.has_depends_on_past else None
            for task_id, state in decisions.settle(
                run.spec, run.states, candidates, past_states=past
            ).items():
                extra: dict[str, Any] = {}
                if state in (TS.SUCCESS, TS.SKIPPED, TS.UPSTREAM_FAILED):
                    extra = {"start_date": now, "end_date": now, "duration": 0.0}
                self._view.transition(run, task_id, state, now, **extra)

    def _past_states(self, store: Store, run: ActiveRun) -> dict[str, TaskState] | None:
        tasks = [
            task_id
            for task_id, state in run.states.items()
            if state == TS.NONE and (task := run.spec.tasks.get(task_id)) is not None and task.depends_on_past
        ]
        if not tasks:
            return None
        self._view.writes.flush(store)  # the previous run may have changed in this very pass
        return store.previous_task_states(run.dag_id, run.logical_date, tasks)

    def _queue_ready(self, store: Store, now: datetime) -> list[TaskWorkload]:
        view = self._view
        if not view.candidates:
            return []
        free = self._parallelism - len(view.active)
        if free <= 0:
            return []
        if self._shared:
            pools, busy, used = self._global_usage(store)
        else:
            pools, busy, used = self._pools, view.busy_by_dag(), view.busy_by_pool()
        dag_free = {
            run.dag_id: run.spec.max_active_tasks - busy.get(run.dag_id, 0) for run in view.runs.values()
        }
        pool_free = decisions.pool_free_slots(pools, used)
        capacity = decisions.Capacity(parallelism=free, pool_free=pool_free, dag_free=dag_free)
        chosen = decisions.select_for_queue(list(view.candidates.values()), capacity)
        return [self._queue(view.runs[c.key[:2]], c.key[2], now) for c in chosen]

    def _global_usage(self, store: Store) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """Pool sizes, and busy instances per DAG and slots per pool of every scheduler.

        Enters the critical section: the pool rows stay locked until this pass commits, so
        no other scheduler queues in between. This pass's own changes are written first so
        the counts include them.
        """
        self._view.writes.flush(store)
        pools = store.lock_pools()
        pools.setdefault(DEFAULT_POOL, DEFAULT_POOL_SLOTS)
        busy: dict[str, int] = {}
        used: dict[str, int] = {}
        for row in store.active_slots():
            busy[row.dag_id] = busy.get(row.dag_id, 0) + int(row.instances)
            used[row.pool] = used.get(row.pool, 0) + int(row.slots or 0)
        return pools, busy, used

    def _queue(self, run: ActiveRun, task_id: str, now: datetime) -> TaskWorkload:
        ti = run.tis[task_id]
        try_number = ti.try_number + 1
        if try_number > 1:
            self._view.writes.replace_xcoms((run.dag_id, run.run_id, task_id), (), now)
        self._view.transition(run, task_id, TS.QUEUED, now, try_number=try_number, queued_dttm=now,
                              queued_by_job_id=self._job_id, next_retry_at=None, start_date=None,
                              end_date=None)  # fmt: skip
        key = TaskKey(run.dag_id, task_id, run.run_id, try_number)
        task = run.spec.tasks[task_id]
        return TaskWorkload(
            key=key, fileloc=run.spec.fileloc, logical_date=run.logical_date,
            data_interval_start=run.data_interval[0], data_interval_end=run.data_interval[1],
            run_type=run.run_type, external_trigger=run.external_trigger, conf=run.conf,
            max_tries=ti.max_tries, execution_timeout=task.execution_timeout, queue=ti.queue,
            priority_weight=ti.priority_weight, log_path=str(log_path_for(self._log_folder, key)), pool=ti.pool,
        )  # fmt: skip


def _epoch() -> datetime:
    return datetime.min.replace(tzinfo=UTC)
