"""``tradewind celery worker``: run a Celery worker that runs Tradewind task instances."""

from __future__ import annotations

import os
import socket

import click

from tradewind.cli.env import Env, pass_env


@click.group("celery")
def command() -> None:
    """Run Celery workers (``[core] executor = CeleryExecutor``)."""


@command.command("worker")
@click.option(
    "--queues",
    "-q",
    default=None,
    help="Comma-separated queues to consume (default: [celery] default_queue).",
)
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Attempts run at once (default: [celery] worker_concurrency).")  # fmt: skip
@click.option("--name", "-n", default=None, help="Celery node name (default: tradewind-<pid>@<host>).")
@click.option("--log-server-port", type=click.IntRange(min=0, max=65535), default=None,
              help="Serve task logs over HTTP on this port; 0 turns it off "
                   "(default: [celery] worker_log_server_port; needs [logging] log_server_secret).")  # fmt: skip
@click.option("--loglevel", "-l", default="INFO", show_default=True, help="Celery's log level.")
@pass_env
def worker(
    env: Env,
    queues: str | None,
    concurrency: int | None,
    name: str | None,
    log_server_port: int | None,
    loglevel: str,
) -> None:
    """Consume task attempts from QUEUES and run them like the LocalExecutor does.

    Needs the DAG files at the paths the scheduler sees, and the metadata database. SIGTERM
    finishes running attempts first (warm shutdown); a second one stops them.
    """
    from tradewind.celery_worker.app import make_celery_app
    from tradewind.celery_worker.service import install_worker_hooks

    config = env.config
    port = config.celery.worker_log_server_port if log_server_port is None else log_server_port
    app = install_worker_hooks(make_celery_app(config), log_server_port=port)
    consume = queues or config.celery.default_queue
    argv = [
        "worker", "--pool", "threads",
        "--concurrency", str(concurrency or config.celery.worker_concurrency),
        "--queues", consume, "--hostname", name or f"tradewind-{os.getpid()}@{socket.gethostname()}",
        "--loglevel", loglevel, "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    app.worker_main(argv)
