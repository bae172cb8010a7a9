"""``tradewind users``: manage the API users of the metadata database.

Passwords never appear on the command line (where ``ps`` shows them): give one on standard
input with ``--password-stdin``, or let the command generate one and print it once.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from tradewind.cli.env import Env, pass_env
from tradewind.cli.output import echo_rows, output_option
from tradewind.errors import BadRequest

if TYPE_CHECKING:
    from tradewind.actions.users import UserInfo

ROLE_CHOICE = click.Choice(["admin", "op", "viewer"])
PASSWORD_STDIN_HELP = "Read the password from the first line of standard input instead of generating one."


@click.group("users")
def command() -> None:
    """Manage API users (for the password_auth and kerberos_auth backends)."""


@command.command("create")
@click.option(
    "--username", "-u", required=True, help="The login name (for Kerberos: the principal or its name)."
)
@click.option(
    "--role", "-r", type=ROLE_CHOICE, required=True, help="viewer reads, op also changes, admin all."
)
@click.option("--password-stdin", is_flag=True, help=PASSWORD_STDIN_HELP)
@pass_env
def create(env: Env, username: str, role: str, password_stdin: bool) -> None:
    """Create a user; without --password-stdin a random password is printed once."""
    from tradewind.actions.users import create_user
    from tradewind.clock import utcnow

    password, generated = _password(password_stdin)
    with env.db.transaction() as store:
        user = create_user(store, username=username, role=role, password=password, now=utcnow(), owner="cli")
    click.echo(f"Created user {user.username} with role {user.role}")
    if generated:
        click.echo(f"Password: {password}")


@command.command("list")
@output_option
@pass_env
def list_users(env: Env, output: str) -> None:
    """List users (never their passwords)."""
    from tradewind.actions.users import users

    with env.db.transaction(write=False) as store:
        rows = [_row(user) for user in users(store)]
    echo_rows(rows, output, columns=["username", "role", "is_active", "created_at", "last_login"])


@command.command("delete")
@click.option("--username", "-u", required=True)
@pass_env
def delete(env: Env, username: str) -> None:
    """Delete a user. A webserver may accept its cached credentials for a few more seconds."""
    from tradewind.actions.users import delete_user
    from tradewind.clock import utcnow

    with env.db.transaction() as store:
        delete_user(store, username, now=utcnow(), owner="cli")
    click.echo(f"Deleted user {username}")


@command.command("reset-password")
@click.option("--username", "-u", required=True)
@click.option("--password-stdin", is_flag=True, help=PASSWORD_STDIN_HELP)
@pass_env
def reset(env: Env, username: str, password_stdin: bool) -> None:
    """Set a new password; without --password-stdin a random one is printed once."""
    from tradewind.actions.users import reset_password
    from tradewind.clock import utcnow

    password, generated = _password(password_stdin)
    with env.db.transaction() as store:
        reset_password(store, username, password=password, now=utcnow(), owner="cli")
    click.echo(f"Reset the password of {username}")
    if generated:
        click.echo(f"Password: {password}")


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated?): the first line of stdin, or a new random password."""
    from tradewind.actions.users import PASSWORD_NOT_UTF8, check_password_text, generate_password

    if not from_stdin:
        return generate_password(), True
    try:  # bytes, decoded here: the text layer's decoding depends on the locale
        line = sys.stdin.buffer.readline().decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(PASSWORD_NOT_UTF8) from None
    return check_password_text(line.removesuffix("\n").removesuffix("\r")), False


def _row(user: UserInfo) -> dict[str, object]:
    return {
        "username": user.username,
        "role": user.role,
        "is_active": user.is_active,
        "created_at": user.created_at.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
    }
