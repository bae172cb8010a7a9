"""SHA-1 without :mod:`hashlib`, for the task runner's names and lock offsets.

``hashlib`` loads OpenSSL, which costs the runner half a megabyte of memory, and every
task process forked from it pays for each megabyte (page tables copied at ``fork``,
torn down at exit). CPython's own ``_sha1`` gives the same digests; ``hashlib`` is the
fallback for builds without it. Not for security: these digests only spread names.
"""

from __future__ import annotations

try:
    from _sha1 import sha1  # type: ignore[import-not-found]  # (no stub: same API as hashlib.sha1)
except ImportError:  # pragma: no cover - CPython builds without the built-in hashes
    from hashlib import sha1

__all__ = ["sha1"]
