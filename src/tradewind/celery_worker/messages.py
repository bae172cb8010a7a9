"""What travels through Celery: the task payload, the result-backend states, the task ids.

The payload is a :class:`~tradewind.executors.base.TaskWorkload` as a plain JSON dict. Its
paths are the scheduler's: ``dags_fileloc`` (:data:`DAGS_FILELOC`), the DAG file's path
relative to the scheduler's DAGs folder, and the key let a worker whose folders are
elsewhere find the file and write the log under its own folders (:func:`localize`). It
carries two more optional keys from the executor: ``submission_id`` (:data:`SUBMISSION`), echoed in every
result so the executor can tell this submission's results from a stale one under the same
task id, and ``notify`` (:data:`NOTIFY`), a Redis channel to publish the task id on after
each store. The worker stores two kinds of results under the attempt's Celery task id:

* state ``RUNNING`` (:data:`RUNNING`): ``{"hostname", "pid", "started_at", "beat"}``, stored
  at every worker heartbeat while the attempt runs (``beat`` counts them, so a stored value
  changes while the worker lives); an attempt shorter than one heartbeat stores none;
* state ``SUCCESS``: the attempt's final :class:`~tradewind.executors.base.TaskEvent` as a
  dict. ``SUCCESS`` means the *Celery task* is done; the task instance's own state is in the
  event. Celery never overwrites a ``SUCCESS`` result with another state.

Task ids are derived from the attempt's key (and the metadata database), so any process can
find an attempt's result from its key alone: that is what lets a restarted scheduler adopt
attempts that are still running.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload, log_path_for

TASK_NAME = "tradewind.run_task_instance"
RUNNING = "RUNNING"
FINAL = "SUCCESS"
WORKER_JOB = "WorkerJob"
SUBMISSION = "submission_id"
NOTIFY = "notify"
DAGS_FILELOC = "dags_fileloc"

_NAMESPACE = uuid.UUID("6f1d4d52-8a4e-4b7f-9d53-5a3c2f0e7b11")


def task_id_for(key: TaskKey, namespace: str = "") -> str:
    """The Celery task id of one attempt: stable for ``(namespace, key)``."""
    name = "\0".join((namespace, key.dag_id, key.run_id, key.task_id, str(key.try_number)))
    return f"tw-{uuid.uuid5(_NAMESPACE, name)}"


def events_channel_for(namespace: str) -> str:
    """The Redis channel workers publish on when a result of ``namespace``'s attempts changes."""
    return f"tradewind-results-{uuid.uuid5(_NAMESPACE, namespace)}"


def key_to_dict(key: TaskKey) -> dict[str, Any]:
    return {"dag_id": key.dag_id, "task_id": key.task_id, "run_id": key.run_id, "try_number": key.try_number}


def key_from_dict(data: dict[str, Any]) -> TaskKey:
    return TaskKey(str(data["dag_id"]), str(data["task_id"]), str(data["run_id"]), int(data["try_number"]))


def workload_to_dict(workload: TaskWorkload, dags_folder: str | Path | None = None) -> dict[str, Any]:
    """The Celery task payload: JSON types only (datetimes as ISO 8601 strings).

    With ``dags_folder`` (the scheduler's), a DAG file inside it is also named relative to it.
    """
    relative = None
    if dags_folder is not None:
        relative = os.path.relpath(workload.fileloc, dags_folder)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            relative = None  # outside the folder (the bundled examples): only the absolute path
    return {
        "key": key_to_dict(workload.key),
        "fileloc": workload.fileloc,
        DAGS_FILELOC: relative,
        "logical_date": workload.logical_date.isoformat(),
        "data_interval_start": workload.data_interval_start.isoformat(),
        "data_interval_end": workload.data_interval_end.isoformat(),
        "run_type": workload.run_type,
        "external_trigger": workload.external_trigger,
        "conf": workload.conf,
        "max_tries": workload.max_tries,
        "execution_timeout": workload.execution_timeout,
        "queue": workload.queue,
        "priority_weight": workload.priority_weight,
        "log_path": workload.log_path,
        "pool": workload.pool,
    }


def workload_from_dict(data: dict[str, Any]) -> TaskWorkload:
    timeout = data.get("execution_timeout")
    return TaskWorkload(
        key=key_from_dict(data["key"]),
        fileloc=str(data["fileloc"]),
        logical_date=datetime.fromisoformat(data["logical_date"]),
        data_interval_start=datetime.fromisoformat(data["data_interval_start"]),
        data_interval_end=datetime.fromisoformat(data["data_interval_end"]),
        run_type=str(data["run_type"]),
        external_trigger=bool(data["external_trigger"]),
        conf=data.get("conf"),
        max_tries=int(data["max_tries"]),
        execution_timeout=float(timeout) if timeout is not None else None,
        queue=str(data["queue"]),
        priority_weight=int(data["priority_weight"]),
        log_path=str(data["log_path"]),
        pool=str(data.get("pool", "default_pool")),
    )


def localize(
    workload: TaskWorkload, payload: dict[str, Any], dags_folder: Path, log_folder: Path
) -> TaskWorkload:
    """``workload`` with this worker's paths: its DAGs folder and its log folder.

    Machines need not mount the DAGs and logs where the scheduler does: a DAG file the
    scheduler found inside its DAGs folder is looked for at the same place inside this
    worker's (then at the scheduler's path, if it is not there), and the log goes where
    this worker's log server serves it from.
    """
    fileloc, relative = workload.fileloc, payload.get(DAGS_FILELOC)
    if isinstance(relative, str) and not os.path.isabs(relative) and os.pardir not in Path(relative).parts:
        mine = dags_folder / relative
        if mine.exists():  # else the DAGs are where the scheduler has them (same paths everywhere)
            fileloc = str(mine)
    log_path = str(log_path_for(log_folder, workload.key))
    return dataclasses.replace(workload, fileloc=fileloc, log_path=log_path)


def event_to_dict(
    event: TaskEvent, *, started_at: datetime | None = None, submission_id: str | None = None
) -> dict[str, Any]:
    """A final event as stored in the result backend (XCom values are JSON, so UTF-8 text)."""
    return {
        "key": key_to_dict(event.key),
        "state": event.state,
        "at": event.at.isoformat(),
        "pid": event.pid,
        "hostname": event.hostname,
        "xcoms": [[name, value.decode("utf-8")] for name, value in event.xcoms],
        "skip_task_ids": list(event.skip_task_ids),
        "error": event.error,
        "started_at": started_at.isoformat() if started_at is not None else None,
        SUBMISSION: submission_id,
    }


def event_from_dict(data: dict[str, Any]) -> TaskEvent:
    pid = data.get("pid")
    return TaskEvent(
        key=key_from_dict(data["key"]),
        state=str(data["state"]),
        at=datetime.fromisoformat(data["at"]),
        pid=int(pid) if pid is not None else None,
        hostname=str(data.get("hostname") or ""),
        xcoms=tuple((str(name), str(value).encode("utf-8")) for name, value in data.get("xcoms") or ()),
        skip_task_ids=tuple(str(t) for t in data.get("skip_task_ids") or ()),
        error=data.get("error"),
    )


def running_meta(
    hostname: str, pid: int | None, started_at: datetime, beat: int, submission_id: str | None = None
) -> dict[str, Any]:
    return {"hostname": hostname, "pid": pid, "started_at": started_at.isoformat(), "beat": beat,
            SUBMISSION: submission_id}  # fmt: skip
