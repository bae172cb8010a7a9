"""Build the Celery app from the configuration: the only place Celery is configured.

Both sides use the same app: the CeleryExecutor (in the scheduler) publishes with it and
reads results through its backend; ``tradewind celery worker`` consumes with it. The settings
that make delivery at-least-once and safe:

* ``task_acks_late``: a message is acknowledged after its attempt ended, so a worker that
  dies mid-task leaves the message to be redelivered (RabbitMQ: at once; Redis: after
  ``visibility_timeout``, which must exceed the longest task);
* ``worker_prefetch_multiplier = 1``: a worker reserves no more messages than it runs, so
  a dead worker strands few;
* results are stored by the worker service itself (``ignore_result``), as documented in
  :mod:`.messages`; a redelivered message finds its task instance already claimed and does
  nothing (see :mod:`.service`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradewind.celery_worker.messages import TASK_NAME

if TYPE_CHECKING:
    from tradewind.config import Config

#: Seconds a publish may retry while the broker is unreachable before submit gives up for now.
PUBLISH_RETRY_SECONDS = 2.0

#: kombu's Redis transport, minus a redis-py client built per command (see .transport).
_REDIS_TRANSPORT = "tradewind.celery_worker.transport:Transport"


def make_celery_app(config: Config, **overrides: Any) -> Any:
    """A new Celery app for ``config``; ``overrides`` are extra Celery settings (tests, tuning)."""
    from celery import Celery

    celery_config = config.celery
    app = Celery("tradewind", set_as_current=False)
    visibility = {"visibility_timeout": celery_config.visibility_timeout}
    app.conf.update(
        broker_url=str.__str__(celery_config.broker_url),
        result_backend=str.__str__(celery_config.result_backend),
        broker_transport_options=visibility,
        # Fail a result-backend call within ~2 s: callers retry on their own schedule.
        result_backend_transport_options={"retry_policy": {"max_retries": 3, "interval_start": 0,
                                                           "interval_step": 0.5, "interval_max": 1}},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for its broker to come back
        task_default_queue=celery_config.default_queue,
        task_create_missing_queues=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        result_expires=7 * 24 * 3600,
        task_publish_retry_policy={"max_retries": 4, "interval_start": 0, "interval_step": 0.5,
                                   "interval_max": PUBLISH_RETRY_SECONDS / 4},
    )  # fmt: skip
    if _is_plain_redis(app.conf.broker_url):
        app.conf.broker_transport = _REDIS_TRANSPORT
    app.conf.update(overrides)
    app.tradewind_config = config
    app.task(name=TASK_NAME, bind=True, ignore_result=True, acks_late=True, max_retries=None)(_run)
    return app


def _is_plain_redis(url: str) -> bool:
    """A single ``redis://`` broker (not TLS, Sentinel or a failover list): what transport.py wraps."""
    return url.startswith("redis://") and ";" not in url


def _run(task: Any, payload: dict[str, Any]) -> None:
    """The Celery task: hand the attempt to this worker's service (built when the worker starts)."""
    from tradewind.celery_worker.service import service_for

    service_for(task.app).execute(task, payload)
