"""kerberos_auth against a real MIT Kerberos KDC in a temporary realm (k5test).

Skipped when the KDC packages or gssapi/k5test are missing (``scripts/install-kerberos``
installs the packages; CI has them). The Kerberos library finds the test realm through
``KRB5_CONFIG``, set for this module only; Tradewind's own settings come from the config.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.auth.conftest import KERBEROS_AUTH, NEW_POOL, POOLS, add_user, auth_config, live_server

from tradewind.api.auth.backend.kerberos_auth import KerberosAuthBackend
from tradewind.clients.auth import NegotiateAuth, client_auth
from tradewind.errors import ConfigError, Unauthorized
from tradewind.store import Database

gssapi = pytest.importorskip("gssapi", reason="gssapi is not installed (the kerberos extra)")
k5test = pytest.importorskip("k5test", reason="k5test is not installed")
if not (shutil.which("krb5kdc") or os.path.exists("/usr/sbin/krb5kdc")):
    pytest.skip("MIT Kerberos KDC not installed: run scripts/install-kerberos", allow_module_level=True)

HOST = "localhost"


class Realm:
    """A KDC with a user (``user@KRBTEST.COM``, ticket in ``ccache``) and two services."""

    def __init__(self) -> None:
        self.k5 = k5test.K5Realm(
            portbase=random.randrange(20000, 60000, 10),
            krb5_conf={"libdefaults": {"rdns": "false", "dns_canonicalize_hostname": "false"}},
        )
        self.service = f"HTTP/{HOST}@{self.k5.realm}"
        self.other_service = f"other/{HOST}@{self.k5.realm}"
        self.keytab = os.path.join(self.k5.tmpdir, "http.keytab")
        self.other_keytab = os.path.join(self.k5.tmpdir, "other.keytab")
        for principal, keytab in ((self.service, self.keytab), (self.other_service, self.other_keytab)):
            self.k5.addprinc(principal)
            self.k5.extract_keytab(principal, keytab)
        self.ccache = self.k5.ccache
        self.user = self.k5.user_princ

    def stop(self) -> None:
        self.k5.stop()


@pytest.fixture(scope="module")
def realm() -> Iterator[Realm]:
    with pytest.MonkeyPatch.context() as patch:
        try:
            realm = Realm()
        except Exception as exc:  # a broken local install: say why instead of erroring every test
            pytest.skip(f"cannot start a test KDC: {exc}")
        patch.setenv("KRB5_CONFIG", realm.k5.env["KRB5_CONFIG"])
        patch.setenv("KRB5RCACHEDIR", realm.k5.tmpdir)
        patch.setenv("KRB5CCNAME", os.path.join(realm.k5.tmpdir, "no-such-ccache"))
        yield realm
        realm.stop()


def kerberos_config(tmp_path: Path, db: Database, realm: Realm, **kerberos: Any) -> Any:
    values = {"keytab": realm.keytab, "principal": realm.service, "default_role": "viewer", **kerberos}
    return auth_config(tmp_path, db, KERBEROS_AUTH, kerberos=values)


def test_valid_ticket_is_let_in_with_mutual_authentication(
    realm: Realm, sqlite_db: Database, tmp_path: Path
) -> None:
    config = kerberos_config(tmp_path, sqlite_db, realm)
    with live_server(config, sqlite_db) as url:
        auth = NegotiateAuth(ccache=realm.ccache)  # target HTTP@<host of the URL>
        with httpx.Client(base_url=url.replace("127.0.0.1", HOST), auth=auth) as client:
            response = client.get(POOLS)
    assert response.status_code == 200
    assert response.headers["www-authenticate"].startswith("Negotiate ")


def test_no_ticket_gets_401_negotiate(realm: Realm, sqlite_db: Database, tmp_path: Path) -> None:
    with (
        live_server(kerberos_config(tmp_path, sqlite_db, realm), sqlite_db) as url,
        httpx.Client(base_url=url) as client,
    ):
        response = client.get(POOLS)
        garbled = client.get(POOLS, headers={"Authorization": "Negotiate bm90IGEgdG9rZW4="})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Negotiate"
    assert garbled.status_code == 403
    with pytest.raises(Unauthorized, match="kinit"):
        NegotiateAuth(target=realm.service)._context(HOST)  # KRB5CCNAME points at no ticket


def test_ticket_for_another_service_is_refused(realm: Realm, sqlite_db: Database, tmp_path: Path) -> None:
    with live_server(kerberos_config(tmp_path, sqlite_db, realm), sqlite_db) as url:
        auth = NegotiateAuth(target=realm.other_service, ccache=realm.ccache)
        with httpx.Client(base_url=url, auth=auth) as client:
            response = client.get(POOLS)
    assert response.status_code == 403
    assert response.json()["error"] == "Kerberos authentication failed"


@pytest.mark.parametrize(
    ("username", "role", "default_role", "read", "write"),
    [
        ("user", "viewer", "admin", 200, 403),  # the name before @ maps to the user row
        ("user@KRBTEST.COM", "op", "viewer", 200, 200),  # the full principal too
        (None, None, "op", 200, 200),  # unmapped principal: default_role
        (None, None, "viewer", 200, 403),
        (None, None, "", 403, 403),  # no default role: unmapped principals are refused
    ],
)
def test_principals_map_to_roles(
    realm: Realm,
    db: Database,
    tmp_path: Path,
    username: str | None,
    role: str | None,
    default_role: str,
    read: int,
    write: int,
) -> None:
    if username and role:
        add_user(db, username, role)
    config = kerberos_config(tmp_path, db, realm, default_role=default_role)
    config = config.with_overrides(cli={"endpoint_url": "unused"})
    with live_server(config, db) as url:
        auth = client_auth(config)
        assert isinstance(auth, NegotiateAuth) and auth.target == realm.service
        auth.ccache = realm.ccache
        with httpx.Client(base_url=url, auth=auth) as client:
            assert client.get(POOLS).status_code == read
            assert client.post(POOLS, json=NEW_POOL).status_code == write


def test_inactive_user_is_refused(realm: Realm, sqlite_db: Database, tmp_path: Path) -> None:
    add_user(sqlite_db, "user", "admin", active=False)
    backend = KerberosAuthBackend()
    backend.init(kerberos_config(tmp_path, sqlite_db, realm), sqlite_db)
    with pytest.raises(Exception, match="Kerberos authentication failed"):
        backend.map_principal(realm.user)
    assert backend.map_principal("user@ELSEWHERE.ORG") == ("user@ELSEWHERE.ORG", "viewer")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"principal": "HTTP/nothere@KRBTEST.COM"}, "cannot use HTTP/nothere@KRBTEST.COM from keytab"),
        ({"principal": ""}, r"Set \[kerberos\] principal"),
        ({"keytab": "/nonexistent/keytab"}, r"\[kerberos\] keytab"),
        ({"default_role": "root"}, r"\[kerberos\] default_role"),
    ],
)
def test_bad_configuration_fails_at_startup(
    realm: Realm, sqlite_db: Database, tmp_path: Path, override: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        KerberosAuthBackend().init(kerberos_config(tmp_path, sqlite_db, realm, **override), sqlite_db)
