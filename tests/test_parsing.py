"""The DAG folder and the database stay in step: new, changed, broken and vanished files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradewind.actions.dags import delete_dag
from tradewind.config import Config
from tradewind.parsing import DagFolderSync
from tradewind.scheduler.main import build_scheduler
from tradewind.store import Database

GOOD = """
from datetime import datetime
from tradewind import DAG
from tradewind.dag import BashOperator

with DAG("{dag_id}", schedule="{schedule}", start_date=datetime(2024, 1, 1), tags=["t"]) as dag:
    a = BashOperator(task_id="a", bash_command="echo a", owner="{owner}")
    b = BashOperator(task_id="b", bash_command="echo b", owner="{owner}")
    a >> b
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 1))  # make a rewrite visible even within one mtime tick
    return path


def good(dag_id: str, schedule: str = "@daily", owner: str = "alice") -> str:
    return GOOD.format(dag_id=dag_id, schedule=schedule, owner=owner)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "dags"
    path.mkdir()
    return path


def dag_rows(db: Database) -> dict[str, tuple[bool, str | None, str]]:
    with db.transaction(write=False) as store:
        return {d.dag_id: (d.is_active, d.schedule, d.owners) for d in store.dags(include_inactive=True)}


def errors(db: Database) -> dict[str, str]:
    with db.transaction(write=False) as store:
        return {Path(e.filename).name: e.stacktrace for e in store.import_errors()}


def test_good_and_broken_files(db: Database, folder: Path) -> None:
    write(folder, "one.py", good("one"))
    write(folder, "broken_dag.py", "from tradewind import DAG\nraise RuntimeError('boom')\n")
    result = DagFolderSync(db, folder).sync()
    assert (result.files, result.dags, result.errors) == (2, 1, 1)
    assert dag_rows(db) == {"one": (True, "@daily", "alice")}
    assert "boom" in errors(db)["broken_dag.py"]
    with db.transaction(write=False) as store:
        serialized = store.serialized_dag("one")
        code = store.code(str(folder / "one.py"))
        tags = store.dag_tags("one")
    assert serialized is not None
    assert [t["task_id"] for t in serialized["tasks"]] == ["a", "b"]
    assert code is not None and 'DAG("one"' in code
    assert tags == ["t"]


def test_only_changed_files_are_parsed_again(db: Database, folder: Path) -> None:
    write(folder, "one.py", good("one"))
    write(folder, "two.py", good("two"))
    sync = DagFolderSync(db, folder)
    assert sync.sync().parsed == 2
    assert sync.sync().parsed == 0
    write(folder, "two.py", good("two", schedule="0 3 * * *", owner="bob"))
    assert sync.sync().parsed == 1
    assert dag_rows(db)["two"] == (True, "0 3 * * *", "bob")


def test_vanished_file_deactivates_its_dags_and_forgets_errors(db: Database, folder: Path) -> None:
    one = write(folder, "one.py", good("one"))
    broken = write(folder, "broken_dag.py", "import no_such_module_dag\n")
    sync = DagFolderSync(db, folder)
    sync.sync()
    one.unlink()
    broken.unlink()
    result = sync.sync()
    assert result.deactivated == 1
    assert dag_rows(db) == {"one": (False, "@daily", "alice")}
    assert errors(db) == {}


def test_fixing_a_file_clears_its_error(db: Database, folder: Path) -> None:
    write(folder, "one.py", "from tradewind import DAG\nsyntax error here\n")
    sync = DagFolderSync(db, folder)
    sync.sync()
    assert "one.py" in errors(db)
    write(folder, "one.py", good("one"))
    sync.sync()
    assert errors(db) == {}
    assert dag_rows(db)["one"][0] is True


def test_a_dag_removed_from_its_file_is_deactivated(db: Database, folder: Path) -> None:
    write(folder, "both.py", good("first") + good("second").replace("as dag:", "as dag2:"))
    sync = DagFolderSync(db, folder)
    sync.sync()
    assert {k for k, v in dag_rows(db).items() if v[0]} == {"first", "second"}
    write(folder, "both.py", good("first"))
    sync.sync()
    assert dag_rows(db)["second"][0] is False


def delete_through_the_api(db: Database, dag_id: str) -> None:
    """What ``DELETE /api/experimental/dags/<dag_id>`` does."""
    with db.transaction() as store:
        delete_dag(store, dag_id, now=datetime.now(UTC))


def test_a_deleted_dag_whose_file_is_unchanged_comes_back_at_the_next_pass(
    db: Database, folder: Path
) -> None:
    one = write(folder, "one.py", good("one"))
    write(folder, "two.py", good("two"))
    sync = DagFolderSync(db, folder)
    sync.sync()
    delete_through_the_api(db, "one")
    assert "one" not in dag_rows(db)

    result = sync.sync()

    assert (result.parsed, result.dags) == (1, 1)  # only one.py, whose mtime did not change
    assert dag_rows(db) == {"one": (True, "@daily", "alice"), "two": (True, "@daily", "alice")}
    with db.transaction(write=False) as store:
        assert store.serialized_dag("one") is not None
        assert store.code(str(one)) is not None
    assert sync.sync().parsed == 0  # and the pass after that is quiet again


