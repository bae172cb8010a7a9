"""The open backend: every caller is an anonymous admin. Only for trusted networks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewind.api.auth.base import ADMIN, BaseAuthBackend, Identity

if TYPE_CHECKING:
    from starlette.requests import Request

ANONYMOUS = Identity(username=None, role=ADMIN)


class OpenAccess(BaseAuthBackend):
    open_access = True

    def authenticate(self, request: Request) -> Identity:
        return ANONYMOUS


backend = OpenAccess()
