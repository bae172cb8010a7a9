"""client_auth: which httpx.Auth the JSON client uses for the configured backend."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tradewind.clients.auth import NegotiateAuth, client_auth
from tradewind.config import Secret
from tradewind.errors import ConfigError
from tradewind.testing import make_config


def authorization(auth: httpx.Auth | None) -> str:
    assert auth is not None
    request = next(auth.sync_auth_flow(httpx.Request("GET", "http://api.example.com/")))
    return request.headers["Authorization"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "backend", ["tradewind.api.auth.backend.password_auth", "airflow.contrib.auth.backends.password_auth"]
)
def test_password_auth_uses_basic_from_config(tmp_path: Path, backend: str) -> None:
    config = make_config(
        tmp_path,
        api={"auth_backend": backend},
        cli={"api_user": "alice", "api_password": Secret("pw from cfg")},
    )
    assert authorization(client_auth(config, environ={})) == basic("alice", "pw from cfg")


def test_environment_overrides_config(tmp_path: Path) -> None:
    config = make_config(tmp_path, cli={"api_user": "alice", "api_password": Secret("cfg")})
    environ = {"TRADEWIND_API_USER": "bob", "TRADEWIND_API_PASSWORD": "env pw"}
    assert authorization(client_auth(config, environ=environ)) == basic("bob", "env pw")


def test_password_auth_without_a_user_is_a_config_error(tmp_path: Path) -> None:
    config = make_config(tmp_path, api={"auth_backend": "tradewind.api.auth.backend.password_auth"})
    with pytest.raises(ConfigError, match="TRADEWIND_API_USER"):
        client_auth(config, environ={})


def test_no_credentials_needed_for_other_backends(tmp_path: Path) -> None:
    assert client_auth(make_config(tmp_path), environ={}) is None


@pytest.mark.parametrize(
    "backend", ["tradewind.api.auth.backend.kerberos_auth", "airflow.api.auth.backend.kerberos_auth"]
)
def test_kerberos_backend_uses_negotiate(tmp_path: Path, backend: str) -> None:
    config = make_config(tmp_path, api={"auth_backend": backend})
    auth = client_auth(config, environ={"TRADEWIND_API_USER": "ignored"})
    assert isinstance(auth, NegotiateAuth) and auth.target is None and auth.service == "HTTP"
    principal = make_config(tmp_path, api={"auth_backend": backend}, kerberos={"principal": "HTTP/h@R"})
    auth = client_auth(principal, environ={})
    assert isinstance(auth, NegotiateAuth) and auth.target == "HTTP/h@R"


def test_client_module_imports_no_server_code(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, tradewind.clients.auth; "
        "bad = [m for m in sys.modules if m.startswith(('tradewind.api', 'starlette', 'fastapi', 'gssapi', "
        "'sqlalchemy', 'argon2'))]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)
