"""CeleryExecutor: attempts run on Celery workers (``tradewind celery worker``), anywhere.

``submit`` publishes the workload (a plain dict) to the broker, routed to the queue of the
task (``[celery] default_queue`` for tasks left on ``default``). Workers claim the task
instance in the database, run the attempt like the LocalExecutor does and store its progress
in the result backend under a task id derived from the attempt's key (see
:mod:`tradewind.celery_worker.messages`). This executor reads those results for every
attempt in flight, in one ``MGET``, and turns them into events. On Redis, workers publish
on a channel of this executor's after each store, and :meth:`CeleryExecutor.wait` blocks on
it, so a result is read the moment it lands; without notices (or if one is lost) results are
polled every ``poll_interval`` (every ``quiet_poll_interval`` while notices work).

Each submission carries a random id that the worker echoes in its results: a result under
the same task id left by an earlier database of the same URL is ignored, without a ``DEL``
per submission.

Attempts are never left running forever. An attempt is reported lost (``up_for_retry`` or
``failed``) when its worker stops heartbeating its result for ``zombie_threshold`` seconds
(the worker stopped it by then: it gives up after half that), or when the database shows it
claimed while the backend never heard of it. A broker that is down delays publishing (it is
retried, in order) but loses nothing; a backend that is down delays events.

Submissions waiting for the publisher thread go out together: on Redis, through kombu's
publish batch (``Producer.batch``, kombu 5.7+): one pipelined round trip of ``LPUSH``
commands, in submission order, instead of one round trip each.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload, unsendable

if TYPE_CHECKING:
    from tradewind.config import Config
    from tradewind.store import Database

log = logging.getLogger(__name__)

_REPUBLISH_DELAY = 1.0
_PUBLISH_BATCH = 256  # flights per publish at most: bounds one pipeline's size
_RESUBSCRIBE_DELAY = 1.0
_DEFAULT_QUEUE_NAME = "default"


@dataclass(slots=True)
class _Flight:
    workload: TaskWorkload
    task_id: str
    submitted_at: float
    changed_at: float
    submission_id: str | None = None  # None: adopted, any result of the task id is its own
    published: bool = False
    raw: Any = None  # the last stored value seen
    seen_running: bool = False
    claimed_at: float | None = None  # when the database first showed it running with no result


class CeleryExecutor:
    """Publishes attempts to Celery and reads their progress from the result backend.

    ``config`` supplies ``[celery]`` (broker, backend, default queue) and ``[scheduler]
    zombie_threshold_sec``; ``database`` (or ``db_url``) is read only to find attempts a worker
    claimed but never reported. ``app`` replaces the Celery app built from ``config`` (tests).
    """

    #: Workers refresh ``task_instance.last_heartbeat_at`` of the attempts they run.
    heartbeats_tasks = True

    def __init__(
        self,
        *,
        config: Config,
        database: Database | None = None,
        db_url: str | None = None,
        poll_interval: float = 0.02,
        quiet_poll_interval: float = 1.0,
        zombie_threshold: float | None = None,
        app: Any = None,
    ) -> None:
        self._config = config
        self._database = database
        self._db_url = db_url or str.__str__(config.core.sql_alchemy_conn)
        self._owns_database = database is None
        self._namespace = self._db_url
        self._poll_interval = poll_interval
        self._quiet_poll_interval = max(quiet_poll_interval, poll_interval)
        self._zombie_threshold = zombie_threshold or config.scheduler.zombie_threshold_sec
        self._app = app
        self._results: _Results | None = None
        self._notices: _Notices | None = None
        self._flights: dict[TaskKey, _Flight] = {}
        self._ready: list[TaskEvent] = []
        self._next_poll = 0.0
        self._publisher = _Publisher(lambda flights: self._publish(flights))
        self._next_claim_check = 0.0
        self._backend_down = False
        self._is_stopped = False
        self._woken = False  # set by wakeup(), from any thread

    # --- the contract -----------------------------------------------------------------

    def start(self) -> None:
        """Build the Celery app and subscribe to result notices; the broker connection opens lazily."""
        if self._app is None:
            from tradewind.celery_worker.app import make_celery_app

            self._app = make_celery_app(self._config)
        if self._results is None:
            from tradewind.celery_worker.messages import events_channel_for

            self._results = _Results(self._app.backend)
            self._notices = _Notices(self._app.backend, events_channel_for(self._namespace))
            self._notices.wait(0.0)  # subscribe before the first publish

    def submit(self, workload: TaskWorkload) -> None:
        if self._is_stopped:
            raise RuntimeError("The executor is stopped")
        if workload.key in self._flights:
            raise ValueError(f"{workload.key} was already submitted")
        self.start()
        from tradewind.celery_worker.messages import task_id_for

        if workload.conf is not None and not self._is_encodable(workload):
            return
        now = time.monotonic()
        flight = _Flight(workload, task_id_for(workload.key, self._namespace), now, now, uuid.uuid4().hex)
        self._flights[workload.key] = flight
        self._publisher.put(flight)

    def events(self) -> list[TaskEvent]:
        self._poll()
        ready, self._ready = self._ready, []
        return ready

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            self._poll()
            now = time.monotonic()
            remaining = deadline - now
            if self._ready or remaining <= 0 or self._woken:
                self._woken = False
                return bool(self._ready)
            nap = min(remaining, max(self._next_poll - now, 0.0)) if self._flights else remaining
            self._sleep(nap)

    def wakeup(self) -> None:
        """Make a :meth:`wait` in progress (or the next one) return now; thread-safe.

        For the scheduler's nudges (a run was triggered): a notice on this executor's own
        channel ends the wait; without notices (not Redis) it ends at the next poll.
        """
        self._woken = True
        if self._notices is not None:
            self._notices.poke()

    def _sleep(self, seconds: float) -> None:
        """Sleep until a worker publishes a notice (the next poll reads it) or ``seconds`` pass."""
        if self._notices is None:
            time.sleep(seconds)
        else:
            self._notices.wait(seconds)

    def running(self) -> set[TaskKey]:
        return set(self._flights)

    def stop(self, *, wait: bool = True) -> None:
        """With ``wait``, wait for attempts in flight; else report those started as ended.

        Celery attempts run on other machines: they are not killed from here. An attempt
        reported ended here is stopped by its worker at the next heartbeat, once the
        scheduler has recorded its new state. Attempts not yet started are dropped.
        """
        if self._is_stopped:
            return
        self._is_stopped = True
        if not wait:
            self._publisher.stop(drop=True)
        while wait and self._flights:
            self._poll(force=True)
            time.sleep(self._poll_interval)
        self._poll(force=True)
        for flight in list(self._flights.values()):
            if flight.seen_running or flight.claimed_at is not None:
                self._lost(
                    flight, "The scheduler stopped; the worker stops the attempt at its next heartbeat"
                )
        self._flights.clear()
        self._publisher.stop(drop=True)
        if self._notices is not None:
            self._notices.close()
        if self._owns_database and self._database is not None:
            self._database.dispose()

    # --- optional: adopting attempts of a previous scheduler -----------------------------

    def adopt(self, attempts: Mapping[TaskKey, int]) -> set[TaskKey]:
        """Follow attempts another executor submitted (``key -> max_tries``); returns the keys taken.

        For a scheduler taking over a dead scheduler's queued and running instances instead of
        resetting them: their workers keep running them and report here, because the result
        of an attempt is found from its key alone. Adopted attempts that turn out to be lost
        (no heartbeat for ``zombie_threshold``) are reported like any other.
        """
        from tradewind.celery_worker.messages import task_id_for

        self.start()
        now, taken = time.monotonic(), set()
        for key, max_tries in attempts.items():
            if key in self._flights:
                continue
            workload = _placeholder_workload(key, max_tries)
            self._flights[key] = _Flight(
                workload, task_id_for(key, self._namespace), now, now, published=True
            )
            taken.add(key)
        return taken

    # --- publishing -----------------------------------------------------------------------

    def _publish(self, flights: list[_Flight]) -> bool:
        """Publish ``flights`` in order through one producer; True if all went, else False.

        Flights known to have gone are marked ``published``. A batch that failed may have been
        delivered in part, so none of it is: it is all published again, and the claim skips
        the duplicates (see :mod:`tradewind.celery_worker.service`).
        """
        assert self._app is not None
        notify = self._notices_channel()
        try:
            with self._app.producer_or_acquire() as producer:
                batched = bool(getattr(producer, "supports_batch_publish", False))
                with producer.batch(max_size=_PUBLISH_BATCH) if batched else contextlib.nullcontext():
                    for flight in flights:
                        self._send(producer, flight, notify)
                        if not batched:
                            flight.published = True
        except Exception as exc:
            first, count = flights[0].workload.key, len(flights)
            log.warning(
                "Cannot publish %s and %d more (%s); retrying in %g s",
                first,
                count - 1,
                exc,
                _REPUBLISH_DELAY,
            )
            return False
        for flight in flights:
            flight.published = True
        return True

    def _send(self, producer: Any, flight: _Flight, notify: str | None) -> None:
        from tradewind.celery_worker.messages import NOTIFY, SUBMISSION, TASK_NAME, workload_to_dict

        assert self._app is not None
        workload = flight.workload
        payload = workload_to_dict(workload, self._config.dags_folder) | {
            SUBMISSION: flight.submission_id,
            NOTIFY: notify,
        }
        self._app.send_task(
            TASK_NAME, args=[payload], task_id=flight.task_id, queue=self._queue_for(workload),
            ignore_result=True, retry=True, argsrepr=f"({workload.key})", kwargsrepr="{}", producer=producer,
        )  # fmt: skip

    def _is_encodable(self, workload: TaskWorkload) -> bool:
        """Whether the payload serializes; if not, the attempt fails here (see :func:`unsendable`).

        Checked before it is queued: in the publisher, one payload that fails to serialize
        would fail its whole batch, retried forever, and hold back every attempt after it.
        Only a conf can fail, so attempts without one skip the check.
        """
        from kombu.serialization import dumps

        from tradewind.celery_worker.messages import workload_to_dict

        assert self._app is not None
        try:
            dumps(  # type: ignore[no-untyped-call]
                workload_to_dict(workload, self._config.dags_folder),
                serializer=self._app.conf.task_serializer,
            )
        except Exception as exc:
            self._ready.append(unsendable(workload, exc))
            return False
        return True

    def _notices_channel(self) -> str | None:
        return self._notices.channel if self._notices is not None and self._notices.is_supported else None

    def _queue_for(self, workload: TaskWorkload) -> str:
        queue = workload.queue
        return self._config.celery.default_queue if queue in ("", _DEFAULT_QUEUE_NAME) else queue

    # --- reading results --------------------------------------------------------------------

    def _poll(self, *, force: bool = False) -> None:
        """Read the results of every attempt when a poll is due, else of those with notices."""
        if self._results is None:
            return
        now = time.monotonic()
        noticed = self._notices.take() if self._notices is not None else set()
        if force or noticed is None or now >= self._next_poll:
            quiet = self._notices is not None and self._notices.is_listening
            self._next_poll = now + (self._quiet_poll_interval if quiet else self._poll_interval)
            flights = [f for f in self._flights.values() if f.published]
        elif noticed:
            flights = [f for f in self._flights.values() if f.published and f.task_id in noticed]
        else:
            return
        if flights:
            self._read(flights, now)

    def _read(self, flights: list[_Flight], now: float) -> None:
        assert self._results is not None
        try:
            values = self._results.fetch([f.task_id for f in flights])
        except Exception as exc:
            if not self._backend_down:
                log.warning("Cannot read the result backend: %s", exc)
            self._backend_down = True
            return
        if self._backend_down:  # silence during the outage says nothing about the workers
            self._backend_down = False
            for flight in self._flights.values():
                flight.changed_at = now
        for flight, raw in zip(flights, values, strict=True):
            if raw is not None and raw != flight.raw:
                self._observe(flight, raw, self._results.decode(raw), now)
        self._find_lost(now)

    def _observe(self, flight: _Flight, raw: Any, meta: Mapping[str, Any], now: float) -> None:
        from tradewind.celery_worker.messages import FINAL, RUNNING, SUBMISSION, event_from_dict

        status, result = meta.get("status"), meta.get("result")
        if not isinstance(result, dict):
            return
        if flight.submission_id is not None and result.get(SUBMISSION) != flight.submission_id:
            return  # stale: left under this task id by an earlier database of the same URL
        flight.raw, flight.changed_at = raw, now
        if status == RUNNING and not flight.seen_running:
            self._announce(flight, result.get("started_at"), result.get("pid"), result.get("hostname"))
        elif status == FINAL:
            event = event_from_dict(result)
            if event.key != flight.workload.key:
                return
            if not flight.seen_running:  # it ran between two polls: the scheduler still wants its start
                self._announce(flight, result.get("started_at"), event.pid, event.hostname)
            self._flights.pop(event.key, None)
            self._ready.append(event)

    def _announce(self, flight: _Flight, started_at: Any, pid: Any, hostname: Any) -> None:
        flight.seen_running = True
        at = datetime.fromisoformat(started_at) if isinstance(started_at, str) else datetime.now(UTC)
        self._ready.append(TaskEvent(flight.workload.key, "running", at, pid if isinstance(pid, int) else None,
                                     str(hostname or "")))  # fmt: skip

    # --- lost attempts --------------------------------------------------------------------

    def _find_lost(self, now: float) -> None:
        for flight in list(self._flights.values()):
            if flight.seen_running and now - flight.changed_at > self._zombie_threshold:
                self._lost(flight, f"The worker stopped heartbeating for {self._zombie_threshold:g} s "
                                   "(killed, or cut off from the database or result backend)")  # fmt: skip
        if now >= self._next_claim_check:
            self._next_claim_check = now + self._zombie_threshold / 2
            self._find_claimed_but_silent(now)

    def _find_claimed_but_silent(self, now: float) -> None:
        """Attempts the database shows running while the backend never heard of them."""
        silent = [f for f in self._flights.values()
                  if f.published and f.raw is None and now - f.submitted_at > self._zombie_threshold]  # fmt: skip
        if not silent:
            return
        try:
            running = self._claimed(f.workload.key for f in silent)
        except Exception as exc:
            log.warning("Cannot check claimed attempts in the database: %s", exc)
            return
        for flight in silent:
            if flight.workload.key not in running:
                flight.claimed_at = None
            elif flight.claimed_at is None:
                flight.claimed_at = now
            elif now - flight.claimed_at > self._zombie_threshold:
                self._lost(flight, "A worker claimed the attempt but never reported it (it died)")

    def _claimed(self, keys: Iterable[TaskKey]) -> set[TaskKey]:
        from sqlalchemy import and_, or_, select

        from tradewind.models import TaskInstance

        ti = TaskInstance.__table__
        wanted = list(keys)
        match = or_(*(and_(ti.c.dag_id == k.dag_id, ti.c.run_id == k.run_id, ti.c.task_id == k.task_id)
                      for k in wanted))  # fmt: skip
        query = select(ti.c.dag_id, ti.c.run_id, ti.c.task_id, ti.c.try_number).where(
            match, ti.c.state == "running"
        )
        with self._db().transaction(write=False) as store:
            rows = store.session.execute(query).all()
        found = {TaskKey(r.dag_id, r.task_id, r.run_id, r.try_number) for r in rows}
        return {k for k in wanted if k in found}

    def _db(self) -> Database:
        if self._database is None:
            from tradewind.store import Database

            self._database = Database(self._db_url)
        return self._database

    def _lost(self, flight: _Flight, error: str) -> None:
        from tradewind.runtime.attempt import retry_state

        key = flight.workload.key
        log.warning("Attempt %s is lost: %s", key, error)
        self._flights.pop(key, None)
        state = retry_state(key.try_number, flight.workload.max_tries)
        self._ready.append(TaskEvent(key, state, datetime.now(UTC), error=error))


class _Publisher:
    """Publishes submitted attempts in order from a thread of its own: the owner never waits on the broker.

    Each publish is a round trip to the broker (more under retries); made inline, they held
    the scheduler's loop for most of a pass. Whatever is queued when the thread gets to it is
    published in one call (a pipelined batch on Redis). A failed publish is retried, in
    order, every ``_REPUBLISH_DELAY`` s: the flights not yet ``published``, before any later one.
    """

    def __init__(self, publish: Callable[[list[_Flight]], bool]) -> None:
        self._publish = publish
        self._queue: queue.SimpleQueue[_Flight | None] = queue.SimpleQueue()
        self._dropping = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, flight: _Flight) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tradewind-celery-publisher", daemon=True)
            self._thread.start()
        self._queue.put(flight)

    def stop(self, *, drop: bool) -> None:
        """Stop after publishing what is queued, or (``drop``) after the publish in progress."""
        if drop:
            self._dropping.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        is_last = False
        while not is_last:
            flights, is_last = self._take()
            while flights and not self._dropping.is_set() and not self._publish(flights):
                flights = [flight for flight in flights if not flight.published]
                self._dropping.wait(_REPUBLISH_DELAY)

    def _take(self) -> tuple[list[_Flight], bool]:
        """The flights queued now, in order (waits for one), and whether :meth:`stop` follows them."""
        flights: list[_Flight] = []
        item = self._queue.get()
        while item is not None:
            flights.append(item)
            if len(flights) >= _PUBLISH_BATCH:
                return flights, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return flights, False
        return flights, True


class _Results:
    """Reads and clears attempt results: one ``MGET`` on key-value backends (Redis), else one call each."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._batched = True

    def fetch(self, task_ids: list[str]) -> list[Any]:
        backend = self._backend
        if self._batched:
            try:
                return list(backend.mget([backend.get_key_for_task(t) for t in task_ids]))
            except (NotImplementedError, AttributeError):
                self._batched = False
        metas = [backend.get_task_meta(t, cache=False) for t in task_ids]
        return [m if m.get("status") not in (None, "PENDING") else None for m in metas]

    def decode(self, raw: Any) -> Mapping[str, Any]:
        meta = raw if isinstance(raw, Mapping) else self._backend.decode_result(raw)
        return meta if isinstance(meta, Mapping) else {}


