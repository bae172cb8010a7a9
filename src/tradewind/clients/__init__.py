"""Clients: the operations of the experimental API as Python calls, locally or over HTTP.

>>> from tradewind.clients import make_client
>>> from tradewind.config import load_config
>>> with make_client(load_config()) as client:       # doctest: +SKIP
...     client.trigger_dag("example_bash_operator", conf={"key": "value"})

``[cli] api_client`` picks the implementation: ``tradewind.clients.local`` (the default, the
metadata database) or ``tradewind.clients.json`` (HTTP to ``[cli] endpoint_url``); Airflow's
``airflow.api.client.local_client`` / ``json_client`` are accepted as aliases. Any other value
is a dotted path to a module exposing ``create_client`` (see :class:`ClientFactory`).

Nothing heavy is imported here: the chosen implementation is imported by :func:`make_client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradewind.clients.base import Client, ClientFactory

if TYPE_CHECKING:
    from tradewind.config import Config

__all__ = ["CLIENT_ALIASES", "Client", "ClientFactory", "load_client_factory", "make_client"]

CLIENT_ALIASES: dict[str, str] = {
    "local": "tradewind.clients.local",
    "json": "tradewind.clients.json",
    "airflow.api.client.local_client": "tradewind.clients.local",
    "airflow.api.client.json_client": "tradewind.clients.json",
}


def make_client(config: Config, *, transport: Any = None, db: Any = None) -> Client:
    """The client ``[cli] api_client`` names, built from ``config``.

    ``transport`` (an ``httpx.BaseTransport``) is passed to HTTP clients, ``db`` (a
    ``tradewind.store.Database``, which stays the caller's) to the local client. Raises
    PluginError for a value that is not a client module, ConfigError for bad settings.
    """
    factory = load_client_factory(config.cli.api_client)
    return factory(config, transport=transport, db=db)


def load_client_factory(value: str) -> ClientFactory:
    """The ``create_client`` of the module an alias or dotted path names."""
    from tradewind.plugins import load_plugin

    module = load_plugin(
        value, kind="CLI API client", aliases=CLIENT_ALIASES, check=lambda m: callable(_factory_of(m))
    )
    factory: ClientFactory = _factory_of(module)
    return factory


def _factory_of(obj: Any) -> Any:
    """A module's ``create_client``, or the object itself when the path names a factory."""
    return getattr(obj, "create_client", None) or (
        obj if callable(obj) and not isinstance(obj, type) else None
    )
