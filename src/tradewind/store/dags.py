"""Queries on DAGs, their serialized form, source code and import errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from tradewind.models import DagCode, DagModel, DagTag, ImportErrorRecord, SerializedDagModel

# Built once: a trigger reads it every time (a column, not the ORM object: half the cost).
_SERIALIZED_DATA = select(SerializedDagModel.data).where(SerializedDagModel.dag_id == bindparam("dag_id"))


class DagQueries:
    session: Session

    def find_dag(self, dag_id: str) -> DagModel | None:
        return self.session.get(DagModel, dag_id)

    def dags(self, *, include_inactive: bool = False) -> Sequence[DagModel]:
        query = select(DagModel).order_by(DagModel.dag_id)
        if not include_inactive:
            query = query.where(DagModel.is_active.is_(True))
        return self.session.scalars(query).all()

    def dags_in_files(self, filelocs: Iterable[str]) -> Sequence[DagModel]:
        return self.session.scalars(select(DagModel).where(DagModel.fileloc.in_(list(filelocs)))).all()

    def serialized_dag(self, dag_id: str) -> dict[str, Any] | None:
        self.session.flush()  # as Session.execute would, before reading through the connection
        data: dict[str, Any] | None = self.session.connection().scalar(_SERIALIZED_DATA, {"dag_id": dag_id})
        return data

    def serialized_dags(self, dag_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        rows = self.session.scalars(
            select(SerializedDagModel).where(SerializedDagModel.dag_id.in_(list(dag_ids)))
        )
        return {row.dag_id: row.data for row in rows}

    def dag_tags(self, dag_id: str) -> list[str]:
        return list(
            self.session.scalars(select(DagTag.name).where(DagTag.dag_id == dag_id).order_by(DagTag.name))
        )

    def upsert_dag(
        self, data: dict[str, Any], *, dag_hash: str, now: datetime, paused_at_creation: bool = False
    ) -> DagModel:
        """Record a parsed DAG: its row, serialized form and tags.

        A new DAG starts paused as its ``is_paused_upon_creation`` says, or, when the DAG leaves
        it unset, as ``paused_at_creation`` says; an existing DAG keeps its pause state.
        """
        dag_id = data["dag_id"]
        row = self.session.get(DagModel, dag_id)
        if row is None:
            own = data.get("is_paused_upon_creation")
            row = DagModel(dag_id=dag_id, is_paused=paused_at_creation if own is None else bool(own))
            self.session.add(row)
        row.is_active = True
        row.fileloc = data["fileloc"]
        row.schedule = data.get("schedule")
        row.timezone = data.get("timezone") or "UTC"
        row.owners = data.get("owners") or ""
        row.description = data.get("description")
        row.max_active_runs = int(data.get("max_active_runs") or 16)
        row.max_active_tasks = int(data.get("max_active_tasks") or 16)
        row.last_parsed_time = now
        self._save_serialized(dag_id, data, dag_hash, now)
        self._save_tags(dag_id, data.get("tags") or [])
        return row

    def _save_serialized(self, dag_id: str, data: dict[str, Any], dag_hash: str, now: datetime) -> None:
        row = self.session.get(SerializedDagModel, dag_id)
        if row is None:
            self.session.add(
                SerializedDagModel(dag_id=dag_id, data=data, dag_hash=dag_hash, last_updated=now)
            )
        elif row.dag_hash != dag_hash:
            row.data, row.dag_hash, row.last_updated = data, dag_hash, now

    def _save_tags(self, dag_id: str, tags: Iterable[str]) -> None:
        wanted = {str(t)[:100] for t in tags}
        if set(self.dag_tags(dag_id)) == wanted:
            return
        self.session.execute(delete(DagTag).where(DagTag.dag_id == dag_id))
        self.session.add_all(DagTag(dag_id=dag_id, name=name) for name in sorted(wanted))

    def deactivate_dags(self, dag_ids: Iterable[str]) -> None:
        ids = list(dag_ids)
        if ids:
            self.session.execute(update(DagModel).where(DagModel.dag_id.in_(ids)).values(is_active=False))

    def set_paused(self, dag_id: str, is_paused: bool) -> None:
        self.session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=is_paused))

    def save_code(self, fileloc: str, source: str, source_hash: str, now: datetime) -> None:
        row = self.session.get(DagCode, fileloc)
        if row is None:
            self.session.add(
                DagCode(fileloc=fileloc, source_code=source, source_hash=source_hash, last_updated=now)
            )
        elif row.source_hash != source_hash:
            row.source_code, row.source_hash, row.last_updated = source, source_hash, now

    def code(self, fileloc: str) -> str | None:
        row = self.session.get(DagCode, fileloc)
        return row.source_code if row else None

    def delete_code(self, filelocs: Iterable[str]) -> int:
        result = self.session.execute(delete(DagCode).where(DagCode.fileloc.in_(list(filelocs))))
        return int(getattr(result, "rowcount", 0) or 0)

    def import_errors(self) -> Sequence[ImportErrorRecord]:
        return self.session.scalars(select(ImportErrorRecord).order_by(ImportErrorRecord.filename)).all()

    def replace_import_errors(self, filelocs: Iterable[str], errors: dict[str, str], now: datetime) -> None:
        """Forget old errors of these files and record the new ones."""
        files = list(filelocs)
        self.delete_import_errors(files)
        self.session.add_all(
            ImportErrorRecord(filename=name, stacktrace=text, timestamp=now)
            for name, text in sorted(errors.items())
        )

    def delete_import_errors(self, filelocs: Iterable[str]) -> int:
        files = list(filelocs)
        if not files:
            return 0
        result = self.session.execute(delete(ImportErrorRecord).where(ImportErrorRecord.filename.in_(files)))
        return int(getattr(result, "rowcount", 0) or 0)

    def active_dag_files(self) -> dict[str, str]:
        """The file of each active DAG, by dag_id."""
        rows = self.session.execute(
            select(DagModel.dag_id, DagModel.fileloc).where(DagModel.is_active.is_(True))
        )
        return {dag_id: fileloc for dag_id, fileloc in rows}

    def import_error_files(self) -> set[str]:
        return set(self.session.scalars(select(ImportErrorRecord.filename)))
