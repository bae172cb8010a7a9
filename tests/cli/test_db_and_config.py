from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run

from tradewind import __version__


def test_version(tradewind: Run) -> None:
    result = tradewind("version")
    assert result.returncode == 0
    assert result.stdout.strip() == __version__


def test_db_init_writes_config_and_check_passes(tradewind: Run, tmp_path: Path, db_url: str) -> None:
    env = {"TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url}
    result = tradewind("db", "init", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "home" / "tradewind.cfg").exists()
    check = tradewind("db", "check", env=env)
    assert check.returncode == 0, check.stderr
    assert "at revision" in check.stdout


def test_db_check_fails_on_an_empty_database(tradewind: Run) -> None:
    result = tradewind("db", "check")
    assert result.returncode == 78
    assert result.stderr.startswith("Error: Database schema is at None")


def test_db_reset_needs_confirmation(tradewind: Run) -> None:
    assert tradewind("db", "init").returncode == 0
    refused = tradewind("db", "reset", input="n\n")
    assert refused.returncode != 0
    assert tradewind("db", "reset", "--yes").returncode == 0


def test_config_get_value_and_list(tradewind: Run) -> None:
    env = {"TRADEWIND__CORE__PARALLELISM": "7", "TRADEWIND__CELERY__BROKER_URL": "redis://u:s3cret@h:6379/0"}
    assert tradewind("config", "get-value", "core", "parallelism", env=env).stdout.strip() == "7"
    listed = json.loads(tradewind("config", "list", "--output", "json", env=env).stdout)
    values = {(row["section"], row["key"]): row["value"] for row in listed}
    assert values[("core", "parallelism")] == "7"
    assert values[("celery", "broker_url")] == "redis://u:***@h:6379/0"


def test_bad_config_is_a_clear_startup_error(tradewind: Run) -> None:
    result = tradewind("config", "list", env={"TRADEWIND__CORE__PARALLELISM": "lots"})
    assert result.returncode == 78
    assert result.stderr.strip() == "Error: Bad value for [core] parallelism: expected int, got 'lots'"
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error(tradewind: Run) -> None:
    result = tradewind("frobnicate")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_out_of_range_port_is_a_usage_error(tradewind: Run) -> None:
    result = tradewind("webserver", "-p", "99999")
    assert result.returncode == 2
    assert "Invalid value for '--port' / '-p': 99999 is not in the range 1<=x<=65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_negative_body_limit_stops_the_webserver(tradewind: Run) -> None:
    result = tradewind("webserver", env={"TRADEWIND__API__MAX_BODY_SIZE": "-5"})
    assert result.returncode == 78
    assert result.stderr.strip() == "Error: Bad value for [api] max_body_size: must be at least 0, got -5"


def test_a_password_from_the_environment_that_is_not_utf8_is_a_config_error(tradewind: Run) -> None:
    env = {"TRADEWIND__CLI__API_CLIENT": "tradewind.clients.json", "TRADEWIND_API_USER": "alice",
           "TRADEWIND_API_PASSWORD": "\udcff\udcfe"}  # the bytes ff fe, as os.environ decodes them  # fmt: skip
    result = tradewind("pools", "list", env=env)
    assert result.returncode == 78
    assert result.stderr.strip() == (
        "Error: The API password (TRADEWIND_API_PASSWORD or [cli] api_password) is not valid UTF-8"
    )
