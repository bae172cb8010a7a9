"""The scheduler's pure decisions, table-driven and without a database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tradewind.dag.schedules import parse_schedule
from tradewind.dag.trigger_rules import TriggerRule
from tradewind.models.states import DagRunState, TaskState
from tradewind.scheduler.decisions import (
    Candidate,
    Capacity,
    ScheduleState,
    UpstreamCounts,
    Verdict,
    pool_free_slots,
    retry_delay,
    run_outcome,
    runs_to_create,
    select_for_queue,
    settle,
    trigger_verdict,
)
from tradewind.scheduler.specs import DagSpec, TaskSpec, spec_from_dict

TR, TS, V = TriggerRule, TaskState, Verdict
S, K, F, U, N = TS.SUCCESS, TS.SKIPPED, TS.FAILED, TS.UPSTREAM_FAILED, TS.NONE


def counts(*states: TaskState, total: int | None = None) -> UpstreamCounts:
    done = UpstreamCounts.of(states)
    return UpstreamCounts(
        total=total if total is not None else done.total,
        success=done.success,
        skipped=done.skipped,
        failed=done.failed,
        upstream_failed=done.upstream_failed,
    )


# (rule, finished upstream states, number of upstream tasks, verdict)
TRIGGER_TABLE = [
    (TR.ALL_SUCCESS, (S, S), 2, V.RUN),
    (TR.ALL_SUCCESS, (S,), 2, V.WAIT),
    (TR.ALL_SUCCESS, (F,), 2, V.UPSTREAM_FAILED),  # marked before the other upstream ends
    (TR.ALL_SUCCESS, (U, S), 2, V.UPSTREAM_FAILED),
    (TR.ALL_SUCCESS, (K, S), 2, V.SKIP),
    (TR.ALL_FAILED, (F, U), 2, V.RUN),
    (TR.ALL_FAILED, (F,), 2, V.WAIT),
    (TR.ALL_FAILED, (F, S), 2, V.SKIP),
    (TR.ALL_FAILED, (K,), 2, V.SKIP),
    (TR.ALL_DONE, (F, K), 2, V.RUN),
    (TR.ALL_DONE, (S,), 2, V.WAIT),
    (TR.ALL_SKIPPED, (K, K), 2, V.RUN),
    (TR.ALL_SKIPPED, (K, S), 2, V.SKIP),
    (TR.ONE_SUCCESS, (S,), 3, V.RUN),  # no need to wait for the others
    (TR.ONE_SUCCESS, (F,), 3, V.WAIT),
    (TR.ONE_SUCCESS, (F, K, U), 3, V.UPSTREAM_FAILED),
    (TR.ONE_SUCCESS, (K, K), 2, V.SKIP),
    (TR.ONE_FAILED, (F,), 3, V.RUN),
    (TR.ONE_FAILED, (U,), 3, V.RUN),
    (TR.ONE_FAILED, (S,), 2, V.WAIT),
    (TR.ONE_FAILED, (S, K), 2, V.SKIP),
    (TR.ONE_DONE, (F,), 2, V.RUN),
    (TR.ONE_DONE, (K, K), 2, V.SKIP),
    (TR.NONE_FAILED, (S, K), 2, V.RUN),
    (TR.NONE_FAILED, (K, K), 2, V.RUN),
    (TR.NONE_FAILED, (S,), 2, V.WAIT),
    (TR.NONE_FAILED, (F,), 2, V.UPSTREAM_FAILED),
    (TR.NONE_FAILED, (U,), 2, V.UPSTREAM_FAILED),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, (S, K), 2, V.RUN),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, (K, K), 2, V.SKIP),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, (K,), 2, V.WAIT),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, (F, S), 2, V.UPSTREAM_FAILED),
    (TR.NONE_SKIPPED, (S, F), 2, V.RUN),
    (TR.NONE_SKIPPED, (S,), 2, V.WAIT),
    (TR.NONE_SKIPPED, (K,), 2, V.SKIP),
    (TR.ALWAYS, (), 2, V.RUN),
    (TR.ALL_SUCCESS, (), 0, V.RUN),  # no upstream at all
]


@pytest.mark.parametrize(("rule", "states", "total", "verdict"), TRIGGER_TABLE)
def test_trigger_rule_table(
    rule: TriggerRule, states: tuple[TaskState, ...], total: int, verdict: Verdict
) -> None:
    assert trigger_verdict(rule, counts(*states, total=total)) == verdict


def dag(*edges: str, rules: dict[str, TriggerRule] | None = None, empty: set[str] = frozenset(),
        past: set[str] = frozenset()) -> DagSpec:  # fmt: skip
    """A DAG from "a>b" edges; lone names are tasks without edges."""
    upstream: dict[str, list[str]] = {}
    for edge in edges:
        names = edge.split(">")
        for name in names:
            upstream.setdefault(name, [])
        for up, down in itertools.pairwise(names):
            upstream[down].append(up)
    tasks = [
        TaskSpec(
            t,
            upstream=tuple(ups),
            trigger_rule=(rules or {}).get(t, TR.ALL_SUCCESS),
            is_empty=t in empty,
            depends_on_past=t in past,
        )
        for t, ups in upstream.items()
    ]
    return DagSpec.build("d", tasks)


def test_settle_schedules_what_is_ready() -> None:
    spec = dag("a>b>c", "a>d")
    changes = settle(spec, {"a": S, "b": N, "c": N, "d": N}, ["b", "d"])
    assert changes == {"b": TS.SCHEDULED, "d": TS.SCHEDULED}


def test_settle_cascades_upstream_failed_and_skips() -> None:
    spec = dag("a>b>c>d", "x>y", rules={"d": TR.ALL_DONE})
    changes = settle(spec, {"a": F, "b": N, "c": N, "d": N, "x": K, "y": N}, ["b", "y"])
    assert changes == {"b": U, "c": U, "d": TS.SCHEDULED, "y": K}


def test_settle_completes_empty_tasks_and_follows_them() -> None:
    spec = dag("a>e1>e2>b", empty={"e1", "e2"})
    changes = settle(spec, {"a": S, "e1": N, "e2": N, "b": N}, ["e1"])
    assert changes == {"e1": S, "e2": S, "b": TS.SCHEDULED}


def test_settle_branch_join_runs_with_none_failed_min_one_success() -> None:
    spec = dag("branch>left>join", "branch>right>join", rules={"join": TR.NONE_FAILED_MIN_ONE_SUCCESS})
    states = {"branch": S, "left": S, "right": K, "join": N}
    assert settle(spec, states, ["join"]) == {"join": TS.SCHEDULED}


def test_settle_leaves_running_and_finished_tasks_alone() -> None:
    spec = dag("a>b", "a>c")
    assert settle(spec, {"a": F, "b": TS.RUNNING, "c": S}, ["b", "c"]) == {}


@pytest.mark.parametrize(
    ("past", "expected"),
    [
        (None, {"b": TS.SCHEDULED}),  # first run
        ({}, {"b": TS.SCHEDULED}),  # the task did not exist then
        ({"b": S}, {"b": TS.SCHEDULED}),
        ({"b": K}, {"b": TS.SCHEDULED}),
        ({"b": F}, {}),
        ({"b": TS.RUNNING}, {}),
    ],
)
def test_settle_depends_on_past(past: dict[str, TaskState] | None, expected: dict[str, TaskState]) -> None:
    spec = dag("a>b", past={"b"})
    assert settle(spec, {"a": S, "b": N}, ["b"], past_states=past) == expected


RUN_OUTCOMES = [
    ({"a": S, "b": S}, DagRunState.SUCCESS),
    ({"a": S, "b": K}, DagRunState.SUCCESS),
    ({"a": F, "b": U}, DagRunState.FAILED),
    ({"a": S, "b": TS.RUNNING}, None),
    ({"a": TS.UP_FOR_RETRY, "b": N}, None),
    ({"a": F, "b": S}, DagRunState.SUCCESS),  # only leaves decide (b is the leaf, all_done)
    ({"a": S, "b": S, "gone": TS.REMOVED}, DagRunState.SUCCESS),
    ({}, DagRunState.SUCCESS),
]


@pytest.mark.parametrize(("states", "outcome"), RUN_OUTCOMES)
def test_run_outcome(states: dict[str, TaskState], outcome: DagRunState | None) -> None:
    assert run_outcome(dag("a>b"), states) == outcome


@pytest.mark.parametrize(
    ("delay", "backoff", "cap", "try_number", "seconds"),
    [
        (10, False, None, 1, 10),
        (10, False, None, 3, 10),
        (10, True, None, 1, 10),
        (10, True, None, 2, 20),
        (10, True, None, 4, 80),
        (10, True, 30, 4, 30),
        (0, True, None, 5, 0),
    ],
)
def test_retry_delay(delay: float, backoff: bool, cap: float | None, try_number: int, seconds: float) -> None:
    task = TaskSpec("t", retry_delay=delay, retry_exponential_backoff=backoff, max_retry_delay=cap)
    assert retry_delay(task, try_number) == timedelta(seconds=seconds)


def cand(
    task_id: str, *, pool: str = "default_pool", slots: int = 1, weight: int = 1, dag_id: str = "d"
) -> Candidate:
    return Candidate((dag_id, "r", task_id), pool, slots, weight)


def chosen(cands: list[Candidate], **capacity: object) -> list[str]:
    base: dict[str, object] = {
        "parallelism": 100,
        "pool_free": {"default_pool": 100},
        "dag_free": {"d": 100, "e": 100},
    }
    return [c.key[2] for c in select_for_queue(cands, Capacity(**(base | capacity)))]  # type: ignore[arg-type]


def test_select_by_priority_weight_then_key() -> None:
    cands = [cand("low", weight=1), cand("high", weight=5), cand("mid", weight=3), cand("also_low", weight=1)]
    assert chosen(cands, parallelism=3) == ["high", "mid", "also_low"]


def test_select_never_exceeds_pool_slots_counting_pool_slots() -> None:
    cands = [cand(f"t{i}", pool="p", slots=2) for i in range(5)] + [cand("other")]
    assert chosen(cands, pool_free={"p": 5, "default_pool": 1}) == ["other", "t0", "t1"]


def test_select_task_in_missing_pool_uses_default_pool() -> None:
    cands = [cand("a", pool="gone"), cand("b", pool="gone")]
    assert chosen(cands, pool_free={"default_pool": 1}) == ["a"]


def test_select_unlimited_pool() -> None:
    assert chosen([cand("a", pool="p"), cand("b", pool="p")], pool_free={"p": -1}) == ["a", "b"]


def test_select_respects_max_active_tasks_per_dag() -> None:
    cands = [cand("a"), cand("b"), cand("c", dag_id="e")]
    assert chosen(cands, dag_free={"d": 1, "e": 5}) == ["a", "c"]


def test_select_passes_over_a_full_pool_to_lower_priority_work() -> None:
    cands = [cand("big", pool="p", slots=3, weight=9), cand("small", weight=1)]
    assert chosen(cands, pool_free={"p": 2, "default_pool": 1}) == ["small"]


def test_pool_free_slots_charges_missing_pools_to_default() -> None:
    free = pool_free_slots({"default_pool": 10, "p": 3, "inf": -1}, {"p": 2, "gone": 4, "inf": 7})
    assert free == {"default_pool": 6, "p": 1, "inf": -1}


START = datetime(2024, 1, 1, tzinfo=UTC)


def schedule_state(**overrides: object) -> ScheduleState:
    values: dict[str, object] = dict(
        schedule=parse_schedule("@daily"), start_date=START, end_date=None, catchup=True, timezone="UTC",
        last_logical_date=None, active_runs=0, max_active_runs=16,
    )  # fmt: skip
    return ScheduleState(**(values | overrides))  # type: ignore[arg-type]


def test_runs_to_create_catches_up() -> None:
    due, upcoming = runs_to_create(schedule_state(), START + timedelta(days=3, hours=1))  # Jan 4, 01:00
    assert [r.logical_date.day for r in due] == [1, 2, 3]
    assert upcoming is not None and upcoming.logical_date == START + timedelta(days=3)


def test_runs_to_create_without_catchup_only_latest() -> None:
    due, _ = runs_to_create(schedule_state(catchup=False), START + timedelta(days=5, hours=1))
    assert [r.logical_date.day for r in due] == [5]


def test_runs_to_create_honours_max_active_runs() -> None:
    due, upcoming = runs_to_create(
        schedule_state(active_runs=1, max_active_runs=2), START + timedelta(days=5)
    )
    assert [r.logical_date.day for r in due] == [1]
    assert upcoming is not None and upcoming.logical_date.day == 2


def test_runs_to_create_continues_after_last_run() -> None:
    due, _ = runs_to_create(
        schedule_state(last_logical_date=START + timedelta(days=2)), START + timedelta(days=4)
    )
    assert [r.logical_date.day for r in due] == [4]


def test_runs_to_create_nothing_for_unscheduled_dags() -> None:
    assert runs_to_create(schedule_state(schedule=parse_schedule(None)), START + timedelta(days=4)) == (
        [],
        None,
    )


def test_spec_from_dict_reads_the_serialized_fields() -> None:
    spec = spec_from_dict(
        {
            "dag_id": "d", "schedule": "@daily", "start_date": "2024-01-01T00:00:00+00:00", "catchup": False,
            "max_active_runs": 2, "dagrun_timeout": 60.0, "fileloc": "/f.py",
            "tasks": [
                {"task_id": "a", "upstream_task_ids": [], "trigger_rule": "all_success", "retries": 2,
                 "retry_delay": 1.5, "pool": "p", "pool_slots": 2, "effective_priority_weight": 7, "is_empty": True},
                {"task_id": "b", "upstream_task_ids": ["a"], "trigger_rule": "none_failed_or_skipped"},
            ],
        }
    )  # fmt: skip
    assert spec.tasks["a"].downstream == ("b",) and spec.leaves == {"b"}
    assert spec.tasks["a"].retries == 2 and spec.tasks["a"].retry_delay == 1.5 and spec.tasks["a"].is_empty
    assert spec.tasks["a"].priority_weight == 7 and spec.tasks["a"].pool_slots == 2
    assert spec.tasks["b"].trigger_rule == TR.NONE_FAILED_MIN_ONE_SUCCESS
    assert spec.catchup is False and spec.max_active_runs == 2 and spec.dagrun_timeout == 60.0
    assert spec.order["a"] < spec.order["b"]
