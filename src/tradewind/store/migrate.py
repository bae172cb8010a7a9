"""Schema migrations (Alembic) and database initialisation."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from tradewind.models import Base
from tradewind.store.database import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(_alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    _run(db, lambda cfg: command.upgrade(cfg, revision))


def downgrade(db: Database, revision: str) -> None:
    _run(db, lambda cfg: command.downgrade(cfg, revision))


def _run(db: Database, action: object) -> None:
    cfg = _alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        action(cfg)  # type: ignore[operator]


def init_db(db: Database) -> None:
    """Bring the schema to the newest revision and create what must always exist."""
    upgrade(db)
    with db.transaction() as store:
        store.ensure_default_pool()


def reset_db(db: Database) -> None:
    """Drop every table, ours and Alembic's, then initialise again."""
    with db.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        if inspect(conn).has_table("alembic_version"):
            conn.exec_driver_sql("DROP TABLE alembic_version")
    init_db(db)


def is_up_to_date(db: Database) -> bool:
    return current_revision(db) == head_revision()
