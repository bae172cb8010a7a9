"""The auth-backend contract and the identity of a caller.

A backend is a module exposing ``backend: AuthBackend``, named by ``[api] auth_backend`` and
loaded once by ``create_app``. For each API request the webserver calls
``backend.authenticate(request)``: it returns an :class:`Identity` or raises
``Unauthorized`` / ``Forbidden`` (with ``headers`` such as ``WWW-Authenticate``), and may be a
coroutine function. ``response_headers(identity)`` adds headers to the response (Kerberos
mutual authentication); ``init(config, db)`` runs once at startup.

Authorization is by role: ``viewer`` may read, ``op`` and ``admin`` may also change things.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from starlette.requests import Request

    from tradewind.config import Config
    from tradewind.store import Database

VIEWER = "viewer"
OP = "op"
ADMIN = "admin"
ROLE_LEVELS: dict[str, int] = {VIEWER: 1, OP: 2, ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: ``username`` None for anonymous callers of an open backend."""

    username: str | None
    role: str


def role_allows(role: str, required: str) -> bool:
    """Whether ``role`` may do what needs ``required``; an unknown role may do nothing."""
    return ROLE_LEVELS.get(role, 0) >= ROLE_LEVELS[required]


@runtime_checkable
class AuthBackend(Protocol):
    def init(self, config: Config, db: Database) -> None:
        """Called once when the app is built."""

    def authenticate(self, request: Request) -> Identity | Awaitable[Identity]:
        """The caller's identity; raise Unauthorized or Forbidden to refuse the request."""

    def response_headers(self, identity: Identity) -> dict[str, str]:
        """Headers to add to the response of an authenticated request."""


class BaseAuthBackend:
    """Defaults for the optional parts of :class:`AuthBackend`."""

    #: True for a backend that lets anybody in (the webserver refuses it on a public interface).
    open_access = False

    def init(self, config: Config, db: Database) -> None:
        return None

    def response_headers(self, identity: Identity) -> dict[str, str]:
        return {}
