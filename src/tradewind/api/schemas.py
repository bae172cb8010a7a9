"""Airflow's JSON shapes on the server: request parsing and response rendering.

Framework-free (stdlib, values, timeutil, errors). The JSON client reads these shapes back
with :mod:`tradewind.clients._wire`; tests check that what it reads equals what the
actions returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from json.encoder import encode_basestring as _encode_str
from typing import Any
from urllib.parse import quote

from tradewind.errors import BadRequest, InvalidConf, InvalidDate, TradewindError
from tradewind.timeutil import isoformat, parse_date
from tradewind.values import (
    DagRunInfo,
    DeleteResult,
    HealthInfo,
    LatestRun,
    LineageInfo,
    PoolInfo,
    RunRow,
    TaskInstanceInfo,
    TriggerResult,
)

BODY_NOT_OBJECT = "Request body must be a JSON object"
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "on", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "off", "0"})
POOL_KEYS = frozenset({"name", "slots", "description", "include_deferred"})


# ---- requests -------------------------------------------------------------------------


def parse_json_object(body: bytes, *, empty: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body as a JSON object; ``empty`` (when given) stands for an empty body."""
    if empty is not None and not body.strip():
        return empty
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadRequest(BODY_NOT_OBJECT) from None
    if not isinstance(data, dict):
        raise BadRequest(BODY_NOT_OBJECT)
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_bool(value: object, name: str) -> bool:
    """A boolean given as JSON true/false, 0/1, or a word such as "true", "no", "T"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise BadRequest(f"Bad value for `{name}`: {value}")


def parse_optional_int(text: str | None, name: str) -> int | None:
    """A query parameter holding a non-negative integer."""
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise BadRequest(f"Bad value for `{name}`: {text}")
    return int(text)


def parse_query_date(text: str | None, tz: tzinfo) -> datetime | None:
    return None if text is None or text == "" else parse_date(text, tz)


@dataclass(frozen=True, slots=True)
class TriggerRequest:
    run_id: str | None
    conf: dict[str, Any] | str | None
    execution_date: datetime | None
    replace_microseconds: bool | None


def parse_trigger(data: Mapping[str, Any], tz: tzinfo) -> TriggerRequest:
    """The trigger body; unknown keys are ignored, as Airflow did."""
    run_id = data.get("run_id")
    if run_id is not None and not isinstance(run_id, str):
        raise BadRequest(f"Bad value for `run_id`: {run_id}")
    conf = data.get("conf")
    if conf is not None and not isinstance(conf, dict | str):
        raise InvalidConf()
    return TriggerRequest(
        run_id=run_id or None,
        conf=conf,
        execution_date=_body_date(data.get("execution_date"), tz),
        replace_microseconds=_optional_bool(data.get("replace_microseconds"), "replace_microseconds"),
    )


def _body_date(value: object, tz: tzinfo) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidDate(str(value))
    return parse_date(value, tz)


def _optional_bool(value: object, name: str) -> bool | None:
    return None if value is None else parse_bool(value, name)


@dataclass(frozen=True, slots=True)
class PoolRequest:
    name: str
    slots: int | str
    description: str | None
    include_deferred: bool | None


def parse_pool(data: Mapping[str, Any]) -> PoolRequest:
    """``{"name", "slots", "description"?, "include_deferred"?}``; a missing or unknown key is named."""
    unknown = sorted(set(data) - POOL_KEYS)
    if unknown:
        raise BadRequest(f"Unknown field(s) in pool: {', '.join(unknown)}")
    for key in ("name", "slots"):
        if key not in data:
            raise BadRequest(f"Missing required field `{key}`")
    name, slots, description = data["name"], data["slots"], data.get("description")
    if not isinstance(name, str):
        raise BadRequest(f"Bad value for `name`: {name}")
    if isinstance(slots, bool) or not isinstance(slots, int | str):
        raise BadRequest(f"Bad value for `slots`: {slots}")
    if description is not None and not isinstance(description, str):
        raise BadRequest(f"Bad value for `description`: {description}")
    return PoolRequest(
        name, slots, description, _optional_bool(data.get("include_deferred"), "include_deferred")
    )


# ---- responses ------------------------------------------------------------------------


def error_to_json(exc: TradewindError) -> dict[str, str]:
    return {"error": exc.message, "type": type(exc).__name__}


def dag_run_url(dag_id: str, execution_date: datetime) -> str:
    """``/dags/<dag_id>/graph?execution_date=<urlencoded iso>`` (hot: one per listed run)."""
    return f"{_graph_prefix(dag_id)}{_quote_iso(isoformat(execution_date))}"


@lru_cache(maxsize=1024)
def _graph_prefix(dag_id: str) -> str:
    return f"/dags/{quote(dag_id, safe='')}/graph?execution_date="


def _quote_iso(text: str) -> str:
    """URL-encode an ISO date: only ``:`` and ``+`` need it (``-``, ``.``, digits and ``T`` are safe)."""
    return text.replace(":", "%3A").replace("+", "%2B")


def _date_or_blank(value: datetime | None) -> str:
    return "" if value is None else isoformat(value)


def trigger_to_json(result: TriggerResult) -> dict[str, Any]:
    """Airflow's three keys, plus ``dag_id``, ``state`` and ``queued_at`` for our client."""
    return {
        "execution_date": isoformat(result.execution_date),
        "message": result.message,
        "run_id": result.run_id,
        "dag_id": result.dag_id,
        "state": result.state,
        "queued_at": _date_or_blank(result.queued_at),
    }


