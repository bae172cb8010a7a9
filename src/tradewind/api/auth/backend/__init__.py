"""Auth backends, one module per backend, named as ``[api] auth_backend`` names them."""

from __future__ import annotations

from types import ModuleType
from typing import cast

from tradewind.api.auth.base import AuthBackend
from tradewind.plugins import load_plugin

ALIASES: dict[str, str] = {
    "airflow.api.auth.backend.deny_all": "tradewind.api.auth.backend.deny_all",
    "airflow.api.auth.backend.default": "tradewind.api.auth.backend.default",
    "airflow.contrib.auth.backends.password_auth": "tradewind.api.auth.backend.password_auth",
    "airflow.api.auth.backend.kerberos_auth": "tradewind.api.auth.backend.kerberos_auth",
}


def load_auth_backend(value: str) -> AuthBackend:
    """The ``backend`` of the module ``value`` names (an alias or a dotted path); PluginError if unusable."""
    module = load_plugin(value, kind="API auth backend", aliases=ALIASES, check=_exposes_backend)
    return cast(AuthBackend, cast(ModuleType, module).backend)


def _exposes_backend(module: object) -> bool:
    return isinstance(getattr(module, "backend", None), AuthBackend)
