"""API users: create, list, delete, reset a password, and the standalone admin.

Passwords are hashed with argon2id and only the hash is stored. The parameters are OWASP's
recommendation (19 MiB, 2 iterations, 1 lane: ~20 ms on one core), stored in each hash, so they
can be raised later: hashes made with older parameters are upgraded at the next login. Verifying a password is the API's job (:mod:`tradewind.api.auth.passwords`
keeps it constant-time and off the event loop); this module only reads the stored login.

Roles: ``viewer`` may read, ``op`` may also trigger, pause, clear and manage pools,
``admin`` may do everything.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tradewind.actions.common import check_text, record_event
from tradewind.clock import utcnow
from tradewind.errors import BadRequest, Conflict, UserNotFound
from tradewind.models import User
from tradewind.store import Database, Store

ROLES = ("admin", "op", "viewer")
USERNAME_MAX_LENGTH = 256
PASSWORD_MIN_LENGTH = 8
# argon2 hashes whatever it gets; a bound keeps one request from costing more than a header.
PASSWORD_MAX_LENGTH = 1024
STANDALONE_ADMIN = "admin"
STANDALONE_PASSWORD_FILE = "standalone_admin_password.txt"

HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
"""The one hasher: hashing and the dummy hash for unknown users must share its parameters."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as ``users list`` shows it; never carries the password hash."""

    id: int
    username: str
    role: str
    is_active: bool
    created_at: datetime
    last_login: datetime | None


@dataclass(frozen=True, slots=True)
class StoredLogin:
    """What verifying a login needs from the database."""

    username: str
    password_hash: str | None
    role: str
    is_active: bool


def generate_password() -> str:
    """A random password of 128 bits, safe to type and to put in a shell variable."""
    return secrets.token_urlsafe(16)


def hash_password(password: str, *, hasher: PasswordHasher = HASHER) -> str:
    return hasher.hash(check_password_text(password))


PASSWORD_NOT_UTF8 = "Password must be valid UTF-8 text"


def check_password_text(password: str) -> str:
    """Refuse passwords that are too short or too long; the message never includes the password."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise BadRequest(f"Password must be at least {PASSWORD_MIN_LENGTH} characters long")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise BadRequest(f"Password must be at most {PASSWORD_MAX_LENGTH} characters long")
    if "\x00" in password:
        raise BadRequest("Password must not contain NUL characters")
    try:
        password.encode("utf-8")  # a lone surrogate: undecodable bytes, read with surrogateescape
    except UnicodeEncodeError:
        raise BadRequest(PASSWORD_NOT_UTF8) from None
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(f"Bad value for `role`: {role!r}; expected one of {', '.join(ROLES)}")
    return role


def check_username(username: str) -> str:
    """A name HTTP Basic can carry: not empty, no colon, no control characters."""
    name = check_text(username.strip(), "username", max_length=USERNAME_MAX_LENGTH)
    if not name:
        raise BadRequest("Username shouldn't be empty")
    if ":" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadRequest("Bad value for `username`: it must not contain ':' or control characters")
    return name


def users(store: Store) -> list[UserInfo]:
    rows = store.session.scalars(select(User).order_by(User.username))
    return [_info(row) for row in rows]


def get_user(store: Store, username: str) -> UserInfo:
    return _info(_require_user(store, username))


def find_login(store: Store, username: str) -> StoredLogin | None:
    """The stored login of ``username``, or None; callers must not branch on it before verifying."""
    row = _find_user(store, username)
    if row is None:
        return None
    return StoredLogin(row.username, row.password_hash, row.role, row.is_active)


def create_user(
    store: Store,
    *,
    username: str,
    role: str,
    password: str,
    now: datetime,
    owner: str | None = None,
    hasher: PasswordHasher = HASHER,
) -> UserInfo:
    """Create a user; Conflict if the name is taken, BadRequest for a bad name, role or password."""
    name, role = check_username(username), check_role(role)
    if _find_user(store, name) is not None:
        raise Conflict(f"User {name} already exists")
    row = User(username=name, role=role, password_hash=hash_password(password, hasher=hasher))
    row.is_active, row.created_at = True, now
    store.session.add(row)
    try:
        store.session.flush()
    except IntegrityError:
        raise Conflict(f"User {name} already exists") from None
    record_event(store, "create_user", now=now, owner=owner, extra={"username": name, "role": role})
    return _info(row)


def delete_user(store: Store, username: str, *, now: datetime, owner: str | None = None) -> UserInfo:
    row = _require_user(store, username)
    info = _info(row)
    store.session.delete(row)
    record_event(store, "delete_user", now=now, owner=owner, extra={"username": row.username})
    return info


def reset_password(
    store: Store,
    username: str,
    *,
    password: str,
    now: datetime,
    owner: str | None = None,
    hasher: PasswordHasher = HASHER,
) -> UserInfo:
    row = _require_user(store, username)
    row.password_hash = hash_password(password, hasher=hasher)
    record_event(store, "reset_password", now=now, owner=owner, extra={"username": row.username})
    return _info(row)


def record_login(store: Store, username: str, *, now: datetime, new_hash: str | None = None) -> None:
    """Note a successful login; ``new_hash`` replaces a hash made with outdated parameters."""
    row = _find_user(store, username)
    if row is None:
        return
    row.last_login = now
    if new_hash is not None:
        row.password_hash = new_hash


def ensure_admin_user(db: Database, home: Path, *, hasher: PasswordHasher = HASHER) -> str | None:
    """On first start, create ``admin`` with a random password and return it; None if it exists.

    The password is also written to ``<home>/standalone_admin_password.txt`` (mode 0600),
    inside the transaction: if the file cannot be written, no user is created.
    """
    password = generate_password()
    try:
        with db.transaction() as store:
            if _find_user(store, STANDALONE_ADMIN) is not None:
                return None
            create_user(
                store,
                username=STANDALONE_ADMIN,
                role="admin",
                password=password,
                now=utcnow(),
                owner="standalone",
                hasher=hasher,
            )
            write_secret_file(home / STANDALONE_PASSWORD_FILE, password + "\n")
    except Conflict:
        return None  # another process created it first
    return password


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only, whatever the umask or an older file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def _find_user(store: Store, username: str) -> User | None:
    return store.session.scalars(select(User).where(User.username == username)).one_or_none()


def _require_user(store: Store, username: str) -> User:
    row = _find_user(store, username)
    if row is None:
        raise UserNotFound(f"User {username} not found")
    return row


def _info(row: User) -> UserInfo:
    return UserInfo(row.id, row.username, row.role, row.is_active, row.created_at, row.last_login)
