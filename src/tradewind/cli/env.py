"""The lazy environment every command receives: config, database and client built on first use."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
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


pass_env = click.make_pass_decorator(Env)


def close(env: Any) -> None:
    if "db" in env.__dict__:
        env.db.dispose()
