"""Per-process copies of rarely changing rows, kept honest by a version held in Redis.

A process keeps what it read (API keys, the GUN's check modes and partner links) for a few
seconds, stamped with the version it saw in the cache. Whoever changes such a row calls
``bump()``: the version moves, and every process drops its copies at its next read. A copy is
filled only outside any transaction (what it read is committed) and only when the version could
be read: with the cache down, every read goes to the database.

The version is read with one Redis ``GET`` on a client the process keeps (a Django cache call
builds a new client each time, about 1 ms of CPU), through redis-py's public API; bumps go
through Django's cache, which stores an integer as a plain Redis integer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

T = TypeVar("T")
logger = logging.getLogger(__name__)

_clients: dict[str, Any] = {}
_clients_guard = threading.Lock()


def _client() -> Any:
    location = settings.CACHES["default"]["LOCATION"]
    client = _clients.get(location)
    if client is None:
        with _clients_guard:
            client = _clients.setdefault(location, redis.Redis.from_url(location))
    return client


class VersionedCopies(Generic[T]):
    """Copies by name, each valid ``ttl`` seconds at most and while the version held under
    ``version_key`` is the one it was read with. ``poll``: how long a version read is trusted
    before asking Redis again (0: at every read)."""

    def __init__(self, *, version_key: str, ttl: float, poll: float = 0.0) -> None:
        self.version_key = version_key
        self.ttl = ttl
        self.poll = poll
        self.store: dict[str, tuple[object, float, T]] = {}  # name -> (version, expires, value)
        self._guard = threading.Lock()
        self._seen: tuple[object, float] | None = None  # (version, when read)

    def version(self) -> object | None:
        """The version in the cache (0 when never bumped); None when it cannot be read."""
        now = time.monotonic()
        seen = self._seen
        if seen is not None and now - seen[1] < self.poll:
            return seen[0]
        try:
            value = _client().get(cache.make_and_validate_key(self.version_key))
            version: object = int(value) if value is not None else 0
        except Exception:  # the cache down must not stop anything: read the database
            logger.warning("version %s unreadable; reading the database", self.version_key)
            return None
        self._seen = (version, now)
        return version

    def get(self, name: str, load: Callable[[], T], *, copy: Callable[[T], T] | None = None) -> T:
        """``load()``, or this process's copy of it while current; inside a transaction,
        always ``load()``. ``copy``: how to hand out a stored value (a fresh object per
        caller, when callers may change it)."""
        if connection.in_atomic_block:
            return load()
        version = self.version()
        if version is None:
            return load()
        now = time.monotonic()
        hit = self.store.get(name)
        if hit is not None and hit[0] == version and hit[1] > now:
            return copy(hit[2]) if copy else hit[2]
        value = load()  # read after the version: a change committed meanwhile bumps it again
        if value is not None:
            with self._guard:
                self.store[name] = (version, now + self.ttl, copy(value) if copy else value)
        return value

    def drop(self) -> None:
        """Forget this process's copies now."""
        with self._guard:
            self.store.clear()
            self._seen = None

    def bump(self) -> None:
        """Drop this process's copies and move the version: every process reloads."""
        self.drop()
        try:
            cache.incr(self.version_key)
        except ValueError:
            cache.add(self.version_key, 1, timeout=None)
        except Exception:  # the cache down: copies expire within the TTL
            logger.warning("version %s not bumped; copies expire within the TTL", self.version_key)

    def bump_on_commit(self) -> None:
        """Drop this process's copies now, and move the version once the change commits."""
        self.drop()
        transaction.on_commit(self.bump)
