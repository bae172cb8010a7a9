"""Branching: one path runs, the others are skipped, and a join runs after whichever ran.

The join uses ``none_failed_min_one_success`` so that the skipped branches do not skip it.
"""

import random
from datetime import UTC, datetime

from tradewind.dag import DAG, BranchPythonOperator, EmptyOperator, TriggerRule

OPTIONS = ["branch_a", "branch_b", "branch_c", "branch_d"]

with DAG(
    dag_id="example_branch_operator",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["example"],
) as dag:
    run_this_first = EmptyOperator(task_id="run_this_first")

    branching = BranchPythonOperator(task_id="branching", python_callable=lambda: random.choice(OPTIONS))
    run_this_first >> branching

    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)

    for option in OPTIONS:
        follow = EmptyOperator(task_id=f"follow_{option}")
        branching >> EmptyOperator(task_id=option) >> follow >> join