def dag_run_to_json(run: DagRunInfo) -> dict[str, Any]:
    return {
        "id": run.id,
        "run_id": run.run_id,
        "dag_id": run.dag_id,
        "state": run.state,
        "execution_date": isoformat(run.execution_date),
        "start_date": _date_or_blank(run.start_date),
        "end_date": _date_or_blank(run.end_date),
        "dag_run_url": dag_run_url(run.dag_id, run.execution_date),
        "run_type": run.run_type,
        "external_trigger": run.external_trigger,
        "conf": run.conf,
    }


def dag_runs_json(runs: Iterable[DagRunInfo]) -> str:
    """``json.dumps([dag_run_to_json(run) for run in runs])`` (compact, non-ASCII kept)."""
    return dag_run_rows_json(run.to_row() for run in runs)


def dag_run_rows_json(rows: Iterable[RunRow]) -> str:
    """:func:`dag_runs_json` of the runs these rows hold, written straight from the rows.

    The list of runs is the API's hottest large response, so each item is written as text in
    one loop, with no value objects: dates (ISO text already) and URLs need no escaping, the
    DAG's id is escaped once per listing, and every other string goes through the json
    module's own escaping (C).
    """
    encode = _encode_str
    items = []
    dag_id, dag_json, url_prefix = None, "", ""
    for id, dag, run_id, state, date, start, end, run_type, external, conf in rows:
        if dag is not dag_id:  # a listing is of one DAG: its id is the same object in every row
            dag_id, dag_json, url_prefix = dag, encode(dag), _graph_prefix(dag)
        items.append(  # ints, booleans and URL-quoting inline: no function call per row
            f'{{"id":{id if id.__class__ is int else _json_text(id)},"run_id":{encode(run_id)},'
            f'"dag_id":{dag_json},"state":{encode(state)},"execution_date":"{date}",'
            f'"start_date":"{start or ""}","end_date":"{end or ""}",'
            f'"dag_run_url":"{url_prefix}{date.replace(":", "%3A").replace("+", "%2B")}",'
            f'"run_type":{encode(run_type)},"external_trigger":'
            f"{'true' if external is True else 'false' if external is False else _json_text(external)},"
            f'"conf":{"null" if conf is None else _json_text(conf)}}}'
        )
    return f"[{','.join(items)}]"


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json_text(value: object) -> str:
    """What ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` returns."""
    return _ENCODER.encode(value)


def latest_run_to_json(run: LatestRun) -> dict[str, Any]:
    return {
        "dag_id": run.dag_id,
        "execution_date": isoformat(run.execution_date),
        "start_date": _date_or_blank(run.start_date),
        "dag_run_url": dag_run_url(run.dag_id, run.execution_date),
    }


def _to_string(value: object) -> str:
    return isoformat(value) if isinstance(value, datetime) else str(value)


def task_instance_to_json(ti: TaskInstanceInfo) -> dict[str, str]:
    """Every attribute as a string, ``"None"`` when unset, as Airflow returned them."""
    return {f.name: _to_string(getattr(ti, f.name)) for f in fields(ti)}


_TI_DATES = frozenset({"execution_date", "start_date", "end_date", "queued_dttm"})
_TI_INTS = frozenset({"try_number", "max_tries", "pid", "pool_slots", "priority_weight", "map_index"})


def _from_string(name: str, text: str) -> Any:
    if text == "None" and name not in ("hostname", "unixname", "pool", "queue"):
        return None
    if name in _TI_DATES:
        return datetime.fromisoformat(text)
    if name in _TI_INTS:
        return int(text)
    return float(text) if name == "duration" else text


def lineage_to_json(info: LineageInfo) -> dict[str, Any]:
    tasks = {task_id: {"inlets": t.inlets, "outlets": t.outlets} for task_id, t in info.task_ids.items()}
    return {"task_ids": tasks}


def pool_to_json(pool: PoolInfo) -> dict[str, Any]:
    return {
        "id": pool.id,
        "pool": pool.pool,
        "slots": pool.slots,
        "description": pool.description,
        "include_deferred": pool.include_deferred,
        "occupied_slots": pool.occupied_slots,
        "running_slots": pool.running_slots,
        "queued_slots": pool.queued_slots,
        "open_slots": pool.open_slots,
    }


def delete_to_json(result: DeleteResult) -> dict[str, Any]:
    return {"count": result.count, "message": result.message}


def health_to_json(info: HealthInfo) -> dict[str, Any]:
    heartbeat = info.latest_scheduler_heartbeat
    return {
        "metadatabase": {"status": _status(info.metadatabase_healthy)},
        "scheduler": {
            "status": _status(info.scheduler_healthy),
            "latest_scheduler_heartbeat": None if heartbeat is None else isoformat(heartbeat.astimezone(UTC)),
        },
    }


def _status(healthy: bool) -> str:
    return "healthy" if healthy else "unhealthy"
