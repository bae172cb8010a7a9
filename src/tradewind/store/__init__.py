"""Persistence: the Database (engine, transactions) and the Store (queries for one unit of work)."""

from __future__ import annotations

from tradewind.store.database import Database, normalize_url
from tradewind.store.store import Store

__all__ = ["Database", "Store", "normalize_url"]
