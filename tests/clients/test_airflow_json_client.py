"""Airflow's own JSON client (2.10.5, httpx-based) against a live Tradewind webserver.

Its two files are loaded by path from the cache ``scripts/fetch-airflow-client`` fills, under
synthetic module names, with a stub ``airflow.api.client`` package only while they import:
Airflow itself is never installed. Skipped with a reason when the cache is missing.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.actions import factory
from tests.clients.conftest import LiveServers

VERSION = "2.10.5"
CACHE = Path(
    os.environ.get("TRADEWIND_AIRFLOW_CLIENT_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / f"tradewind/airflow-client-{VERSION}"
)


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def airflow_client_class(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (CACHE / "json_client.py").exists():
        pytest.skip(f"Airflow's json_client.py is not cached in {CACHE}: run scripts/fetch-airflow-client")
    api_client = _load("_airflow_compat_api_client", CACHE / "api_client.py")
    stub = types.ModuleType("airflow.api.client")
    stub.api_client = api_client  # type: ignore[attr-defined]
    names = {"airflow": types.ModuleType("airflow"), "airflow.api": types.ModuleType("airflow.api")}
    names["airflow.api.client"] = stub
    with pytest.MonkeyPatch.context() as patch:  # the stub exists only while json_client imports
        for name, module in names.items():
            patch.setitem(sys.modules, name, module)
        json_client = _load("_airflow_compat_json_client", CACHE / "json_client.py")
    yield json_client.Client


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, live_servers: LiveServers) -> Any:
    return live_servers.get(request, str(request.param))


@pytest.fixture
def airflow(airflow_client_class: Any, server: Any) -> Iterator[Any]:
    client = airflow_client_class(api_base_url=server.url)
    yield client
    client._session.close()


def test_trigger_dag(airflow: Any, server: Any) -> None:
    dag_id = f"af_{os.urandom(4).hex()}"
    factory.add_dag(server.db, dag_id, fileloc=f"/dags/{dag_id}.py")
    message = airflow.trigger_dag(dag_id, run_id="from_airflow", conf={"a": 1})
    assert message.startswith(f"Created <DagRun {dag_id} @ ") and ": from_airflow, state:queued" in message
    with pytest.raises(OSError, match=r"^Dag id nope not found in DagModel$"):
        airflow.trigger_dag("nope")


def test_pools(airflow: Any) -> None:
    name = f"af_{os.urandom(4).hex()}"
    assert airflow.create_pool(name, 3, "from Airflow", False) == (name, 3, "from Airflow", False)
    assert airflow.get_pool(name) == (name, 3, "from Airflow")
    assert (name, 3, "from Airflow") in airflow.get_pools()
    assert ("default_pool", 128, "Default pool") in airflow.get_pools()
    assert airflow.create_pool(name, 5, "more", True) == (name, 5, "more", True)
    assert airflow.delete_pool(name) == (name, 5, "more")
    with pytest.raises(OSError, match=rf"^Pool '{name}' doesn't exist$"):
        airflow.get_pool(name)
    with pytest.raises(OSError, match=r"^default_pool cannot be deleted$"):
        airflow.delete_pool("default_pool")


def test_delete_dag(airflow: Any, server: Any) -> None:
    dag_id = f"af_{os.urandom(4).hex()}"
    factory.add_dag(server.db, dag_id, fileloc=f"/dags/{dag_id}.py")
    assert airflow.delete_dag(dag_id).startswith("Removed ")
    with pytest.raises(OSError, match=rf"^Dag id {dag_id} not found$"):
        airflow.delete_dag(dag_id)
