"""The authentication dependency and the role check, applied by the route table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import isawaitable

from fastapi import Depends
from starlette.requests import Request

from tradewind.api.auth.base import AuthBackend, Identity, role_allows
from tradewind.errors import Forbidden


async def authenticate(request: Request) -> Identity:
    """Ask the configured backend who calls; keep the identity on ``request.state``."""
    backend: AuthBackend = request.app.state.auth_backend
    found = backend.authenticate(request)
    identity = await found if isawaitable(found) else found
    request.state.identity = identity
    headers = backend.response_headers(identity)
    if headers:
        request.state.response_headers = headers
    return identity


def require_role(role: str) -> Callable[..., Awaitable[Identity]]:
    """A dependency refusing (403) callers whose role is below ``role``."""

    async def check_role(identity: Identity = Depends(authenticate)) -> Identity:
        if not role_allows(identity.role, role):
            raise Forbidden(f"Forbidden: this needs the {role} role")
        return identity

    return check_role
