"""``tradewind jobs check``: is a scheduler (or worker) alive, judged by its heartbeat (as Airflow 2's command).

Exit status 0 with "Found one alive job." (or "Found N alive jobs."), 1 with a message
otherwise: suited to a container liveness probe, e.g.
``tradewind jobs check --job-type SchedulerJob --hostname "$(hostname -f)"``.
"""

from __future__ import annotations

import click

from tradewind.cli.env import Env, pass_env


@click.group("jobs")
def command() -> None:
    """Manage jobs (schedulers, workers)."""


@command.command("check")
@click.option("--job-type", type=click.Choice(["SchedulerJob", "WorkerJob"]), default=None,
              help="The type of job(s) that will be checked.")  # fmt: skip
@click.option("--hostname", default=None, help="The hostname of job(s) that will be checked.")
@click.option("--local", is_flag=True, help="Only check jobs of this host (its fully qualified name).")
@click.option("--limit", type=int, default=1, show_default=True,
              help="The number of recent jobs that will be checked; 0 checks all.")  # fmt: skip
@click.option(
    "--allow-multiple", is_flag=True, help="Succeed with more than one alive job (needs --limit > 1)."
)
@pass_env
def check(env: Env, job_type: str | None, hostname: str | None, local: bool, limit: int,
          allow_multiple: bool) -> None:  # fmt: skip
    """Exit 0 if a running job of the kind asked heartbeated recently, 1 otherwise."""
    import socket

    from tradewind.actions.health import alive_jobs
    from tradewind.clock import utcnow

    if allow_multiple and not limit > 1:
        raise click.ClickException(
            "To use option --allow-multiple, you must set the limit to a value greater than 1."
        )
    if hostname and local:
        raise click.ClickException("You can't use --hostname and --local at the same time")
    threshold = env.config.scheduler.scheduler_health_check_threshold
    with env.db.transaction(write=False) as store:
        jobs = alive_jobs(store, now=utcnow(), threshold=threshold, job_type=job_type,
                          hostname=socket.getfqdn() if local else hostname, limit=limit)  # fmt: skip
    if not jobs:
        raise click.ClickException("No alive jobs found.")
    if len(jobs) > 1 and not allow_multiple:
        raise click.ClickException(f"Found {len(jobs)} alive jobs. Expected only one.")
    click.echo("Found one alive job." if len(jobs) == 1 else f"Found {len(jobs)} alive jobs.")
