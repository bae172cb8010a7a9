"""``/dags/<dag_id>/graph?execution_date=…``: where ``dag_run_url`` leads, until a UI exists.

A minimal server-rendered page listing the run's task instances and their states; every
value is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tradewind.actions import dag_runs, tasks
from tradewind.api.endpoints import app_context, read_action
from tradewind.errors import BadRequest
from tradewind.timeutil import isoformat, parse_date
from tradewind.values import TaskInstanceInfo

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>Run state: <strong>{state}</strong></p>
<table><thead><tr><th>Task</th><th>State</th><th>Try</th><th>Start</th><th>End</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


async def run_graph(request: Request, dag_id: str, execution_date: str | None = None) -> Response:
    if not execution_date:
        raise BadRequest("Missing query parameter `execution_date`")
    date = parse_date(execution_date, app_context(request).tz)
    state = await read_action(request, dag_runs.dag_run_state, dag_id, date)
    instances = await read_action(request, tasks.run_task_instances, dag_id, date)
    title = escape(f"{dag_id} @ {isoformat(date)}")
    rows = "\n".join(_row(ti) for ti in instances)
    return HTMLResponse(_PAGE.format(title=title, state=escape(state), rows=rows))


def _row(ti: TaskInstanceInfo) -> str:
    cells = [ti.task_id, ti.state or "none", str(ti.try_number), _when(ti.start_date), _when(ti.end_date)]
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"


def _when(value: datetime | None) -> str:
    return "" if value is None else isoformat(value)