class _Notices:
    """This executor's Redis channel: workers publish a task id on it after each result they store.

    A notice only says "read now": one lost (while reconnecting) delays a result until the next
    quiet poll. Backends without publish/subscribe (not Redis) have none: results are polled.
    """

    def __init__(self, backend: Any, channel: str) -> None:
        self.channel = channel
        self._client = getattr(backend, "client", None) if hasattr(backend, "get_key_for_task") else None
        self._pubsub: Any = None
        self._retry_at = 0.0
        self._noticed: set[str] = set()
        self._read_all = False

    @property
    def is_supported(self) -> bool:
        return self._client is not None and hasattr(self._client, "pubsub")

    @property
    def is_listening(self) -> bool:
        return self._pubsub is not None

    def wait(self, timeout: float) -> bool:
        """True if notices arrived within ``timeout`` seconds (0: only check); :meth:`take` has them."""
        pubsub = self._subscribed()
        if pubsub is None:
            time.sleep(max(timeout, 0.0))
            return False
        try:
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=max(timeout, 0.0))
            while message is not None:
                data = message.get("data")
                self._noticed.add(data.decode() if isinstance(data, bytes) else str(data))
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0)
        except Exception as exc:
            log.warning("Lost the result notices channel (%s); polling until it is back", exc)
            self.close()
            self._read_all = True  # something may have changed meanwhile
        return bool(self._noticed) or self._read_all

    def poke(self) -> None:
        """Publish an empty notice (it names no attempt) to end a wait on this channel."""
        client = self._client
        if client is not None and self.is_supported:
            with contextlib.suppress(Exception):  # the wait ends at its next poll instead
                client.publish(self.channel, "")

    def take(self) -> set[str] | None:
        """The task ids noticed since the last call (after a non-blocking check); None: read them all."""
        self.wait(0.0)
        noticed, self._noticed = self._noticed, set()
        read_all, self._read_all = self._read_all, False
        return None if read_all else noticed

    def close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._retry_at = time.monotonic() + _RESUBSCRIBE_DELAY
        if pubsub is not None:
            with contextlib.suppress(Exception):
                pubsub.close()

    def _subscribed(self) -> Any:
        client = self._client
        if (
            self._pubsub is not None
            or client is None
            or not self.is_supported
            or time.monotonic() < self._retry_at
        ):
            return self._pubsub
        try:
            pubsub = client.pubsub()
            pubsub.subscribe(self.channel)
        except Exception as exc:
            log.warning("Cannot subscribe to result notices (%s); polling results", exc)
            self._retry_at = time.monotonic() + _RESUBSCRIBE_DELAY
            return None
        self._pubsub = pubsub
        return pubsub


def _placeholder_workload(key: TaskKey, max_tries: int) -> TaskWorkload:
    """What an adopted attempt's bookkeeping needs (its key and tries); never published."""
    epoch = datetime.fromtimestamp(0, UTC)
    return TaskWorkload(key, "", epoch, epoch, epoch, "manual", False, None, max_tries, None, "", 1, "")
