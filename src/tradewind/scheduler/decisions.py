"""Scheduling decisions as pure functions: plain values in, plain values out, no database.

* :func:`trigger_verdict` - Airflow's trigger-rule table, including when a task is marked
  ``upstream_failed`` or ``skipped`` before all its upstream tasks are done.
* :func:`settle` - sweeps the tasks whose upstream changed, in topological order, and says
  which become ``scheduled``, ``skipped``, ``upstream_failed`` or (EmptyOperator) ``success``;
  one sweep reaches the fixpoint because a decision only affects tasks further down.
* :func:`run_outcome` - whether a DAG run is finished, and how (Airflow's leaf rule).
* :func:`retry_delay` - the wait before the next try, with optional exponential backoff.
* :func:`select_for_queue` - which scheduled task instances may start now, by priority,
  within pool slots, each DAG's ``max_active_tasks`` and the overall ``parallelism``.
* :func:`runs_to_create` - the scheduled runs a DAG is due, with catchup and ``max_active_runs``.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tradewind.dag.schedules import RunInfo, Schedule
from tradewind.dag.trigger_rules import TriggerRule
from tradewind.models.pools import DEFAULT_POOL
from tradewind.models.states import FINISHED_TASK_STATES, DagRunState, TaskState
from tradewind.scheduler.specs import DagSpec, TaskSpec

TR = TriggerRule
TS = TaskState

#: States a task instance can be in while its dependencies are still being evaluated.
WAITING_STATES = frozenset({TS.NONE, TS.SCHEDULED})
#: States of a previous run's instance that let a ``depends_on_past`` task start.
PAST_OK_STATES = frozenset({TS.SUCCESS, TS.SKIPPED})
FAILED_LEAF_STATES = frozenset({TS.FAILED, TS.UPSTREAM_FAILED})


class Verdict(StrEnum):
    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True, slots=True)
class UpstreamCounts:
    """How many of a task's direct upstream instances are in each finished state."""

    total: int
    success: int = 0
    skipped: int = 0
    failed: int = 0
    upstream_failed: int = 0
    removed: int = 0

    @property
    def done(self) -> int:
        return self.success + self.skipped + self.failed + self.upstream_failed + self.removed

    @property
    def failures(self) -> int:
        return self.failed + self.upstream_failed

    @classmethod
    def of(cls, states: Iterable[TaskState]) -> UpstreamCounts:
        counts = Counter(states)
        return cls(
            total=sum(counts.values()),
            success=counts[TS.SUCCESS],
            skipped=counts[TS.SKIPPED],
            failed=counts[TS.FAILED],
            upstream_failed=counts[TS.UPSTREAM_FAILED],
            removed=counts[TS.REMOVED],
        )


def trigger_verdict(rule: TriggerRule, up: UpstreamCounts) -> Verdict:
    """Airflow 2's trigger-rule dependency with ``flag_upstream_failed`` on."""
    if up.total == 0 or rule == TR.ALWAYS:
        return Verdict.RUN
    return _RULES[rule](up, up.done >= up.total)


