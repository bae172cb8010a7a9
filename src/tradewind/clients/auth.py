"""Client-side authentication for the JSON client: an ``httpx.Auth`` per server auth backend.

This module imports only httpx (and gssapi, lazily, when Kerberos is used): the server-side
backends live in ``tradewind.api.auth`` and are never imported by clients.

- password_auth: HTTP Basic with ``TRADEWIND_API_USER`` / ``TRADEWIND_API_PASSWORD`` from the
  environment, else ``[cli] api_user`` / ``api_password``.
- kerberos_auth: :class:`NegotiateAuth` with the ticket in the user's credential cache (``kinit``).
  The target is ``[kerberos] principal`` when set (the server's service principal, e.g.
  ``HTTP/api.example.com@EXAMPLE.COM``), else ``HTTP@<host of the URL>``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from tradewind.errors import ConfigError, Unauthorized

if TYPE_CHECKING:
    from tradewind.config import Config

PASSWORD_BACKENDS = frozenset(
    {"tradewind.api.auth.backend.password_auth", "airflow.contrib.auth.backends.password_auth"}
)
KERBEROS_BACKENDS = frozenset(
    {"tradewind.api.auth.backend.kerberos_auth", "airflow.api.auth.backend.kerberos_auth"}
)
SPNEGO_OID = "1.3.6.1.5.5.2"


def client_auth(config: Config, environ: Mapping[str, str] = os.environ) -> httpx.Auth | None:
    """The ``httpx.Auth`` for the configured backend; None when no credentials are needed or set.

    Raises ConfigError for password_auth without a user name.
    """
    backend = config.api.auth_backend.strip()
    if backend in KERBEROS_BACKENDS:
        return NegotiateAuth(target=config.kerberos.principal or None)
    user = environ.get("TRADEWIND_API_USER") or config.cli.api_user
    password = environ.get("TRADEWIND_API_PASSWORD") or str.__str__(config.cli.api_password)
    if user:
        for name, value in (("user", user), ("password", password)):
            try:
                value.encode("utf-8")  # from the environment, undecodable bytes arrive as surrogates
            except UnicodeEncodeError:
                raise ConfigError(
                    f"The API {name} (TRADEWIND_API_{name.upper()} or [cli] api_{name}) is not valid UTF-8"
                ) from None
        return httpx.BasicAuth(user, password)
    if backend in PASSWORD_BACKENDS:
        raise ConfigError(
            "The API uses password_auth: set TRADEWIND_API_USER and TRADEWIND_API_PASSWORD "
            "(or [cli] api_user and api_password)"
        )
    return None


class NegotiateAuth(httpx.Auth):
    """SPNEGO (``Authorization: Negotiate``) with the Kerberos ticket of the current user.

    ``target`` is a service principal (``HTTP/host@REALM``) or a host-based name
    (``HTTP@host``); by default ``<service>@<host of the request URL>``. ``ccache`` names a
    credential cache other than the default (``KRB5CCNAME``). The server's mutual-authentication
    token is checked; a server that cannot prove its identity raises Unauthorized.
    """

    def __init__(
        self,
        *,
        target: str | None = None,
        service: str = "HTTP",
        ccache: str | None = None,
        mutual: bool = True,
    ) -> None:
        self.target, self.service, self.ccache, self.mutual = target, service, ccache, mutual

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        context = self._context(request.url.host)
        token = self._step(context, None)
        request.headers["Authorization"] = f"Negotiate {base64.b64encode(token).decode()}"
        response = yield request
        if self.mutual and response.is_success:
            self._check_mutual(context, response)

    def _context(self, host: str) -> Any:
        gssapi = _import_gssapi()
        target = self.target or f"{self.service}@{host}"
        kind = gssapi.NameType.kerberos_principal if "/" in target else gssapi.NameType.hostbased_service
        flags = (
            gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.out_of_sequence_detection
        )
        store = {"ccache": self.ccache} if self.ccache else None
        try:
            credentials = gssapi.Credentials(usage="initiate", store=store)
            return gssapi.SecurityContext(
                name=gssapi.Name(target, kind),
                creds=credentials,
                usage="initiate",
                mech=gssapi.OID.from_int_seq(SPNEGO_OID),
                flags=flags,
            )
        except gssapi.exceptions.GSSError as exc:
            raise Unauthorized(f"No usable Kerberos ticket (run kinit): {exc.gen_message()}") from None

    def _step(self, context: Any, token: bytes | None) -> bytes:
        gssapi = _import_gssapi()
        try:
            out: bytes = context.step(token)
            # gssapi raises a step's error on the next call, so ask now while we can catch it.
            complete = context.complete
            if token is not None and not complete:
                raise Unauthorized("Kerberos mutual authentication did not complete")
        except gssapi.exceptions.GSSError as exc:
            raise Unauthorized(f"Kerberos authentication failed: {exc.gen_message()}") from None
        return out or b""

    def _check_mutual(self, context: Any, response: httpx.Response) -> None:
        scheme, _, value = response.headers.get("www-authenticate", "").partition(" ")
        if scheme.lower() != "negotiate" or not value.strip():
            raise Unauthorized("The server did not prove its identity (no Negotiate token in the response)")
        try:
            token = base64.b64decode(value.strip(), validate=True)
        except ValueError:
            raise Unauthorized("The server sent a malformed Negotiate token") from None
        self._step(context, token)


def _import_gssapi() -> Any:
    try:
        import gssapi
    except ImportError:
        raise ConfigError("Kerberos authentication needs gssapi: pip install 'tradewind[kerberos]'") from None
    return gssapi
