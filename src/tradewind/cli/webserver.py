"""``tradewind webserver``: serve the experimental REST API with uvicorn."""

from __future__ import annotations

import ipaddress
import signal
from typing import Any

import click

from tradewind.cli.env import Env, pass_env

FACTORY = "tradewind.api.app:create_app_from_environment"
GRACEFUL_SHUTDOWN_SECONDS = 10


@click.command("webserver")
@click.option("--host", "-H", default=None, help="Interface to listen on.  [default: [webserver] host]")
@click.option(
    "--port",
    "-p",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to listen on.  [default: [webserver] port]",
)
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None, help="Worker processes.")
@pass_env
def command(env: Env, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API webserver (it reads the metadata database; it never imports DAG files)."""
    import uvicorn

    from tradewind.api.app import create_app
    from tradewind.api.auth.backend import load_auth_backend
    from tradewind.errors import ConfigError

    config = env.config
    host = host or config.webserver.host
    port = port or config.webserver.port
    workers = workers or config.webserver.workers
    backend = load_auth_backend(config.api.auth_backend)
    if getattr(backend, "open_access", False) and not is_loopback(host) and not config.api.allow_open_api:
        raise ConfigError(
            f"Refusing to serve the open API backend on {host}: set [api] allow_open_api = True "
            "or choose an authenticating [api] auth_backend"
        )
    # Several workers each build the app from the same configuration; one uses this process's.
    app: Any = FACTORY if workers > 1 else create_app(config)
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again to the handler in
    # place before it started: make that a no-op so that a requested stop exits with status 0.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=workers > 1,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _stopped(signum: int, frame: object) -> None:
    """Nothing left to do: uvicorn has already shut down."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
