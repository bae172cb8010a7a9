"""Real Celery clusters for the tests: a private redis-server, PostgreSQL, RabbitMQ, worker processes.

Nothing here touches the machine's shared Redis: each session starts its own ``redis-server``
on a free port (and the broker-restart test one more, which it restarts). RabbitMQ tests use
the default vhost with queue names unique to the test. Tests skip when ``redis-server`` is
not installed, PostgreSQL is unreachable, or (for the RabbitMQ tests) RabbitMQ is unreachable;
``TRADEWIND_TEST_REQUIRE_CELERY=1`` turns those skips into failures (CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradewind.config import Config, load_config
from tradewind.parsing import sync_once
from tradewind.scheduler.main import build_scheduler
from tradewind.store import Database
from tradewind.testing import PostgresTemplate

pytest.importorskip("celery", reason="celery is not installed (pip install 'tradewind[celery]')")

REQUIRE = os.environ.get("TRADEWIND_TEST_REQUIRE_CELERY") == "1"
RABBITMQ_URL = os.environ.get("TRADEWIND_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
DAG_TEMPLATE = Path(__file__).parent / "dag_template.py"


def _skip(reason: str) -> None:
    if REQUIRE:
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


class RedisServer:
    """A redis-server of our own (never the shared one), persistent so a restart loses nothing."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   "--appendonly", "yes", "--appendfsync", "always", "--save", ""]  # fmt: skip
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start: {(self.folder / 'redis.log').read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # redis flushes its append-only file on SIGTERM
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        _skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template() -> PostgresTemplate:
    from tests.conftest import POSTGRES_URL

    from tradewind.testing import server_reachable

    if not server_reachable(POSTGRES_URL):
        _skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    return PostgresTemplate(POSTGRES_URL)


@pytest.fixture
def pg_url(pg_template: PostgresTemplate) -> Iterator[str]:
    with pg_template.database() as url:
        yield url


@pytest.fixture
def rabbitmq_url() -> str:
    if not port_open("127.0.0.1", 5672):
        _skip("RabbitMQ is not reachable at 127.0.0.1:5672")
    return RABBITMQ_URL


class Cluster:
    """A TRADEWIND_HOME, Celery worker processes and a scheduler thread, for one test.

    ``zombie_threshold`` is short by default, so that tests of lost workers end quickly; a
    test about something else can make it long, so that a busy machine (a heartbeat late by
    a few seconds) cannot turn a healthy attempt into a zombie.
    """

    def __init__(
        self, home: Path, db_url: str, broker_url: str, backend_url: str, *, zombie_threshold: float = 4.0
    ) -> None:
        self.home = home
        tag = uuid.uuid4().hex[:8]
        self.queue_a, self.queue_b = f"tw-{tag}-a", f"tw-{tag}-b"
        dags = home / "dags"
        dags.mkdir(parents=True)
        text = DAG_TEMPLATE.read_text().replace("QUEUE_A", self.queue_a).replace("QUEUE_B", self.queue_b)
        (dags / "celery_dags.py").write_text(text)
        (home / "tradewind.cfg").write_text(
            f"[core]\nsql_alchemy_conn = {db_url}\nexecutor = CeleryExecutor\ndags_folder = {dags}\n"
            f"load_examples = False\nparallelism = 16\n"
            f"[celery]\nbroker_url = {broker_url}\nresult_backend = {backend_url}\n"
            f"default_queue = {self.queue_a}\nvisibility_timeout = 3600\n"
            f"[scheduler]\nheartbeat_sec = 0.5\nzombie_threshold_sec = {zombie_threshold:g}\n"
            f"[logging]\nbase_log_folder = {home / 'logs'}\n"
        )
        self.config: Config = load_config(home, environ={})
        self.db = Database(db_url)
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scheduler: Any = None

    def other_machine(self, folder: Path) -> Path:
        """A TRADEWIND_HOME like this one's, for a worker whose DAGs and logs live elsewhere.

        In its copy of the DAG file, ``whoami`` answers ``elsewhere-<worker>``.
        """
        dags, logs = folder / "mnt" / "flows", folder / "var" / "logs"
        dags.mkdir(parents=True)
        for path in (self.home / "dags").iterdir():
            mine = 'return os.environ.get("TW_TEST_WORKER", "?")'
            (dags / path.name).write_text(path.read_text().replace(mine, f'return "elsewhere-" + {mine[7:]}'))
        config = (self.home / "tradewind.cfg").read_text()
        config = config.replace(f"dags_folder = {self.home / 'dags'}", f"dags_folder = {dags}")
        (folder / "tradewind.cfg").write_text(config.replace(str(self.home / "logs"), str(logs)))
        return folder

    def start_worker(
        self, name: str, queues: list[str], concurrency: int = 2, home: Path | None = None
    ) -> subprocess.Popen[bytes]:
        env = dict(os.environ, TRADEWIND_HOME=str(home or self.home), TW_TEST_WORKER=name)
        env = {k: v for k, v in env.items() if not k.startswith("TRADEWIND__")}
        command = [sys.executable, "-m", "tradewind", "celery", "worker", "--queues", ",".join(queues),
                   "--concurrency", str(concurrency), "--name", f"{name}-{uuid.uuid4().hex[:6]}@localhost",
                   "--log-server-port", "0", "--loglevel", "WARNING"]  # fmt: skip
        with open(self.home / f"worker-{name}.log", "ab") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.workers[name] = process
        return process

    def wait_workers(self, count: int, timeout: float = 120) -> None:
        from sqlalchemy import text

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.transaction(write=False) as store:
                query = text("SELECT count(*) FROM job WHERE job_type = 'WorkerJob' AND state = 'running'")
                if store.session.execute(query).scalar_one() >= count:
                    time.sleep(1.0)  # the consumers start just after the job row
                    return
            time.sleep(0.1)
        raise AssertionError(f"workers did not start: {self.worker_logs()}")

    def worker_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.home.glob("worker-*.log"))

    def start_scheduler(self) -> None:
        sync_once(self.db, self.config.dags_folder, include_examples=False, timeout=30)
        self.scheduler = build_scheduler(self.config, self.db, parse=False)
        self._thread = threading.Thread(
            target=self.scheduler.run, args=(self._stop,), kwargs={"drain_timeout": 2}
        )
        self._thread.start()

    def trigger(self, dag_id: str, run_id: str = "m1") -> str:
        now = datetime.now(UTC)
        with self.db.transaction() as store:
            data = store.serialized_dag(dag_id)
            store.create_dag_run(data, run_id=run_id, execution_date=now, run_type="manual", now=now,
                                 external_trigger=True)  # fmt: skip
        return run_id

    def wait_run(self, dag_id: str, run_id: str = "m1", timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.transaction(write=False) as store:
                run = store.find_dag_run(dag_id, run_id=run_id)
                if run is not None and run.state in ("success", "failed"):
                    return str(run.state)
            time.sleep(0.1)
        raise AssertionError(
            f"run {dag_id} {run_id} did not finish: {self.states(dag_id, run_id)}\n{self.worker_logs()}"
        )

    def tis(self, dag_id: str, run_id: str = "m1") -> dict[str, Any]:
        with self.db.transaction(write=False) as store:
            return {ti.task_id: ti for ti in store.task_instances(dag_id, run_id)}

    def states(self, dag_id: str, run_id: str = "m1") -> dict[str, str | None]:
        return {task_id: ti.state for task_id, ti in self.tis(dag_id, run_id).items()}

    def xcom(self, dag_id: str, task_id: str, run_id: str = "m1") -> Any:
        import json

        from sqlalchemy import select

        from tradewind.models import XCom

        with self.db.transaction(write=False) as store:
            value = store.session.scalars(
                select(XCom.value).where(XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.task_id == task_id,
                                         XCom.key == "return_value")
            ).first()  # fmt: skip
        return None if value is None else json.loads(value)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.db.dispose()


@pytest.fixture
def make_cluster(tmp_path: Path, pg_url: str) -> Iterator[Callable[..., Cluster]]:
    """``make(broker_url, backend_url)``: a cluster on a fresh PostgreSQL database, closed before it is dropped.

    ``zombie_threshold``: see :class:`Cluster`.
    """
    clusters: list[Cluster] = []

    def make(broker_url: str, backend_url: str, *, zombie_threshold: float = 4.0) -> Cluster:
        home = tmp_path / f"home{len(clusters)}"
        cluster = Cluster(home, pg_url, broker_url, backend_url, zombie_threshold=zombie_threshold)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.close()
