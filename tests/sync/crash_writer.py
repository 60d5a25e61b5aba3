"""The writer the crash test kills: ``python -m tests.sync.crash_writer FILE ROWS``.

Loops forever: each transaction bumps a counter, writes ROWS rows tagged with the new
value and appends one outbox event carrying it, with small random pauses inside the
transaction so that a SIGKILL lands mid-transaction. It prints ``begin N`` before
and ``commit N`` after each transaction, flushed, so the test knows where it died.
"""
from __future__ import annotations

import random
import sys
import time

from sync.store import Migrations, Store, append_event

migrations = Migrations("crashtest")


@migrations.add("0001_counter_and_items")
def _tables(db) -> None:
    db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)")
    db.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
    db.execute("CREATE TABLE items (n INTEGER NOT NULL, k INTEGER NOT NULL, filler TEXT NOT NULL, "
               "PRIMARY KEY (n, k))")


def main(path: str, rows: int) -> None:
    rng = random.Random()
    store = Store(path, [migrations])
    with store.atomic() as db:
        # Checkpoint often, so kills also land while the WAL is copied into the file.
        db.execute("PRAGMA wal_autocheckpoint = 16")
    while True:
        with store.atomic() as db:
            n = db.execute("SELECT n FROM counter").fetchone()[0] + 1
            print("begin", n, flush=True)
            for k in range(rows):
                # Up to a few pages per row: a transaction spans many WAL frames.
                db.execute("INSERT INTO items (n, k, filler) VALUES (?, ?, ?)",
                           [n, k, "x" * rng.randint(0, 6000)])
                if rng.random() < 0.5:
                    time.sleep(rng.random() * 0.002)
            append_event(db, aggregate_type="counter", aggregate_id="1", event_type="incremented",
                         payload={"n": n})
            db.execute("UPDATE counter SET n = ? WHERE id = 1", [n])
        print("commit", n, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
