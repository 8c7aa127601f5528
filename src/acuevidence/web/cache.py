"""Results cached by evidence version and parameters.

Every page and API answer is a pure function of the registry content (its evidence version) and the
request parameters, so it can be computed once and served from memory until the registry changes.

* :class:`EvidenceState` holds the current snapshot of the registry (evidence version + typed
  tables). Recomputing the version means reading every table, so the state only checks a cheap
  *stamp* of the database (the last audited change and the build time) at most every
  ``stamp_ttl`` seconds; writes made through the web app call :meth:`EvidenceState.invalidate`
  and are visible at once, writes from elsewhere (the CLI) within ``stamp_ttl``.
* :class:`ResultCache` is a bounded LRU map from ``(evidence version, kind, parameters)`` to a
  computed value. One lock per key keeps a slow computation (the full report takes seconds) from
  running twice when requests arrive together; entries of older versions age out.
* :func:`settle_gc`: the snapshot and the cached answers are long-lived and hold many objects
  (pandas frames); a full cyclic garbage collection walks them all and stalls every request for
  100 ms or more (the p99 latency). After new long-lived state is built the app collects once
  and *freezes* the survivors (``gc.freeze``), so later collections skip them.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..evidence.schema import changes, meta
from ..evidence.store import Registry, evidence_version

__all__ = ["EvidenceState", "ResultCache", "Snapshot", "settle_gc"]

# Distinct parameter combinations kept per process: every page of the site for a few versions.
DEFAULT_MAX_ENTRIES = 2048
# At most one collect-and-freeze per this many seconds (each costs one full collection).
SETTLE_INTERVAL = 5.0
_settle_lock = threading.Lock()
_last_settle = [0.0]


def settle_gc(force: bool = False) -> bool:
    """Collect garbage, then freeze what survives out of the cyclic GC's reach.

    ``force`` (a new snapshot: the old one's objects must be freed first) also unfreezes before
    collecting. Returns whether it ran (it is skipped within :data:`SETTLE_INTERVAL` seconds).
    """
    now = time.monotonic()
    if not force and now - _last_settle[0] < SETTLE_INTERVAL:
        return False
    if not _settle_lock.acquire(blocking=False):
        return False
    try:
        if force:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
        _last_settle[0] = time.monotonic()
        return True
    finally:
        _settle_lock.release()


@dataclass(frozen=True)
class Snapshot:
    """The registry content one answer is computed from."""

    version: str
    tables: dict[str, list[dict[str, Any]]]
    stamp: tuple[Any, ...]


class EvidenceState:
    """The current registry snapshot, refreshed when the database changes."""

    def __init__(self, registry: Registry, *, stamp_ttl: float = 1.0, settle: bool = False):
        self.registry = registry
        self.stamp_ttl = float(stamp_ttl)
        self.settle = settle
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked = 0.0

    def _stamp(self) -> tuple[Any, ...]:
        with self.registry.engine.connect() as conn:
            last, n = conn.execute(select(func.max(changes.c.change_id),
                                          func.count(changes.c.change_id))).one()
            built = conn.execute(select(meta.c.value).where(meta.c.key == "built_at")).scalar()
        return (last, n, built)

    def fresh(self) -> Snapshot | None:
        """The snapshot if it was checked within ``stamp_ttl`` seconds (no database access)."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.stamp_ttl:
            return snap
        return None

    def snapshot(self) -> Snapshot:
        """The current snapshot (reads the database only when the stamp changed)."""
        snap = self.fresh()
        if snap is not None:
            return snap
        with self._lock:
            snap = self.fresh()
            if snap is not None:
                return snap
            stamp = self._stamp()
            if self._snapshot is None or self._snapshot.stamp != stamp:
                tables = self.registry.all_tables()
                self._snapshot = Snapshot(evidence_version(tables), tables, stamp)
                if self.settle:
                    settle_gc(force=True)
            self._checked = time.monotonic()
            return self._snapshot

    def invalidate(self) -> None:
        """Forget the stamp check time, so the next request re-reads the stamp."""
        with self._lock:
            self._checked = 0.0


class ResultCache:
    """Bounded LRU cache keyed by ``(version, kind, params)`` with one compute lock per key."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES):
        self.max_entries = int(max_entries)
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(version: str, kind: str, params: dict[str, Any] | None = None) -> Hashable:
        items = tuple(sorted((k, _freeze(v)) for k, v in (params or {}).items()))
        return (version, kind, items)

    def peek(self, key: Hashable) -> Any | None:
        """The cached value or None (counts a hit)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        return None

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any],
                       before_compute: Callable[[], None] | None = None) -> tuple[Any, bool]:
        """Return ``(value, hit)``; ``before_compute`` runs only on a miss (the rate limit)."""
        value = self.peek(key)
        if value is not None:
            return value, True
        with self._lock:
            klock = self._key_locks.setdefault(key, threading.Lock())
        try:
            with klock:
                value = self.peek(key)
                if value is not None:
                    return value, True
                if before_compute is not None:
                    before_compute()
                value = compute()
                with self._lock:
                    self.misses += 1
                    self._data[key] = value
                    self._data.move_to_end(key)
                    while len(self._data) > self.max_entries:
                        self._data.popitem(last=False)
                return value, False
        finally:
            with self._lock:
                if self._key_locks.get(key) is klock and not klock.locked():
                    del self._key_locks[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        return len(self._data)


def _freeze(v: Any) -> Hashable:
    if isinstance(v, list | tuple):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    return v