def test_a_dag_deleted_from_a_file_that_defines_two_comes_back(db: Database, folder: Path) -> None:
    write(folder, "both.py", good("first") + good("second").replace("as dag:", "as dag2:"))
    sync = DagFolderSync(db, folder)
    sync.sync()
    delete_through_the_api(db, "second")

    assert sync.sync().parsed == 1
    assert {k for k, v in dag_rows(db).items() if v[0]} == {"first", "second"}


def test_a_deleted_dag_of_a_deleted_file_stays_deleted(db: Database, folder: Path) -> None:
    one = write(folder, "one.py", good("one"))
    sync = DagFolderSync(db, folder)
    sync.sync()
    delete_through_the_api(db, "one")
    one.unlink()

    assert sync.sync().parsed == 0
    assert dag_rows(db) == {}


def test_same_dag_id_in_two_files_is_an_import_error(db: Database, folder: Path) -> None:
    write(folder, "a.py", good("same"))
    write(folder, "b.py", good("same"))
    DagFolderSync(db, folder).sync()
    assert "already defined" in errors(db)["b.py"]
    with db.transaction(write=False) as store:
        row = store.find_dag("same")
    assert row is not None and row.fileloc.endswith("a.py")


def test_paused_upon_creation_applies_only_to_new_dags(db: Database, folder: Path) -> None:
    text = good("p").replace('tags=["t"]', 'tags=["t"], is_paused_upon_creation=True')
    write(folder, "p.py", text)
    sync = DagFolderSync(db, folder)
    sync.sync()
    with db.transaction() as store:
        assert store.find_dag("p").is_paused is True  # type: ignore[union-attr]
        store.set_paused("p", False)
    write(folder, "p.py", text.replace("echo a", "echo changed"))
    sync.sync()
    with db.transaction(write=False) as store:
        assert store.find_dag("p").is_paused is False  # type: ignore[union-attr]


def test_examples_load_cleanly(db: Database, folder: Path) -> None:
    result = DagFolderSync(db, folder, include_examples=True).sync()
    assert result.errors == 0, errors(db)
    assert result.dags >= 3


def paused(db: Database) -> dict[str, bool]:
    with db.transaction(write=False) as store:
        return {d.dag_id: d.is_paused for d in store.dags(include_inactive=True)}


def with_own_setting(dag_id: str, value: bool) -> str:
    return good(dag_id).replace('tags=["t"]', f'tags=["t"], is_paused_upon_creation={value}')


@pytest.mark.parametrize("setting", [False, True])
def test_new_dags_follow_the_setting_unless_they_say_otherwise(
    db: Database, folder: Path, setting: bool
) -> None:
    write(folder, "plain.py", good("plain"))
    write(folder, "own_false.py", with_own_setting("own_false", False))
    write(folder, "own_true.py", with_own_setting("own_true", True))
    DagFolderSync(db, folder, paused_at_creation=setting).sync()
    assert paused(db) == {"plain": setting, "own_false": False, "own_true": True}


def test_the_setting_only_applies_to_new_dags(db: Database, folder: Path) -> None:
    write(folder, "old.py", good("old"))
    DagFolderSync(db, folder).sync()
    write(folder, "new.py", good("new"))
    DagFolderSync(db, folder, paused_at_creation=True).sync(force=True)
    assert paused(db) == {"old": False, "new": True}


def test_example_dags_start_paused_and_stay_as_the_user_sets_them(db: Database, folder: Path) -> None:
    """Their schedules (@daily ...) must not run on a first start; user DAGs are not affected."""
    write(folder, "mine.py", good("mine"))
    sync = DagFolderSync(db, folder, include_examples=True)
    sync.sync()
    states = paused(db)
    examples = {dag_id for dag_id in states if dag_id.startswith("example_")}
    assert len(examples) >= 3
    assert states == {"mine": False} | dict.fromkeys(examples, True)
    with db.transaction() as store:
        store.set_paused("example_bash_operator", False)
    sync.sync(force=True)
    assert paused(db)["example_bash_operator"] is False


def test_commands_pass_the_configured_setting(
    db: Database, db_url: str, folder: Path, config: Config, tmp_path: Path
) -> None:
    """``tradewind scheduler`` (its parser) and ``dags reserialize`` read [core] dags_are_paused_at_creation."""
    write(folder, "first.py", good("first"))
    scheduler = build_scheduler(
        config.with_overrides(core={"dags_folder": str(folder), "dags_are_paused_at_creation": True}), db
    )
    assert scheduler.parser is not None
    scheduler.parser.sync_now()
    assert paused(db) == {"first": True}

    write(folder, "second.py", good("second"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")} | {
        "TRADEWIND_HOME": str(tmp_path / "home"),
        "TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url,
        "TRADEWIND__CORE__DAGS_FOLDER": str(folder),
        "TRADEWIND__CORE__LOAD_EXAMPLES": "False",
        "TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
    }
    command = [sys.executable, "-m", "tradewind", "dags", "reserialize"]
    result = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert paused(db) == {"first": True, "second": True}


def test_the_schedulers_parser_registers_a_deleted_dag_again(
    db: Database, folder: Path, config: Config
) -> None:
    """The API's delete happens in another process; the scheduler's next parse brings the DAG back."""
    write(folder, "first.py", good("first"))
    scheduler = build_scheduler(config.with_overrides(core={"dags_folder": str(folder)}), db)
    assert scheduler.parser is not None
    scheduler.parser.sync_now()
    delete_through_the_api(db, "first")
    assert paused(db) == {}

    scheduler.parser.sync_now()

    assert paused(db) == {"first": False}