def _all_success(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.failures:
        return Verdict.UPSTREAM_FAILED
    if up.skipped:
        return Verdict.SKIP
    return Verdict.RUN if up.success + up.removed >= up.total else Verdict.WAIT


def _all_failed(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.success or up.skipped:
        return Verdict.SKIP
    return Verdict.RUN if all_done else Verdict.WAIT


def _all_done(up: UpstreamCounts, all_done: bool) -> Verdict:
    return Verdict.RUN if all_done else Verdict.WAIT


def _all_skipped(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.success or up.failures:
        return Verdict.SKIP
    return Verdict.RUN if all_done else Verdict.WAIT


def _one_success(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.success:
        return Verdict.RUN
    if all_done and up.done == up.skipped:
        return Verdict.SKIP
    return Verdict.UPSTREAM_FAILED if all_done else Verdict.WAIT


def _one_failed(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.failures:
        return Verdict.RUN
    return Verdict.SKIP if all_done else Verdict.WAIT


def _one_done(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.success or up.failed:
        return Verdict.RUN
    return Verdict.SKIP if all_done else Verdict.WAIT


def _none_failed(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.failures:
        return Verdict.UPSTREAM_FAILED
    return Verdict.RUN if all_done else Verdict.WAIT


def _none_failed_min_one_success(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.failures:
        return Verdict.UPSTREAM_FAILED
    if up.skipped >= up.total:
        return Verdict.SKIP
    return Verdict.RUN if all_done else Verdict.WAIT


def _none_skipped(up: UpstreamCounts, all_done: bool) -> Verdict:
    if up.skipped:
        return Verdict.SKIP
    return Verdict.RUN if all_done else Verdict.WAIT


_RULES = {
    TR.ALL_SUCCESS: _all_success,
    TR.ALL_FAILED: _all_failed,
    TR.ALL_DONE: _all_done,
    TR.ALL_SKIPPED: _all_skipped,
    TR.ONE_SUCCESS: _one_success,
    TR.ONE_FAILED: _one_failed,
    TR.ONE_DONE: _one_done,
    TR.NONE_FAILED: _none_failed,
    TR.NONE_FAILED_MIN_ONE_SUCCESS: _none_failed_min_one_success,
    TR.NONE_SKIPPED: _none_skipped,
}


def settle(
    dag: DagSpec,
    states: Mapping[str, TaskState],
    candidates: Iterable[str],
    *,
    past_states: Mapping[str, TaskState] | None = None,
) -> dict[str, TaskState]:
    """New states for waiting task instances whose dependencies are now decided.

    ``states`` holds the run's instances (tasks without one are ignored); ``candidates`` are
    the tasks to look at, typically the downstream of what changed. A change re-examines
    the changed task's own downstream, so cascades of skips and failures are followed.
    ``past_states`` are the previous run's states of this run's ``depends_on_past`` tasks
    (a task missing from it had no instance then, which counts as satisfied).
    Returns only changes: ``scheduled``, ``skipped``, ``upstream_failed`` or, for
    EmptyOperator tasks, ``success`` (they finish here without using an executor slot).
    """
    current = dict(states)
    heap = [(dag.order[t], t) for t in set(candidates) if t in dag.tasks]
    heapq.heapify(heap)
    seen: set[str] = set()
    changes: dict[str, TaskState] = {}
    while heap:
        _, task_id = heapq.heappop(heap)
        if task_id in seen:
            continue
        seen.add(task_id)
        new = _decide(dag.tasks[task_id], current, past_states)
        if new is None or new == current.get(task_id):
            continue
        current[task_id] = changes[task_id] = new
        if new in FINISHED_TASK_STATES:
            for child in dag.tasks[task_id].downstream:
                heapq.heappush(heap, (dag.order[child], child))
    return changes


def _decide(
    task: TaskSpec, states: Mapping[str, TaskState], past_states: Mapping[str, TaskState] | None
) -> TaskState | None:
    state = states.get(task.task_id)
    if state not in WAITING_STATES:
        return None
    up = UpstreamCounts.of(states[u] for u in task.upstream if u in states)
    verdict = trigger_verdict(task.trigger_rule, up)
    if verdict == Verdict.SKIP:
        return TS.SKIPPED
    if verdict == Verdict.UPSTREAM_FAILED:
        return TS.UPSTREAM_FAILED
    if verdict == Verdict.WAIT or not is_past_satisfied(task, past_states):
        return None
    return TS.SUCCESS if task.is_empty else TS.SCHEDULED


def is_past_satisfied(task: TaskSpec, past_states: Mapping[str, TaskState] | None) -> bool:
    """``depends_on_past``: the previous run's instance of this task succeeded or was skipped."""
    if not task.depends_on_past or past_states is None or task.task_id not in past_states:
        return True
    return past_states[task.task_id] in PAST_OK_STATES


def run_outcome(dag: DagSpec, states: Mapping[str, TaskState]) -> DagRunState | None:
    """``success``/``failed`` once every task instance is finished, else None.

    Airflow's rule: the run failed if a leaf task failed or is upstream_failed (removed
    instances are ignored); otherwise it succeeded.
    """
    if any(s not in FINISHED_TASK_STATES for s in states.values()):
        return None
    leaves = [s for t, s in states.items() if s != TS.REMOVED and (t in dag.leaves or t not in dag.tasks)]
    return DagRunState.FAILED if any(s in FAILED_LEAF_STATES for s in leaves) else DagRunState.SUCCESS


def retry_delay(task: TaskSpec, try_number: int) -> timedelta:
    """How long to wait after failed try ``try_number`` (1-based) before the next one.

    With ``retry_exponential_backoff`` the delay doubles after each try (deterministically:
    no jitter, so a test can predict it), capped by ``max_retry_delay`` when set.
    """
    seconds = task.retry_delay
    if task.retry_exponential_backoff:
        seconds = seconds * 2 ** max(try_number - 1, 0)
    if task.max_retry_delay is not None:
        seconds = min(seconds, task.max_retry_delay)
    return timedelta(seconds=max(seconds, 0.0))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A scheduled task instance waiting for a slot; ``order`` breaks priority ties (older first)."""

    key: tuple[str, str, str]  # (dag_id, run_id, task_id)
    pool: str
    pool_slots: int
    priority_weight: int
    order: tuple[datetime, str] | tuple[()] = ()

    @property
    def dag_id(self) -> str:
        return self.key[0]

    def sort_key(self) -> tuple[int, tuple[datetime, str] | tuple[()], tuple[str, str, str]]:
        return (-self.priority_weight, self.order, self.key)


@dataclass(frozen=True, slots=True)
class Capacity:
    """What is free right now. A pool missing from ``pool_free`` counts against default_pool;
    a negative pool value means unlimited (as Airflow's ``-1`` slots)."""

    parallelism: int
    pool_free: Mapping[str, int]
    dag_free: Mapping[str, int]


def select_for_queue(candidates: Sequence[Candidate], capacity: Capacity) -> list[Candidate]:
    """Highest priority first, greedily, without exceeding any pool, DAG or global limit.

    A candidate that does not fit (its pool or DAG is full) is passed over so that lower
    priority work in other pools can still start, as in Airflow.
    """
    parallelism = capacity.parallelism
    pool_free = dict(capacity.pool_free)
    dag_free = dict(capacity.dag_free)
    chosen: list[Candidate] = []
    for cand in sorted(candidates, key=Candidate.sort_key):
        if parallelism <= 0:
            break
        pool = cand.pool if cand.pool in pool_free else DEFAULT_POOL
        free = pool_free.get(pool, 0)
        if (0 <= free < cand.pool_slots) or dag_free.get(cand.dag_id, 0) <= 0:
            continue
        if free >= 0:
            pool_free[pool] = free - cand.pool_slots
        dag_free[cand.dag_id] = dag_free.get(cand.dag_id, 0) - 1
        parallelism -= 1
        chosen.append(cand)
    return chosen


def pool_free_slots(pools: Mapping[str, int], used: Mapping[str, int]) -> dict[str, int]:
    """Free slots per pool; usage of a pool that no longer exists counts against default_pool."""
    charged: Counter[str] = Counter()
    for name, slots in used.items():
        charged[name if name in pools else DEFAULT_POOL] += slots
    return {name: (-1 if total < 0 else max(total - charged[name], 0)) for name, total in pools.items()}


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """A DAG's schedule settings and where it stands, as the scheduler sees them."""

    schedule: Schedule
    start_date: datetime | None
    end_date: datetime | None
    catchup: bool
    timezone: str
    last_logical_date: datetime | None
    active_runs: int
    max_active_runs: int


def runs_to_create(state: ScheduleState, now: datetime) -> tuple[list[RunInfo], RunInfo | None]:
    """The runs due now (oldest first, at most the free ``max_active_runs``) and the next one.

    The second value is the next run not created yet (due or not), or None if the schedule
    has no more runs: the scheduler stores it as the DAG's ``next_dagrun`` and wakes up at
    its ``run_after``.
    """
    due: list[RunInfo] = []
    free = state.max_active_runs - state.active_runs
    last = state.last_logical_date
    while True:
        info = state.schedule.next_run_after(
            last,
            start_date=state.start_date,
            end_date=state.end_date,
            catchup=state.catchup,
            now=now,
            tz=state.timezone,
        )
        if info is None or not info.is_due(now) or len(due) >= free:
            return due, info
        due.append(info)
        last = info.logical_date
