from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.config import (
    Secret,
    default_config_text,
    get_value,
    iter_values,
    load_config,
    write_default_config,
)
from tradewind.errors import ConfigError


def test_defaults_live_under_home(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={})
    assert config.core.dags_folder == f"{tmp_path}/dags"
    assert config.core.sql_alchemy_conn == f"sqlite:///{tmp_path}/tradewind.db"
    assert config.api.auth_backend == "tradewind.api.auth.backend.deny_all"
    assert config.core.executor == "LocalExecutor"


def test_home_comes_from_environment(tmp_path: Path) -> None:
    config = load_config(environ={"TRADEWIND_HOME": str(tmp_path)})
    assert config.home == tmp_path.resolve()


def test_file_then_environment_override(tmp_path: Path) -> None:
    (tmp_path / "tradewind.cfg").write_text("[core]\nparallelism = 4\nload_examples = False\n")
    config = load_config(tmp_path, environ={"TRADEWIND__CORE__PARALLELISM": "9"})
    assert config.core.parallelism == 9
    assert config.core.load_examples is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TRADEWIND__CORE__PARALLELISM": "many"}, "[core] parallelism"),
        ({"TRADEWIND__CORE__PARALLELISM": "0"}, "[core] parallelism"),
        ({"TRADEWIND__CORE__LOAD_EXAMPLES": "perhaps"}, "[core] load_examples"),
        ({"TRADEWIND__CORE__DEFAULT_TIMEZONE": "Mars/Olympus"}, "[core] default_timezone"),
        ({"TRADEWIND__CORE__NO_SUCH_KEY": "1"}, "[core] no_such_key"),
        ({"TRADEWIND__WEBSERVER__PORT": "70000"}, "[webserver] port"),
        ({"TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "perhaps"}, "[core] dags_are_paused_at_creation"),
        ({"TRADEWIND__SCHEDULER__TASK_QUEUED_TIMEOUT": "soon"}, "[scheduler] task_queued_timeout"),
        ({"TRADEWIND__SCHEDULER__TASK_QUEUED_TIMEOUT": "0"}, "[scheduler] task_queued_timeout"),
        ({"TRADEWIND__SCHEDULER__TASK_QUEUED_TIMEOUT": "nan"}, "[scheduler] task_queued_timeout"),
        ({"TRADEWIND__API__MAX_BODY_SIZE": "-5"}, "[api] max_body_size: must be at least 0, got -5"),
        ({"TRADEWIND__API__FAILED_LOGIN_LIMIT": "-3"}, "[api] failed_login_limit"),
        ({"TRADEWIND__API__FAILED_LOGIN_WINDOW": "-3"}, "[api] failed_login_window: must be positive"),
        ({"TRADEWIND__CLI__TIMEOUT": "0"}, "[cli] timeout"),
        ({"TRADEWIND__SCHEDULER__HEARTBEAT_SEC": "-1"}, "[scheduler] heartbeat_sec"),
        ({"TRADEWIND__CORE__MAX_ACTIVE_RUNS_PER_DAG": "0"}, "[core] max_active_runs_per_dag"),
        ({"TRADEWIND__CELERY__WORKER_LOG_SERVER_PORT": "-1"}, "[celery] worker_log_server_port"),
    ],
)
def test_bad_value_names_the_key(tmp_path: Path, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ=environ)
    assert message in info.value.message


def test_zero_is_allowed_where_it_means_off(tmp_path: Path) -> None:
    environ = {"TRADEWIND__API__FAILED_LOGIN_LIMIT": "0", "TRADEWIND__CELERY__WORKER_LOG_SERVER_PORT": "0"}
    config = load_config(tmp_path, environ=environ)
    assert (config.api.failed_login_limit, config.celery.worker_log_server_port) == (0, 0)


def test_pausing_at_creation_and_the_queued_timeout(tmp_path: Path) -> None:
    defaults = load_config(tmp_path, environ={})
    assert defaults.core.dags_are_paused_at_creation is False  # Tradewind's: new DAGs run (examples do not)
    assert defaults.scheduler.task_queued_timeout == 600.0  # Airflow's
    (tmp_path / "tradewind.cfg").write_text("[core]\ndags_are_paused_at_creation = True\n")
    config = load_config(tmp_path, environ={"TRADEWIND__SCHEDULER__TASK_QUEUED_TIMEOUT": "90.5"})
    assert config.core.dags_are_paused_at_creation is True
    assert config.scheduler.task_queued_timeout == 90.5
    assert "# task_queued_timeout = 600.0" in default_config_text()


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "tradewind.cfg").write_text("this is not ini\n")
    with pytest.raises(ConfigError, match="Cannot read"):
        load_config(tmp_path, environ={})


def test_secrets_are_masked(tmp_path: Path) -> None:
    environ = {"TRADEWIND__CORE__SQL_ALCHEMY_CONN": "postgresql://bob:hunter2@db/tw"}
    config = load_config(tmp_path, environ=environ)
    assert "hunter2" not in repr(config)
    listed = dict(((s, k), v) for s, k, v in iter_values(config))
    assert listed[("core", "sql_alchemy_conn")] == "postgresql://bob:***@db/tw"
    assert isinstance(config.core.sql_alchemy_conn, Secret)
    assert get_value(config, "core", "sql_alchemy_conn") == "postgresql://bob:hunter2@db/tw"


def test_default_file_is_written_once_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "tradewind.cfg"
    assert write_default_config(path) is True
    assert write_default_config(path) is False
    assert path.read_text() == default_config_text()
    assert load_config(tmp_path, environ={}).core.parallelism == 32


def test_loading_never_writes(tmp_path: Path) -> None:
    load_config(tmp_path, environ={})
    assert list(tmp_path.iterdir()) == []


def test_unknown_section_or_key_in_get_value(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={})
    with pytest.raises(ConfigError, match="section"):
        get_value(config, "nope", "x")
    with pytest.raises(ConfigError, match=r"\[core\] nope"):
        get_value(config, "core", "nope")
