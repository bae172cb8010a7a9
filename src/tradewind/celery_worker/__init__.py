"""The Celery side of Tradewind: the app factory, the message formats and the worker service.

* :mod:`.app` builds a Celery app from the configuration (:func:`make_celery_app`); nothing
  is built at import. :mod:`tradewind.executors.celery_app` is the one-line module for
  ``celery -A``.
* :mod:`.messages` turns a TaskWorkload into the task payload (a plain dict) and a TaskEvent
  into the result stored in the result backend, and back; it names Celery task ids.
* :mod:`.service` is what runs inside a worker process: it claims a task instance in the
  database (at most one live attempt, whatever the broker redelivers), runs the attempt with
  the LocalExecutor's runtime, heartbeats and stops attempts it can no longer vouch for.
* :mod:`.logserver` serves the worker's log folder over HTTP, read-only.

See ``docs/celery.md`` for the delivery and idempotency design.
"""
