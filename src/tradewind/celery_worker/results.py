"""Writing attempt results to the result backend: one pipelined ``SET`` + ``PUBLISH`` on Redis.

Celery's ``store_result`` costs three round trips on Redis (a ``GET``, so a ``SUCCESS`` is
never overwritten, then ``SET`` and ``PUBLISH``). The worker service already orders its own
writes (a heartbeat never follows the final result: see :mod:`.service`), so the ``GET`` is
not needed. The value is Celery's result meta, so ``AsyncResult`` and the backend's
``decode_result`` read it as usual. The ``PUBLISH`` goes to the channel the executor named
in the message: a wake-up call, so it reads results the moment they change instead of
polling; the stored value stays the only truth. Other backends get ``store_result``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class ResultWriter:
    """Stores results through one Celery backend; thread-safe (redis-py pools its connections)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._is_redis = all(hasattr(backend, name) for name in ("client", "get_key_for_task", "encode"))

    def store(self, task_id: str, result: dict[str, Any], state: str, *, notify: str | None = None) -> None:
        """Store ``result`` with Celery state ``state``; then publish ``task_id`` on ``notify``."""
        backend = self._backend
        if not self._is_redis:
            backend.store_result(task_id, result, state)
            return
        meta: dict[str, Any] = {"status": state, "result": result, "traceback": None, "children": [],
                "date_done": datetime.now(UTC).isoformat(), "task_id": task_id}  # fmt: skip
        expires = getattr(backend, "expires", None)
        pipe = backend.client.pipeline(transaction=False)
        pipe.set(
            backend.get_key_for_task(task_id), backend.encode(meta), ex=int(expires) if expires else None
        )
        if notify:
            pipe.publish(notify, task_id)
        pipe.execute()
