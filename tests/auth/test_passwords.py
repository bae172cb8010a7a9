"""The building blocks of password checking: verifier, throttle, credential cache."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tradewind.api.auth.passwords import CredentialCache, LoginThrottle, PasswordVerifier, TooManyRequests

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_verifier_accepts_only_the_right_password() -> None:
    verifier = PasswordVerifier(FAST)
    stored = FAST.hash("correct horse")
    assert verifier.verify(stored, "correct horse")
    assert not verifier.verify(stored, "wrong horse")


def test_verifier_refuses_a_missing_or_corrupt_hash() -> None:
    verifier = PasswordVerifier(FAST)
    assert not verifier.verify(None, "anything")
    assert not verifier.verify("", "")
    assert not verifier.verify("$argon2id$garbage", "anything")


def test_verifier_rehashes_outdated_parameters_only() -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    verifier = PasswordVerifier(stronger)
    assert verifier.rehash(stronger.hash("pw123456"), "pw123456") is None
    new_hash = verifier.rehash(FAST.hash("pw123456"), "pw123456")
    assert new_hash is not None and verifier.verify(new_hash, "pw123456")


def test_throttle_blocks_after_the_limit_within_the_window() -> None:
    ticks = Ticks()
    throttle = LoginThrottle(limit=3, window=60, clock=ticks)
    for _ in range(2):
        throttle.record_failure("ip")
        ticks.now += 10
    throttle.check("ip")
    throttle.record_failure("ip")  # failures at 1000, 1010, 1020
    assert throttle.retry_after("ip") == 40
    with pytest.raises(TooManyRequests) as caught:
        throttle.check("other", "ip")
    assert caught.value.status_code == 429
    assert caught.value.headers == {"Retry-After": "40"}


def test_throttle_window_slides() -> None:
    ticks = Ticks()
    throttle = LoginThrottle(limit=2, window=60, clock=ticks)
    throttle.record_failure("user")
    ticks.now += 30
    throttle.record_failure("user")
    assert throttle.retry_after("user") == 30
    ticks.now += 30  # the first failure leaves the window
    assert throttle.retry_after("user") is None
    ticks.now += 30
    assert throttle.retry_after("user") is None
    assert throttle._failures == {}


def test_throttle_keys_are_independent_and_bounded() -> None:
    throttle = LoginThrottle(limit=1, window=60, clock=Ticks(), max_keys=2)
    throttle.record_failure("a", "b")
    assert throttle.retry_after("a") == 60 and throttle.retry_after("c") is None
    throttle.record_failure("c")
    assert list(throttle._failures) == ["b", "c"]


def test_throttle_with_no_limit_is_off() -> None:
    throttle = LoginThrottle(limit=0, window=60)
    for _ in range(100):
        throttle.record_failure("ip")
    throttle.check("ip")


def test_cache_expires_after_its_ttl() -> None:
    ticks = Ticks()
    cache: CredentialCache[str] = CredentialCache(ttl=10, clock=ticks)
    key = cache.digest("Basic c2VjcmV0")
    cache.put(key, "alice")
    ticks.now += 9.9
    assert cache.get(key) == "alice"
    ticks.now += 0.1
    assert cache.get(key) is None


def test_cache_keys_are_keyed_hashes_not_secrets() -> None:
    one: CredentialCache[str] = CredentialCache(ttl=10)
    two: CredentialCache[str] = CredentialCache(ttl=10)
    secret = "Basic YWxpY2U6c2VjcmV0"
    assert one.digest(secret) != two.digest(secret)  # a random key per process
    assert secret.encode() not in one.digest(secret)
    one.put(one.digest(secret), "alice")
    assert all(secret.encode() not in key for key in one._entries)


def test_cache_is_bounded_and_can_be_off() -> None:
    cache: CredentialCache[int] = CredentialCache(ttl=10, max_entries=2)
    for i in range(3):
        cache.put(cache.digest(str(i)), i)
    assert cache.get(cache.digest("0")) is None and cache.get(cache.digest("2")) == 2
    cache.clear()
    assert cache.get(cache.digest("2")) is None
    off: CredentialCache[int] = CredentialCache(ttl=0)
    off.put(off.digest("x"), 1)
    assert off.get(off.digest("x")) is None
