"""The default backend: every API request is refused with 403, as in Airflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewind.api.auth.base import BaseAuthBackend, Identity
from tradewind.errors import Forbidden

if TYPE_CHECKING:
    from starlette.requests import Request


class DenyAll(BaseAuthBackend):
    def authenticate(self, request: Request) -> Identity:
        raise Forbidden("Forbidden")


backend = DenyAll()
