"""HTTP Basic authentication against the users in the metadata database.

Configure with ``[api] auth_backend = tradewind.api.auth.backend.password_auth`` (Airflow's
``airflow.contrib.auth.backends.password_auth`` is an alias). Manage users with
``tradewind users``.

Every refusal is the same 401 ``Invalid credentials`` with ``WWW-Authenticate: Basic
realm="Tradewind"``: no credentials, a malformed header, an unknown or inactive user, a wrong
password. After ``[api] failed_login_limit`` failures within ``failed_login_window`` seconds
from one client IP, or for one username, logins from that IP or for that user answer **429**
with ``Retry-After`` (even with the right password, so guessing learns nothing) until the
oldest failure leaves the window. A client whose exact credentials were verified in the last
:data:`CACHE_TTL` seconds is let in without argon2 and without the throttle; so a deleted user or
a reset password stops working within that TTL.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from tradewind.actions.users import HASHER, StoredLogin, find_login, record_login
from tradewind.api.auth.base import BaseAuthBackend, Identity
from tradewind.api.auth.passwords import CredentialCache, LoginThrottle, PasswordVerifier
from tradewind.clock import utcnow
from tradewind.errors import ConfigError, Unauthorized

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from starlette.requests import Request

    from tradewind.config import Config
    from tradewind.store import Database

REALM = "Tradewind"
CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM}"'}
CACHE_TTL = 10.0
#: Concurrent argon2 verifications (each takes 19 MiB and a core for ~20 ms).
MAX_CONCURRENT_VERIFICATIONS = 4


def invalid_credentials() -> Unauthorized:
    return Unauthorized("Invalid credentials", headers=CHALLENGE)


def parse_basic(header: str | None) -> tuple[str, str]:
    """(username, password) from an ``Authorization: Basic`` header; Unauthorized if unusable."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_credentials()
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise invalid_credentials() from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise invalid_credentials()
    return username, password


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class PasswordAuthBackend(BaseAuthBackend):
    """Basic auth over the ``user`` table; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        hasher: PasswordHasher = HASHER,
        cache_ttl: float = CACHE_TTL,
        limit: int = 10,
        window: float = 60,
    ) -> None:
        self._hasher = hasher
        self._cache_ttl = cache_ttl
        self._db: Database | None = None
        self._verifier: PasswordVerifier | None = None
        self.cache: CredentialCache[Identity] = CredentialCache(ttl=cache_ttl)
        self.throttle = LoginThrottle(limit=limit, window=window)
        self._limiter = anyio.CapacityLimiter(MAX_CONCURRENT_VERIFICATIONS)

    def init(self, config: Config, db: Database) -> None:
        if config.api.failed_login_window <= 0:
            raise ConfigError("Bad value for [api] failed_login_window: must be positive")
        self._db = db
        self._verifier = PasswordVerifier(self._hasher)
        self.cache = CredentialCache(ttl=self._cache_ttl)
        self.throttle = LoginThrottle(
            limit=config.api.failed_login_limit, window=config.api.failed_login_window
        )

    async def authenticate(self, request: Request) -> Identity:
        header = request.headers.get("authorization")
        username, password = parse_basic(header)
        digest = self.cache.digest(header or "")
        cached = self.cache.get(digest)
        if cached is not None:
            return cached
        keys = (("ip", client_ip(request)), ("user", username))
        self.throttle.check(*keys)
        identity = await anyio.to_thread.run_sync(
            self.check_password, username, password, limiter=self._limiter
        )
        if identity is None:
            self.throttle.record_failure(*keys)
            raise invalid_credentials()
        self.cache.put(digest, identity)
        return identity

    def check_password(self, username: str, password: str) -> Identity | None:
        """The user's identity if the password is right and the user active (blocking: argon2)."""
        db, verifier = self._ready()
        with db.transaction(write=False) as store:
            login = find_login(store, username)
        if not verifier.verify(login.password_hash if login else None, password):
            return None
        assert login is not None and login.password_hash is not None
        if not login.is_active:
            return None
        self._note_login(db, verifier, login, password)
        return Identity(username=login.username, role=login.role)

    def _note_login(
        self, db: Database, verifier: PasswordVerifier, login: StoredLogin, password: str
    ) -> None:
        assert login.password_hash is not None
        new_hash = verifier.rehash(login.password_hash, password)
        with db.transaction() as store:
            record_login(store, login.username, now=utcnow(), new_hash=new_hash)

    def _ready(self) -> tuple[Database, PasswordVerifier]:
        if self._db is None or self._verifier is None:
            raise ConfigError("password_auth was not initialised: call init(config, db) first")
        return self._db, self._verifier


backend = PasswordAuthBackend()
