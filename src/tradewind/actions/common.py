"""Lookups and checks several actions share, each raising the error clients expect."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert

from tradewind.errors import BadRequest, DagNotFound, DagRunNotFound
from tradewind.models import DagModel, DagRun, EventLog
from tradewind.store import Store
from tradewind.timeutil import isoformat, to_utc

ID_MAX_LENGTH = 250
_INSERT_EVENT = insert(cast(Table, EventLog.__table__))


def require_dag(store: Store, dag_id: str, *, suffix: str = " in DagModel") -> DagModel:
    """The DAG's row; DagNotFound("Dag id <dag_id> not found<suffix>") if unknown."""
    dag = store.find_dag(dag_id)
    if dag is None:
        raise DagNotFound(f"Dag id {dag_id} not found{suffix}")
    return dag


def require_serialized(store: Store, dag_id: str, *, suffix: str = " in DagModel") -> dict[str, Any]:
    """The DAG's serialized form (what the API reads instead of importing DAG files).

    A serialized DAG exists only for a DAG row (foreign key), so one lookup answers both.
    """
    data = store.serialized_dag(dag_id)
    if data is None:
        raise DagNotFound(f"Dag id {dag_id} not found{suffix}")
    return data


def require_run(store: Store, dag_id: str, execution_date: datetime) -> DagRun:
    """The run at this instant, whatever offset it was spelled with."""
    run = store.find_dag_run(dag_id, execution_date=to_utc(execution_date))
    if run is None:
        raise DagRunNotFound(f"Dag Run for date {isoformat(execution_date)} not found in dag {dag_id}")
    return run


def check_text(value: str, name: str, *, max_length: int | None = None) -> str:
    """Refuse what no database column can hold: NUL, lone surrogates, or too many characters."""
    if "\x00" in value or not _encodable(value):
        raise BadRequest(f"Bad value for `{name}`: it contains characters that cannot be stored")
    if max_length is not None and len(value) > max_length:
        raise BadRequest(f"Bad value for `{name}`: longer than {max_length} characters")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def record_event(
    store: Store,
    event: str,
    *,
    now: datetime,
    owner: str | None,
    dag_id: str | None = None,
    run_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write who did what; ``extra`` must hold no secrets (never a conf's values).

    A prebuilt Core insert, not an ORM object: the ORM's flush of one row costs more than
    the rest of a trigger's statements.
    """
    row = dict(
        dttm=now,
        event=event,
        owner=owner,
        dag_id=dag_id,
        task_id=None,
        run_id=run_id,
        extra=json.dumps(extra, sort_keys=True) if extra else None,
    )
    store.session.connection().execute(_INSERT_EVENT, row)
