from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest
from tests.dag._helpers import FakeTaskInstance, context_for, run_task

from tradewind.dag import DAG, BashOperator, PythonOperator
from tradewind.dag.templating import make_jinja_env, render_value


def make_dag(**kwargs: Any) -> DAG:
    return DAG("tpl", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily", **kwargs)


def render(template: Any, dag: DAG | None = None, **context_kwargs: Any) -> Any:
    dag = dag or make_dag()
    with dag:
        task = BashOperator(task_id=f"t{len(dag.task_dict)}", bash_command="true")
    context = context_for(dag, task, **context_kwargs)
    return task.render_template(template, context)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ ds }}", "2024-01-01"),
        ("{{ ts }}", "2024-01-01T00:00:00+00:00"),
        ("{{ macros.ds_add(ds, 1) }}", "2024-01-02"),
        ("{{ macros.ds_add(ds, -1) }}", "2023-12-31"),
        ("{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%y') }}", "01/01/24"),
        ("{{ (macros.datetime(2024, 1, 2) - macros.timedelta(days=1)).day }}", "1"),
        ("{{ macros.json.dumps({'a': 1}) }}", '{"a": 1}'),
        ("{{ macros.uuid.UUID(int=0) }}", "00000000-0000-0000-0000-000000000000"),
        ("{{ macros.random.random() < 1 and macros.time.time() > 0 }}", "True"),
        ("{{ execution_date | ds_nodash }}", "20240101"),
        ("{{ data_interval_end | ts_nodash }}", "20240102T000000"),
        ("[{{ undefined_name }}]", "[]"),
        ("{{ task.task_id }}/{{ dag.dag_id }}/{{ run_id }}", "t0/tpl/scheduled__2024-01-01T00:00:00+00:00"),
    ],
)
def test_context_and_macros_render(template: str, expected: str) -> None:
    assert render(template) == expected


def test_params_and_conf_render() -> None:
    dag = make_dag(params={"x": "param"})
    assert render("{{ params.x }}-{{ dag_run.conf['y'] }}", dag, conf={"y": "conf"}) == "param-conf"


def test_nested_structures_are_rendered_recursively() -> None:
    Pair = namedtuple("Pair", "left right")
    value = {"list": ["{{ ds }}", 1], "tuple": ("{{ ds_nodash }}",), "pair": Pair("{{ ds }}", None), "n": 3}
    assert render(value) == {
        "list": ["2024-01-01", 1],
        "tuple": ("20240101",),
        "pair": Pair("2024-01-01", None),
        "n": 3,
    }


def test_user_defined_macros_and_filters() -> None:
    dag = make_dag(user_defined_macros={"project": "tw"}, user_defined_filters={"shout": str.upper})
    assert render("{{ project | shout }}", dag) == "TW"


def test_native_rendering_keeps_python_types() -> None:
    assert render("{{ [1, 2] }}", make_dag(render_template_as_native_obj=True)) == [1, 2]
    assert render("{{ [1, 2] }}") == "[1, 2]"


def test_template_file_is_read_from_the_dag_folder(tmp_path: Path) -> None:
    (tmp_path / "script.sh").write_text("echo {{ ds }}\n")
    dag = make_dag(fileloc=str(tmp_path / "dag.py"))
    with dag:
        BashOperator(task_id="file", bash_command="script.sh")
    assert run_task(dag, "file", FakeTaskInstance()) == "2024-01-01"


def test_template_searchpath_is_used(tmp_path: Path) -> None:
    (tmp_path / "query.sh").write_text("echo searched")
    dag = make_dag(template_searchpath=str(tmp_path))
    assert render("query.sh", dag) == "echo searched"


def test_missing_template_file_fails_when_rendered_as_in_airflow() -> None:
    with pytest.raises(jinja2.TemplateNotFound):
        render("missing.sh")
    assert render("missing.sh ") == "missing.sh "  # Airflow's trailing-space workaround


def test_templates_exts_reads_templates_dict_files(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("select '{{ ds }}'")
    with make_dag(fileloc=str(tmp_path / "dag.py")) as dag:
        PythonOperator(
            task_id="py",
            python_callable=lambda templates_dict: templates_dict["query"],
            templates_dict={"query": "q.sql"},
            templates_exts=[".sql"],
        )
    assert run_task(dag, "py", FakeTaskInstance()) == "select '2024-01-01'"


def test_objects_with_template_fields_are_rendered_in_place() -> None:
    class Holder:
        template_fields = ("text",)

        def __init__(self) -> None:
            self.text = "{{ ds }}"

    holder = Holder()
    rendered = render([holder])
    assert rendered[0] is holder and holder.text == "2024-01-01"


def test_render_value_without_a_dag() -> None:
    assert render_value("{{ 1 + 1 }}", {}, make_jinja_env(None)) == "2"
