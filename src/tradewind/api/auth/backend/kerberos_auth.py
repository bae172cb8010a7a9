"""SPNEGO (``Authorization: Negotiate``) authentication with Kerberos, through ``gssapi``.

Configure with ``[api] auth_backend = tradewind.api.auth.backend.kerberos_auth`` (Airflow's
``airflow.api.auth.backend.kerberos_auth`` is an alias), ``[kerberos] keytab`` (a keytab holding
the service key) and ``[kerberos] principal`` (the service principal, e.g.
``HTTP/api.example.com@EXAMPLE.COM``). Startup fails with a ConfigError if the keytab does not
hold that principal. Needs the ``kerberos`` extra (``gssapi``).

- No ``Negotiate`` token: 401 with ``WWW-Authenticate: Negotiate``.
- A token that does not authenticate (garbage, expired, for another service): 403.
- Success: the response carries ``WWW-Authenticate: Negotiate <token>`` (mutual authentication)
  and the caller is the user whose username is the client principal (``alice@EXAMPLE.COM``) or,
  for a principal of the service's own realm, its name before ``@`` (``alice``). A principal
  with no user gets ``[kerberos] default_role``; an empty default_role refuses it (403), as
  does an inactive user.

The keytab is passed to the Kerberos library directly (a GSSAPI credential store), never
through ``KRB5_KTNAME`` or any other process-wide setting.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from tradewind.actions.users import ROLES, find_login
from tradewind.api.auth.base import BaseAuthBackend, Identity
from tradewind.errors import ConfigError, Forbidden, Unauthorized

if TYPE_CHECKING:
    from starlette.requests import Request

    from tradewind.config import Config
    from tradewind.store import Database

logger = logging.getLogger("tradewind.api.auth")

CHALLENGE = {"WWW-Authenticate": "Negotiate"}


@dataclass(frozen=True, slots=True)
class NegotiatedIdentity(Identity):
    """An identity proven by SPNEGO, with the server's token for mutual authentication."""

    principal: str = ""
    token: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class _Accepted:
    principal: str
    token: str


def parse_negotiate(header: str | None) -> bytes:
    """The GSSAPI token of an ``Authorization: Negotiate`` header: 401 if none, 403 if garbled."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "negotiate" or not value.strip():
        raise Unauthorized("Kerberos authentication required", headers=CHALLENGE)
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise refused() from None


def refused() -> Forbidden:
    return Forbidden("Kerberos authentication failed")


def acquire_acceptor(keytab: str, principal: str) -> Any:
    """Acceptor credentials for ``principal`` from ``keytab``; ConfigError if it is not there."""
    gssapi = _import_gssapi()
    name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
    try:
        return gssapi.Credentials(name=name, usage="accept", store={"keytab": keytab})
    except gssapi.exceptions.GSSError as exc:
        raise ConfigError(
            f"Bad value for [kerberos] principal: cannot use {principal} from keytab {keytab}: {exc.gen_message()}"
        ) from None


def _import_gssapi() -> Any:
    try:
        import gssapi
    except ImportError:
        raise ConfigError("kerberos_auth needs gssapi: pip install 'tradewind[kerberos]'") from None
    return gssapi


def check_default_role(role: str) -> str:
    if role and role not in ROLES:
        raise ConfigError(
            f"Bad value for [kerberos] default_role: {role!r}; expected one of {', '.join(ROLES)}"
        )
    return role


def realm_of(principal: str) -> str:
    return principal.rpartition("@")[2] if "@" in principal else ""


class KerberosAuthBackend(BaseAuthBackend):
    """SPNEGO over the service key in ``[kerberos] keytab``; see the module docstring."""

    def __init__(self) -> None:
        self._db: Database | None = None
        self._credentials: Any = None
        self._realm = ""
        self._default_role = "viewer"

    def init(self, config: Config, db: Database) -> None:
        keytab, principal = config.kerberos.keytab, config.kerberos.principal
        if not principal:
            raise ConfigError("Set [kerberos] principal to the service principal, e.g. HTTP/host@REALM")
        if not keytab or not Path(keytab).is_file():
            raise ConfigError(f"Bad value for [kerberos] keytab: {keytab!r} is not a file")
        self._default_role = check_default_role(config.kerberos.default_role)
        self._credentials = acquire_acceptor(keytab, principal)
        self._realm = realm_of(str(self._credentials.name)) or realm_of(principal)
        self._db = db

    async def authenticate(self, request: Request) -> Identity:
        token = parse_negotiate(request.headers.get("authorization"))
        return await anyio.to_thread.run_sync(self.identify, token)

    def response_headers(self, identity: Identity) -> dict[str, str]:
        if isinstance(identity, NegotiatedIdentity) and identity.token:
            return {"WWW-Authenticate": f"Negotiate {identity.token}"}
        return {}

    def identify(self, token: bytes) -> NegotiatedIdentity:
        """Accept the token and map its principal to a user (blocking: GSSAPI and the database)."""
        accepted = self.accept(token)
        username, role = self.map_principal(accepted.principal)
        return NegotiatedIdentity(
            username=username, role=role, principal=accepted.principal, token=accepted.token
        )

    def accept(self, token: bytes) -> _Accepted:
        gssapi = _import_gssapi()
        context = gssapi.SecurityContext(creds=self._credentials, usage="accept")
        try:
            out = context.step(token)
            # gssapi returns SPNEGO's error token and raises the error on the next call: here.
            complete = context.complete
            principal = str(context.initiator_name) if complete else ""
        except gssapi.exceptions.GSSError as exc:
            logger.info("Refused a Kerberos token: %s", exc.gen_message())
            raise refused() from None
        if not complete:  # Kerberos needs one round trip; anything else is not for us
            raise refused()
        return _Accepted(principal, base64.b64encode(out).decode() if out else "")

    def map_principal(self, principal: str) -> tuple[str, str]:
        """(username, role): the user named like the principal, else ``default_role``."""
        if self._db is None:
            raise ConfigError("kerberos_auth was not initialised: call init(config, db) first")
        with self._db.transaction(write=False) as store:
            for name in self._candidate_names(principal):
                login = find_login(store, name)
                if login is not None:
                    if not login.is_active:
                        raise refused()
                    return login.username, login.role
        if not self._default_role:
            raise refused()
        return principal, self._default_role

    def _candidate_names(self, principal: str) -> list[str]:
        names = [principal]
        short, _, realm = principal.rpartition("@")
        if short and realm == self._realm:  # never map a foreign realm's alice to our alice
            names.append(short)
        return names


backend = KerberosAuthBackend()
