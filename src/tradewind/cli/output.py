"""Rendering rows for a terminal or a script: ``--output table|json|yaml|plain``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

FORMATS = ("table", "json", "yaml", "plain")

F = TypeVar("F", bound=Callable[..., Any])


def output_option(func: F) -> F:
    option = click.option(
        "--output",
        "-o",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )
    return option(func)


def render(rows: Sequence[Mapping[str, Any]], fmt: str, *, columns: Sequence[str] | None = None) -> str:
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        return json.dumps([dict(r) for r in rows], indent=2, default=str)
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump([_plain_dict(r) for r in rows], sort_keys=False).rstrip()
    if fmt == "plain":
        return "\n".join("\t".join(_cell(r.get(c)) for c in columns) for r in rows)
    return _table(rows, columns)


def echo_rows(rows: Sequence[Mapping[str, Any]], fmt: str, *, columns: Sequence[str] | None = None) -> None:
    if not rows and fmt == "table":
        click.echo("No data found")
        return
    click.echo(render(rows, fmt, columns=columns))


def _plain_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (int, float, bool, str, list, dict)) or v is None else str(v)
        for k, v in row.items()
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    sep = "=+=".join("=" * w for w in widths)
    return "\n".join([line(list(columns)), sep, *(line(r) for r in cells)])
