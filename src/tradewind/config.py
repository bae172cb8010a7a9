"""Configuration: defaults, then ``$TRADEWIND_HOME/tradewind.cfg``, then ``TRADEWIND__SECTION__KEY``.

Only entry points call :func:`load_config`; everything else receives plain values.
Nothing here writes files except :func:`write_default_config`, which ``db init`` calls.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradewind.errors import ConfigError

ENV_PREFIX = "TRADEWIND__"


class Secret(str):
    """A string whose repr is masked, so it never leaks into logs or tracebacks."""

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True, slots=True)
class CoreConfig:
    dags_folder: str = "{TRADEWIND_HOME}/dags"
    sql_alchemy_conn: Secret = Secret("sqlite:///{TRADEWIND_HOME}/tradewind.db")
    executor: str = "LocalExecutor"
    parallelism: int = 32
    max_active_tasks_per_dag: int = 16
    max_active_runs_per_dag: int = 16
    load_examples: bool = True
    # Whether a new DAG starts paused unless it sets is_paused_upon_creation (Airflow: True);
    # the example DAGs always start paused.
    dags_are_paused_at_creation: bool = False
    default_timezone: str = "UTC"
    dag_file_processor_timeout: float = 30.0
    max_xcom_size: int = 1_048_576


@dataclass(frozen=True, slots=True)
class ApiConfig:
    auth_backend: str = "tradewind.api.auth.backend.deny_all"
    allow_open_api: bool = False
    max_body_size: int = 1_048_576
    failed_login_limit: int = 10
    failed_login_window: float = 60.0


@dataclass(frozen=True, slots=True)
class CliConfig:
    api_client: str = "tradewind.clients.local"
    endpoint_url: str = "http://127.0.0.1:8080"
    api_user: str = ""
    api_password: Secret = Secret("")
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class WebserverConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    access_log: bool = False


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    heartbeat_sec: float = 5.0
    scheduler_health_check_threshold: float = 30.0
    zombie_threshold_sec: float = 60.0
    # An attempt no worker claimed for this long (a lost message) is queued again as a new try.
    task_queued_timeout: float = 600.0
    dag_dir_list_interval: float = 30.0
    catchup_by_default: bool = True


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    base_log_folder: str = "{TRADEWIND_HOME}/logs"
    logging_level: str = "INFO"
    # Shared by Celery workers (which serve their task logs) and readers; empty: no log server.
    log_server_secret: Secret = Secret("")


@dataclass(frozen=True, slots=True)
class KerberosConfig:
    keytab: str = ""
    principal: str = ""
    default_role: str = "viewer"


@dataclass(frozen=True, slots=True)
class CeleryConfig:
    broker_url: Secret = Secret("redis://127.0.0.1:6379/0")
    result_backend: Secret = Secret("redis://127.0.0.1:6379/1")
    worker_concurrency: int = 8
    default_queue: str = "default"
    visibility_timeout: int = 21600
    worker_log_server_port: int = 8793


@dataclass(frozen=True, slots=True)
class Config:
    home: Path
    core: CoreConfig = field(default_factory=CoreConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    cli: CliConfig = field(default_factory=CliConfig)
    webserver: WebserverConfig = field(default_factory=WebserverConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    kerberos: KerberosConfig = field(default_factory=KerberosConfig)
    celery: CeleryConfig = field(default_factory=CeleryConfig)

    @property
    def config_file(self) -> Path:
        return self.home / "tradewind.cfg"

    @property
    def dags_folder(self) -> Path:
        return Path(self.core.dags_folder)

    @property
    def log_folder(self) -> Path:
        return Path(self.logging.base_log_folder)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.core.default_timezone)

    def with_overrides(self, **sections: Mapping[str, Any]) -> Config:
        """A copy with some values replaced, e.g. ``with_overrides(api={"auth_backend": "..."})``."""
        changes = {
            name: dataclasses.replace(getattr(self, name), **values) for name, values in sections.items()
        }
        return dataclasses.replace(self, **changes)


SECTIONS: dict[str, type[Any]] = {
    "core": CoreConfig,
    "api": ApiConfig,
    "cli": CliConfig,
    "webserver": WebserverConfig,
    "scheduler": SchedulerConfig,
    "logging": LoggingConfig,
    "kerberos": KerberosConfig,
    "celery": CeleryConfig,
}

_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}


def default_home(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("TRADEWIND_HOME") or Path.home() / "tradewind").expanduser()


def load_config(home: Path | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Build the configuration; raise ConfigError naming the key of any bad value."""
    home = (home or default_home(environ)).expanduser().resolve()
    raw = _read_file(home / "tradewind.cfg")
    for section, key, value in _environ_values(environ):
        raw.setdefault(section, {})[key] = value
    _reject_unknown(raw)
    built = {name: _build_section(name, cls, raw.get(name, {}), home) for name, cls in SECTIONS.items()}
    config = Config(home=home, **built)
    _validate(config)
    return config


