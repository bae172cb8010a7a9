"""User management actions, the standalone admin, and ``tradewind users``."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from sqlalchemy import select

from tradewind.actions.users import (
    STANDALONE_PASSWORD_FILE,
    create_user,
    delete_user,
    ensure_admin_user,
    find_login,
    get_user,
    record_login,
    reset_password,
    users,
)
from tradewind.cli.main import cli
from tradewind.clock import utcnow
from tradewind.errors import BadRequest, Conflict, UserNotFound
from tradewind.models import EventLog
from tradewind.store import Database

HASHER = PasswordHasher()
RunCli = Callable[..., Result]


def test_create_list_and_delete(db: Database) -> None:
    with db.transaction() as store:
        created = create_user(
            store, username="alice", role="op", password="s3cret-pw", now=utcnow(), owner="t"
        )
    with db.transaction(write=False) as store:
        assert [u.username for u in users(store)] == ["alice"]
        assert get_user(store, "alice") == created
        login = find_login(store, "alice")
        events = [e.event for e in store.session.scalars(select(EventLog))]
    assert created.role == "op" and created.is_active and created.last_login is None
    assert login is not None and login.password_hash and "s3cret-pw" not in login.password_hash
    assert HASHER.verify(login.password_hash, "s3cret-pw")
    assert events == ["create_user"]
    with db.transaction() as store:
        delete_user(store, "alice", now=utcnow())
    with db.transaction(write=False) as store:
        assert users(store) == [] and find_login(store, "alice") is None


def test_duplicate_username_is_a_conflict(db: Database) -> None:
    with db.transaction() as store:
        create_user(store, username="alice", role="op", password="s3cret-pw", now=utcnow())
    with pytest.raises(Conflict, match="User alice already exists"), db.transaction() as store:
        create_user(store, username="alice", role="viewer", password="s3cret-pw", now=utcnow())


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("alice", "superuser", "s3cret-pw", "Bad value for `role`"),
        ("", "op", "s3cret-pw", "Username shouldn't be empty"),
        ("al:ice", "op", "s3cret-pw", "must not contain ':'"),
        ("alice", "op", "short", "at least 8 characters"),
        ("alice", "op", "x" * 1025, "at most 1024 characters"),
    ],
)
def test_bad_input_is_refused(db: Database, username: str, role: str, password: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message) as caught, db.transaction() as store:
        create_user(store, username=username, role=role, password=password, now=utcnow())
    assert password not in caught.value.message


def test_reset_password_and_record_login(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as store:
        create_user(store, username="bob", role="viewer", password="old-password", now=utcnow())
    with sqlite_db.transaction() as store:
        reset_password(store, "bob", password="new-password", now=utcnow())
        record_login(store, "bob", now=utcnow())
        record_login(store, "nobody", now=utcnow())
    with sqlite_db.transaction(write=False) as store:
        login = find_login(store, "bob")
        assert get_user(store, "bob").last_login is not None
    assert login is not None and login.password_hash is not None
    assert HASHER.verify(login.password_hash, "new-password")


def test_unknown_user_is_not_found(sqlite_db: Database) -> None:
    with pytest.raises(UserNotFound), sqlite_db.transaction() as store:
        delete_user(store, "ghost", now=utcnow())
    with pytest.raises(UserNotFound), sqlite_db.transaction() as store:
        reset_password(store, "ghost", password="whatever-pw", now=utcnow())


def test_standalone_admin_is_created_once(sqlite_db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    password = ensure_admin_user(sqlite_db, home)
    assert password is not None
    secret_file = home / STANDALONE_PASSWORD_FILE
    assert secret_file.read_text() == password + "\n"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    with sqlite_db.transaction(write=False) as store:
        login = find_login(store, "admin")
    assert login is not None and login.role == "admin" and login.password_hash is not None
    assert HASHER.verify(login.password_hash, password)
    assert ensure_admin_user(sqlite_db, home) is None
    assert secret_file.read_text() == password + "\n"


def test_standalone_admin_file_failure_creates_no_user(sqlite_db: Database, tmp_path: Path) -> None:
    home = tmp_path / "not-a-dir"
    home.write_text("")
    with pytest.raises(OSError):
        ensure_admin_user(sqlite_db, home)
    with sqlite_db.transaction(write=False) as store:
        assert find_login(store, "admin") is None


@pytest.fixture
def run_cli(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Invoke ``tradewind`` in process against ``sqlite_db``."""
    from tradewind.cli.env import Env

    monkeypatch.setattr(Env, "db", property(lambda self: sqlite_db))

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input)

    return run


def test_cli_create_with_a_random_password_prints_it_once(run_cli: RunCli, sqlite_db: Database) -> None:
    result = run_cli("users", "create", "--username", "carol", "--role", "viewer")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Created user carol with role viewer"
    password = lines[1].removeprefix("Password: ")
    with sqlite_db.transaction(write=False) as store:
        login = find_login(store, "carol")
    assert login is not None and login.password_hash is not None
    assert HASHER.verify(login.password_hash, password)


def test_cli_password_from_stdin_is_never_echoed(run_cli: RunCli, sqlite_db: Database) -> None:
    result = run_cli(
        "users", "create", "-u", "dave", "-r", "op", "--password-stdin", input="from stdin 123\n"
    )
    assert result.exit_code == 0 and "from stdin 123" not in result.output
    result = run_cli("users", "reset-password", "-u", "dave", "--password-stdin", input="another one 456\n")
    assert result.exit_code == 0 and "another one 456" not in result.output
    with sqlite_db.transaction(write=False) as store:
        login = find_login(store, "dave")
    assert login is not None and login.password_hash is not None
    assert HASHER.verify(login.password_hash, "another one 456")


def test_cli_list_delete_and_errors(run_cli: RunCli) -> None:
    assert run_cli("users", "create", "-u", "erin", "-r", "admin").exit_code == 0
    listed = run_cli("users", "list", "--output", "json")
    rows = json.loads(listed.output)
    assert [(r["username"], r["role"], r["is_active"]) for r in rows] == [("erin", "admin", True)]
    assert "password" not in listed.output
    assert "erin" in run_cli("users", "list").output
    assert run_cli("users", "create", "-u", "erin", "-r", "admin").exit_code == 1
    assert run_cli("users", "delete", "-u", "erin").output == "Deleted user erin\n"
    assert run_cli("users", "delete", "-u", "erin").exit_code == 1
    assert run_cli("users", "list").output == "No data found\n"


def test_cli_refuses_bad_roles_and_passwords_as_arguments(run_cli: RunCli) -> None:
    assert run_cli("users", "create", "-u", "x", "-r", "root").exit_code == 2
    assert run_cli("users", "create", "-u", "x", "-r", "op", "--password", "hunter22").exit_code == 2
    short = run_cli("users", "create", "-u", "x", "-r", "op", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in str(short.exception)


def test_cli_refuses_a_password_that_is_not_utf8(run_cli: RunCli, sqlite_db: Database) -> None:
    latin = run_cli(
        "users", "create", "-u", "latin", "-r", "op", "--password-stdin", input=b"p\xe4sswort 123\n"
    )
    assert latin.exit_code == 1 and str(latin.exception) == "Password must be valid UTF-8 text"
    with sqlite_db.transaction(write=False) as store:
        assert find_login(store, "latin") is None
