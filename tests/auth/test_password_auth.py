"""password_auth: HTTP Basic against the user table, directly and through a real server."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import anyio
import httpx
import pytest
from tests.auth.conftest import (
    NEW_POOL,
    PASSWORD_AUTH,
    POOLS,
    add_user,
    auth_config,
    basic,
    live_server,
    make_request,
)

from tradewind.actions.users import get_user
from tradewind.api.auth.backend.password_auth import PasswordAuthBackend
from tradewind.api.auth.base import AuthBackend, Identity
from tradewind.api.auth.passwords import TooManyRequests
from tradewind.errors import ConfigError, Unauthorized
from tradewind.store import Database

CHALLENGE = 'Basic realm="Tradewind"'


def backend_for(tmp_path: Path, db: Database, **api: object) -> PasswordAuthBackend:
    backend = PasswordAuthBackend()
    backend.init(auth_config(tmp_path, db, PASSWORD_AUTH, api=api), db)
    return backend


def authenticate(
    backend: PasswordAuthBackend, authorization: str | None, client: str = "10.0.0.1"
) -> Identity:
    return anyio.run(backend.authenticate, make_request(authorization, client=client))


def refusal(
    backend: PasswordAuthBackend, authorization: str | None, client: str = "10.0.0.1"
) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        authenticate(backend, authorization, client)
    return caught.value


def test_module_exposes_a_backend() -> None:
    from tradewind.api.auth.backend import load_auth_backend

    assert isinstance(load_auth_backend(PASSWORD_AUTH), AuthBackend)


def test_right_credentials_give_the_users_identity(tmp_path: Path, db: Database) -> None:
    add_user(db, "alice", "op")
    backend = backend_for(tmp_path, db)
    assert authenticate(backend, basic("alice", "correct horse")) == Identity("alice", "op")
    with db.transaction(write=False) as store:
        assert get_user(store, "alice").last_login is not None


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer abc",
        "Basic !!!not-base64",
        "Basic " + "bm9jb2xvbg==",  # "nocolon"
        basic("", "correct horse"),
        basic("alice", "wrong horse"),
        basic("alice", ""),
        basic("nobody", "correct horse"),
        basic("retired", "correct horse"),
    ],
)
def test_every_failure_is_the_same_401(
    sqlite_db: Database, tmp_path: Path, authorization: str | None
) -> None:
    add_user(sqlite_db, "alice", "op")
    add_user(sqlite_db, "retired", "op", active=False)
    error = refusal(backend_for(tmp_path, sqlite_db), authorization)
    assert (error.status_code, error.message, error.headers) == (
        401,
        "Invalid credentials",
        {"WWW-Authenticate": CHALLENGE},
    )


def test_repeated_failures_are_throttled_per_ip_and_per_user(sqlite_db: Database, tmp_path: Path) -> None:
    add_user(sqlite_db, "alice", "op")
    backend = backend_for(tmp_path, sqlite_db, failed_login_limit=3, failed_login_window=60.0)
    for attempt in range(3):
        refusal(backend, basic("alice", f"guess {attempt}"), client="10.0.0.66")
    with pytest.raises(TooManyRequests) as by_ip:
        authenticate(backend, basic("bob", "correct horse"), client="10.0.0.66")
    with pytest.raises(TooManyRequests) as by_user:  # even with the right password
        authenticate(backend, basic("alice", "correct horse"), client="10.0.0.2")
    for caught in (by_ip, by_user):
        assert caught.value.status_code == 429
        assert 55 <= int(caught.value.headers["Retry-After"]) <= 60
    refusal(backend, basic("carol", "whatever"), client="10.0.0.3")  # other IPs and users go on


def test_verified_credentials_are_cached_and_skip_the_throttle(sqlite_db: Database, tmp_path: Path) -> None:
    add_user(sqlite_db, "alice", "admin")
    backend = backend_for(tmp_path, sqlite_db, failed_login_limit=2)
    good = basic("alice", "correct horse")
    assert authenticate(backend, good).role == "admin"
    for attempt in range(2):
        refusal(backend, basic("alice", f"guess {attempt}"), client="10.0.0.66")
    calls: list[str] = []
    backend.check_password = lambda u, p: calls.append(u)  # type: ignore[assignment,method-assign,func-returns-value]
    assert authenticate(backend, good).username == "alice"  # from the cache: no argon2, not throttled
    assert calls == []


def test_uninitialised_backend_is_a_config_error(sqlite_db: Database, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="init"):
        authenticate(PasswordAuthBackend(), basic("alice", "pw"))
    with pytest.raises(ConfigError, match="failed_login_window"):
        backend_for(tmp_path, sqlite_db, failed_login_window=0.0)


def test_unknown_user_takes_as_long_as_a_wrong_password(sqlite_db: Database, tmp_path: Path) -> None:
    """No user enumeration by timing: compare medians of interleaved samples.

    Without the dummy hash an unknown user answers in well under a millisecond while a wrong
    password costs one argon2 verification (~20 ms), so a 25% tolerance catches a leak and
    survives a loaded machine (interleaving spreads the load over both series equally).
    """
    add_user(sqlite_db, "alice", "op")
    backend = backend_for(tmp_path, sqlite_db)
    samples: dict[str, list[float]] = {"unknown": [], "known": []}
    for i in range(25):
        for name, who in (("unknown", f"nobody{i}"), ("known", "alice"))[:: 1 if i % 2 else -1]:
            start = time.perf_counter()
            assert backend.check_password(who, "wrong horse") is None
            samples[name].append(time.perf_counter() - start)
    unknown, known = (statistics.median(samples[k][3:]) for k in ("unknown", "known"))
    assert abs(unknown - known) < 0.25 * max(unknown, known), (unknown, known)


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [("viewer", 200, 403), ("op", 200, 200), ("admin", 200, 200)],
)
def test_roles_over_real_http(db: Database, tmp_path: Path, role: str, read: int, write: int) -> None:
    add_user(db, "someone", role)
    config = auth_config(tmp_path, db, PASSWORD_AUTH)
    with (
        live_server(config, db) as url,
        httpx.Client(base_url=url, auth=("someone", "correct horse")) as client,
    ):
        assert client.get(POOLS).status_code == read
        assert client.post(POOLS, json=NEW_POOL).status_code == write


def test_refusals_over_real_http(sqlite_db: Database, tmp_path: Path) -> None:
    add_user(sqlite_db, "alice", "viewer")
    config = auth_config(tmp_path, sqlite_db, PASSWORD_AUTH, api={"failed_login_limit": 2})
    with live_server(config, sqlite_db) as url, httpx.Client(base_url=url) as client:
        for response in (client.get(POOLS), client.get(POOLS, auth=("alice", "wrong horse"))):
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == CHALLENGE
            assert response.json() == {"error": "Invalid credentials", "type": "Unauthorized"}
        client.get(POOLS, auth=("alice", "wrong again"))
        throttled = client.get(POOLS, auth=("alice", "correct horse"))
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert "correct horse" not in throttled.text
