"""make_client: aliases, dotted paths and the errors of a bad ``[cli] api_client``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.clients import CLIENT_ALIASES, make_client
from tradewind.clients.base import Client
from tradewind.clients.json import JsonClient
from tradewind.clients.local import LocalClient
from tradewind.config import Config
from tradewind.errors import PluginError
from tradewind.store import Database
from tradewind.testing import make_config


def _config(tmp_path: Path, api_client: str, **cli: str) -> Config:
    return make_config(tmp_path, cli={"api_client": api_client, **cli})


@pytest.mark.parametrize("value", ["tradewind.clients.local", "airflow.api.client.local_client", "local"])
def test_local_client_by_name_or_alias(tmp_path: Path, value: str, db: Database) -> None:
    client = make_client(_config(tmp_path, value), db=db)
    assert isinstance(client, LocalClient) and isinstance(client, Client)
    assert client.db is db
    client.close()
    with db.transaction(write=False):  # the caller's database stays open
        pass


@pytest.mark.parametrize("value", ["tradewind.clients.json", "airflow.api.client.json_client", "json"])
def test_json_client_by_name_or_alias(tmp_path: Path, value: str) -> None:
    client = make_client(_config(tmp_path, value, endpoint_url="http://example.test:1234/"))
    assert isinstance(client, JsonClient) and isinstance(client, Client)
    assert client.base_url == "http://example.test:1234"
    client.close()


def test_local_client_builds_its_own_database(tmp_path: Path, db_url: str) -> None:
    config = make_config(tmp_path, core={"sql_alchemy_conn": db_url})
    with make_client(config) as client:  # type: ignore[attr-defined]
        assert client.get_pool("default_pool").slots == 128


def test_a_factory_by_dotted_path(tmp_path: Path) -> None:
    client = make_client(_config(tmp_path, "tradewind.clients.json:create_client"))
    assert isinstance(client, JsonClient)
    client.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no.such.module", "Cannot import no.such.module"),
        ("tradewind.clients.base", "tradewind.clients.base is not a valid CLI API client"),
        ("tradewind.clients.local:LocalClient", "is not a valid CLI API client"),
        ("", "No CLI API client configured"),
    ],
)
def test_bad_values_are_plugin_errors(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        make_client(_config(tmp_path, value))


def test_aliases_name_our_modules() -> None:
    assert set(CLIENT_ALIASES.values()) == {"tradewind.clients.local", "tradewind.clients.json"}