def _read_file(path: Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from None
    return {s: {k.lower(): v for k, v in parser.items(s)} for s in parser.sections()}


def _environ_values(environ: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX):
            section, _, key = name[len(ENV_PREFIX) :].partition("__")
            if section and key:
                yield section.lower(), key.lower(), value


def _reject_unknown(raw: Mapping[str, Mapping[str, str]]) -> None:
    for section, values in raw.items():
        if section not in SECTIONS:
            continue  # unknown sections belong to plug-ins or Airflow leftovers
        known = {f.name for f in fields(SECTIONS[section])}
        for key in values:
            if key not in known:
                raise ConfigError(f"Unknown configuration key [{section}] {key}")


def _build_section(name: str, cls: type[Any], values: Mapping[str, str], home: Path) -> Any:
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        text = values.get(f.name)
        if text is None:
            text = str(f.default)
        text = text.replace("{TRADEWIND_HOME}", str(home))
        kwargs[f.name] = _convert(name, f.name, hints[f.name], text)
    return cls(**kwargs)


def _convert(section: str, key: str, kind: type[Any], text: str) -> Any:
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ValueError(text)
        if kind in (int, float):
            return kind(text.strip())
        if kind is Secret:
            return Secret(text)
        return text.strip()
    except ValueError:
        raise ConfigError(
            f"Bad value for [{section}] {key}: expected {kind.__name__}, got {text!r}"
        ) from None


def _validate(config: Config) -> None:
    try:
        config.timezone  # noqa: B018 - validates the name
    except (ZoneInfoNotFoundError, ValueError):
        zone = config.core.default_timezone
        raise ConfigError(f"Bad value for [core] default_timezone: unknown time zone {zone!r}") from None
    for (section, key), (least, is_strict) in _MINIMUMS.items():
        value = getattr(getattr(config, section), key)
        if not (value > least if is_strict else value >= least):  # also refuses nan
            bound = "positive" if is_strict and least == 0 else f"at least {least:g}"
            raise ConfigError(f"Bad value for [{section}] {key}: must be {bound}, got {value:g}")
    for (section, key), lowest in _PORTS.items():
        port = getattr(getattr(config, section), key)
        if not lowest <= port < 65536:
            raise ConfigError(f"Bad value for [{section}] {key}: {port}")


#: (section, key): the lowest port allowed (0 turns the worker's log server off).
_PORTS = {("webserver", "port"): 1, ("celery", "worker_log_server_port"): 0}

#: (section, key): (bound, strict). A value out of bounds stops the command (exit 78), rather
#: than, say, a negative body limit refusing every request or a negative one turning a check off.
_MINIMUMS: dict[tuple[str, str], tuple[float, bool]] = {
    ("core", "parallelism"): (1, False),
    ("core", "max_active_tasks_per_dag"): (1, False),
    ("core", "max_active_runs_per_dag"): (1, False),
    ("core", "dag_file_processor_timeout"): (0, True),
    ("core", "max_xcom_size"): (0, False),
    ("api", "max_body_size"): (0, False),
    ("api", "failed_login_limit"): (0, False),  # 0 turns throttling off
    ("api", "failed_login_window"): (0, True),
    ("cli", "timeout"): (0, True),
    ("webserver", "workers"): (1, False),
    ("scheduler", "heartbeat_sec"): (0, True),
    ("scheduler", "scheduler_health_check_threshold"): (0, True),
    ("scheduler", "zombie_threshold_sec"): (0, True),
    ("scheduler", "task_queued_timeout"): (0, True),
    ("scheduler", "dag_dir_list_interval"): (0, True),
    ("celery", "worker_concurrency"): (1, False),
    ("celery", "visibility_timeout"): (1, False),
}


def iter_values(config: Config) -> Iterator[tuple[str, str, str]]:
    """Every (section, key, value) with secrets masked, for ``config list``."""
    for section in SECTIONS:
        obj = getattr(config, section)
        for f in fields(obj):
            value = getattr(obj, f.name)
            yield section, f.name, _display(value)


def get_value(config: Config, section: str, key: str) -> str:
    if section not in SECTIONS:
        raise ConfigError(f"Unknown configuration section [{section}]")
    obj = getattr(config, section)
    if key not in {f.name for f in fields(obj)}:
        raise ConfigError(f"Unknown configuration key [{section}] {key}")
    value = getattr(obj, key)
    return str(value)


def _display(value: Any) -> str:
    if isinstance(value, Secret):
        return _mask_url(value)
    return str(value)


def _mask_url(secret: str) -> str:
    """Hide the password of a URL (``scheme://user:pass@host``) and any other secret."""
    value = str.__str__(secret)
    scheme, sep, rest = value.partition("://")
    if sep and "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else value
    return value if sep else ("***" if value else "")


def default_config_text(settings: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The commented template written by ``db init`` when no file exists.

    ``settings`` are written as live (uncommented) values, e.g. the auth backend standalone picks.
    """
    settings = settings or {}
    lines = [
        "# Tradewind configuration. Uncomment a line to change its value.",
        "# Every value can also be set with TRADEWIND__<SECTION>__<KEY>.",
        "",
    ]
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]")
        chosen = settings.get(section, {})
        lines.extend(
            f"{f.name} = {chosen[f.name]}" if f.name in chosen else f"# {f.name} = {f.default}"
            for f in fields(cls)
        )
        lines.append("")
    return "\n".join(lines)


def write_default_config(path: Path, settings: Mapping[str, Mapping[str, str]] | None = None) -> bool:
    """Create the config file if it is missing; return whether it was written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(default_config_text(settings), encoding="utf-8")
    return True
