from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.models.base import Base


class Job(Base):
    """A long-running process (scheduler, worker) and its heartbeat."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_type_heartbeat", "job_type", "latest_heartbeat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_type: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    hostname: Mapped[str] = mapped_column(String(500), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    latest_heartbeat: Mapped[datetime]
