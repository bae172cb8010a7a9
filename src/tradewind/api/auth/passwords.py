"""Checking passwords safely: constant-time verification, failure throttling and a short cache.

- :class:`PasswordVerifier` verifies against the stored argon2 hash, or against a dummy hash
  made with the same parameters when the user is unknown or has no password, so an unknown
  user costs as much as a wrong password (no enumeration by timing).
- :class:`LoginThrottle` counts failures in a sliding window, per client IP and per username;
  past the limit, logins from that IP or for that username answer 429 with ``Retry-After``
  until the oldest failure leaves the window. It is in memory, per webserver process.
- :class:`CredentialCache` remembers verified ``Authorization`` headers for a few seconds,
  keyed by an HMAC with a per-process random key (the cache never holds a password, and its
  keys are useless outside the process), so argon2 runs about once per client per TTL.
  Deleting a user or resetting a password therefore takes effect within the TTL, not at once.

Nothing here touches the event loop: the password backend runs verification in a thread.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tradewind.errors import TooManyRequests

V = TypeVar("V")


class PasswordVerifier:
    """Verify passwords in constant time with respect to whether the user exists."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        # Same parameters as real hashes, so a dummy verification costs as much as a real one.
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no hash, spend the same time and answer False."""
        try:
            self.hasher.verify(password_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def rehash(self, password_hash: str, password: str) -> str | None:
        """A new hash if ``password_hash`` was made with outdated parameters, else None."""
        if self.hasher.check_needs_rehash(password_hash):
            return self.hasher.hash(password)
        return None


class LoginThrottle:
    """Failures per key in a sliding window of ``window`` seconds; ``limit`` <= 0 disables it."""

    def __init__(
        self,
        *,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit, self.window, self._clock, self._max_keys = limit, window, clock, max_keys
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def retry_after(self, *keys: Hashable) -> int | None:
        """Seconds until any of ``keys`` may try again, or None if none is blocked."""
        if self.limit <= 0:
            return None
        waits = [wait for key in keys if (wait := self._wait(key)) is not None]
        return max(waits) if waits else None

    def check(self, *keys: Hashable) -> None:
        """Raise TooManyRequests (429, ``Retry-After``) if any of ``keys`` is blocked."""
        wait = self.retry_after(*keys)
        if wait is not None:
            raise TooManyRequests(
                f"Too many failed login attempts; retry after {wait} seconds",
                headers={"Retry-After": str(wait)},
            )

    def record_failure(self, *keys: Hashable) -> None:
        if self.limit <= 0:
            return
        now = self._clock()
        for key in keys:
            failures = self._failures.pop(key, None) or deque(maxlen=self.limit)
            failures.append(now)
            self._failures[key] = failures  # most recent last, for eviction
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def _wait(self, key: Hashable) -> int | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        now = self._clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window - now))


class CredentialCache(Generic[V]):
    """Values for verified secrets, for ``ttl`` seconds, keyed by HMAC-SHA256 of the secret."""

    def __init__(
        self, *, ttl: float, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self._max_entries, self._clock = ttl, max_entries, clock
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[float, V]] = OrderedDict()

    def digest(self, secret: str) -> bytes:
        return hmac.new(self._key, secret.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()

    def get(self, digest: bytes) -> V | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[digest]
            return None
        return value

    def put(self, digest: bytes, value: V) -> None:
        if self.ttl <= 0:
            return
        self._entries.pop(digest, None)
        self._entries[digest] = (self._clock() + self.ttl, value)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
