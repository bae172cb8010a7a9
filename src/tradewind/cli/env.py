"""The lazy environment every command receives: config, database and client built on first use."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from tradewind.clients.base import Client
    from tradewind.config import Config
    from tradewind.store import Database


class Env:
    @cached_property
    def config(self) -> Config:
        from tradewind.config import load_config

        return load_config()

    @cached_property
    def db(self) -> Database:
        from tradewind.store import Database

        return Database(self.config.core.sql_alchemy_conn)

    @cached_property
    def client(self) -> Client:
        """The client ``[cli] api_client`` names; closed when the command's context ends."""
        from tradewind.clients import make_client

        client = make_client(self.config)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(client.close)
        return client


pass_env = click.make_pass_decorator(Env)


def close(env: Any) -> None:
    if "client" in env.__dict__:
        env.client.close()
    if "db" in env.__dict__:
        env.db.dispose()
