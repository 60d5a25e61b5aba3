"""Store: events appended per second, one event per transaction, FULL vs NORMAL vs bare sqlite3.

Each variant commits one outbox event per transaction, the way a door or case event
is written. The Store's writer always runs ``synchronous=FULL`` (see
sync/store/database.py); the NORMAL figure, from a subclass, shows what that costs,
and the bare sqlite3 loop (same journal mode, same synchronous, same row) shows what
the Store itself adds. The files live under ``var/`` on the checkout's own
filesystem: /tmp may be a tmpfs, where fsync is free and FULL would look free too.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from bench.figures import Figure, percentile
from sync.store import Store, append_event

ROOT = Path(__file__).resolve().parent.parent
WINDOW_S = 0.7  # per variant per round; rounds alternate the variants against drift
ROUNDS = 3
PAYLOAD = {"locker": "L1", "door": 7, "by": "pickup", "case": "c-000123"}


class NormalStore(Store):
    SYNCHRONOUS = "NORMAL"  # for this measurement only


def _store_appender(store: Store) -> Callable[[], None]:
    def append() -> None:
        with store.atomic() as db:
            append_event(db, aggregate_type="door", aggregate_id="L1-7", event_type="opened",
                         payload=PAYLOAD)
    return append


def _bare_appender(conn: sqlite3.Connection) -> Callable[[], None]:
    seq = iter(range(1, 1 << 62))

    def append() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO outbox (id, seq, aggregate_type, aggregate_id, event_type, payload, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [str(uuid.uuid4()), next(seq), "door", "L1-7", "opened", json.dumps(PAYLOAD),
                      datetime.now(timezone.utc).isoformat()])
        conn.execute("COMMIT")
    return append


def _bare(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE outbox (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, "
                 "aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, event_type TEXT NOT NULL, "
                 "payload TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT, "
                 "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)")
    return conn


def _window(append: Callable[[], None], latencies: list[float]) -> float:
    """Append for WINDOW_S; the rate in events/s. Latencies in ms are collected too."""
    count, started = 0, time.perf_counter()
    deadline = started + WINDOW_S
    while True:
        t0 = time.perf_counter()
        append()
        t1 = time.perf_counter()
        latencies.append((t1 - t0) * 1000)
        count += 1
        if t1 >= deadline and count >= 20:
            return count / (t1 - started)


def _filesystem(path: Path) -> str:
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                _, point, fstype, *_ = line.split()
                if str(path).startswith(point) and len(point) > len(best):
                    best, kind = point, fstype
    except OSError:
        pass
    return kind


def run() -> list[Figure]:
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-store-", dir=var))
    try:
        stores = {"FULL": Store(folder / "full.db"), "NORMAL": NormalStore(folder / "normal.db")}
        bares = {"FULL": _bare(folder / "bare-full.db", "FULL"),
                 "NORMAL": _bare(folder / "bare-normal.db", "NORMAL")}
        try:
            appenders = {("store", s): _store_appender(store) for s, store in stores.items()}
            appenders |= {("bare", s): _bare_appender(conn) for s, conn in bares.items()}
            rates: dict[tuple[str, str], list[float]] = {key: [] for key in appenders}
            latencies: dict[tuple[str, str], list[float]] = {key: [] for key in appenders}
            for _ in range(ROUNDS):
                for key, append in appenders.items():
                    rates[key].append(_window(append, latencies[key]))
        finally:
            for store in stores.values():
                store.close()
            for conn in bares.values():
                conn.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    rate = {key: statistics.median(values) for key, values in rates.items()}
    where = f"{_filesystem(folder)} at {os.path.relpath(var, ROOT)}/"
    return [
        Figure("append_event, 1 event/transaction, synchronous=FULL (the Store)", rate["store", "FULL"],
               "events/s", baseline=rate["bare", "FULL"],
               note=f"baseline: bare sqlite3 insert, WAL, FULL; {where}"),
        Figure("append_event, 1 event/transaction, synchronous=NORMAL", rate["store", "NORMAL"],
               "events/s", baseline=rate["bare", "NORMAL"], note="baseline: bare sqlite3 insert, WAL, NORMAL"),
        Figure("cost of FULL: Store FULL vs Store NORMAL", rate["store", "FULL"], "events/s",
               baseline=rate["store", "NORMAL"], note="ratio = FULL throughput / NORMAL throughput"),
        Figure("commit latency, Store FULL, p50", percentile(latencies["store", "FULL"], 50), "ms",
               baseline=percentile(latencies["bare", "FULL"], 50), note="baseline: bare sqlite3, FULL"),
        Figure("commit latency, Store FULL, p99", percentile(latencies["store", "FULL"], 99), "ms",
               baseline=percentile(latencies["bare", "FULL"], 99), note="baseline: bare sqlite3, FULL"),
    ]
