from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.models.base import Base

ID_LENGTH = 250


class DagModel(Base):
    """What the scheduler and API know of a DAG without importing its file."""

    __tablename__ = "dag"

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    fileloc: Mapped[str] = mapped_column(String(2000))
    schedule: Mapped[str | None] = mapped_column(String(1000))
    timezone: Mapped[str] = mapped_column(String(100), default="UTC")
    owners: Mapped[str] = mapped_column(String(2000), default="")
    description: Mapped[str | None] = mapped_column(Text)
    max_active_runs: Mapped[int] = mapped_column(Integer, default=16)
    max_active_tasks: Mapped[int] = mapped_column(Integer, default=16)
    last_parsed_time: Mapped[datetime | None]
    next_dagrun: Mapped[datetime | None]
    next_dagrun_data_interval_start: Mapped[datetime | None]
    next_dagrun_data_interval_end: Mapped[datetime | None]


class DagTag(Base):
    __tablename__ = "dag_tag"

    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)


class SerializedDagModel(Base):
    """The DAG's structure as plain JSON: what the API and the scheduler read."""

    __tablename__ = "serialized_dag"

    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    dag_hash: Mapped[str] = mapped_column(String(64))
    last_updated: Mapped[datetime]


class DagCode(Base):
    """A DAG file's source, keyed by file, as Airflow's dag_code."""

    __tablename__ = "dag_code"

    fileloc: Mapped[str] = mapped_column(String(2000), primary_key=True)
    source_code: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64))
    last_updated: Mapped[datetime]


class ImportErrorRecord(Base):
    """A DAG file that failed to load (named so as not to shadow the builtin ImportError)."""

    __tablename__ = "import_error"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    filename: Mapped[str] = mapped_column(String(2000), index=True)
    stacktrace: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime]
