"""Benchmark: find and parse a folder of small DAG files.

The target (issue: DAG folder loader) is 1,000 files in under 10 seconds on a 2-core
machine. The files mix the three styles users write: Tradewind's own API, Airflow 1.10
(``schedule_interval``, ``dag=dag``) and Airflow 2 TaskFlow (``@dag``/``@task``), each with
a handful of tasks.

    .venv/bin/python benchmarks/bench_dag_loading.py [--files 1000] [--processes N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tradewind.dag.loader import find_dag_files, parse_files

TRADEWIND_STYLE = """\
from datetime import UTC, datetime

from tradewind.dag import DAG, BashOperator, EmptyOperator, PythonOperator


def _work(ds=None):
    return ds


with DAG("bench_tw_{n}", schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=UTC), catchup=False):
    start = EmptyOperator(task_id="start")
    extract = BashOperator(task_id="extract", bash_command="echo {{{{ ds }}}}")
    transform = PythonOperator(task_id="transform", python_callable=_work)
    load = BashOperator(task_id="load", bash_command="echo load", retries=2)
    start >> extract >> transform >> load
"""

AIRFLOW1_STYLE = """\
from datetime import timedelta

from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.utils.dates import days_ago

default_args = {{"owner": "team_{n}", "retries": 1, "retry_delay": timedelta(minutes=5), "start_date": days_ago(1)}}
dag = DAG("bench_af1_{n}", default_args=default_args, schedule_interval="0 {hour} * * *")

begin = DummyOperator(task_id="begin", dag=dag)
for i in range(3):
    begin >> BashOperator(task_id=f"step_{{i}}", bash_command="echo {{{{ ds }}}}", dag=dag)
"""

AIRFLOW2_STYLE = """\
import pendulum
from airflow.decorators import dag, task


@dag(dag_id="bench_af2_{n}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def pipeline():
    @task
    def extract():
        return [1, 2, 3]

    @task
    def total(values):
        return sum(values)

    @task
    def report(value):
        print(value)

    report(total(extract()))


pipeline()
"""

STYLES = (TRADEWIND_STYLE, AIRFLOW1_STYLE, AIRFLOW2_STYLE)


def write_dag_files(folder: Path, count: int) -> None:
    """``count`` small DAG files, cycling through the styles, 100 per subfolder."""
    for n in range(count):
        sub = folder / f"team_{n // 100:02d}"
        sub.mkdir(exist_ok=True)
        source = STYLES[n % len(STYLES)].format(n=n, hour=n % 24)
        (sub / f"dag_{n:04d}.py").write_text(source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=None, help="default: one per CPU")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds; exit 1 when over")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tradewind-bench-") as tmp:
        folder = Path(tmp)
        write_dag_files(folder, args.files)
        started = time.perf_counter()
        paths = find_dag_files(folder)
        found = time.perf_counter()
        results = parse_files(paths, processes=args.processes, dags_folder=folder)
        finished = time.perf_counter()

    errors = [r for r in results if r.error]
    dags = sum(len(r.dags) for r in results)
    total = finished - started
    print(f"files: {len(paths)}  dags: {dags}  errors: {len(errors)}  cpus: {os.cpu_count()}")
    print(f"find_dag_files: {found - started:.2f} s  parse_files: {finished - found:.2f} s")
    print(f"total: {total:.2f} s  ({len(paths) / total:.0f} files/s)")
    for result in errors[:3]:
        print(f"\n{result.path}:\n{result.error}", file=sys.stderr)
    return 0 if total < args.budget and not errors and dags == args.files else 1


if __name__ == "__main__":
    sys.exit(main())
