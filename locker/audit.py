"""The audit log: append-only and hash-chained.

Each entry's ``hash`` is SHA-256 of the previous entry's hash and the entry's own
content (seq, time, event, subject, detail as canonical JSON); the first entry
chains to 64 zeros. Triggers refuse UPDATE and DELETE, and anyone who gets round
them (or edits the file) breaks the chain: :func:`verify` recomputes it and names
the first entry that does not hold. Entries are appended inside the same
transaction as the state change they record (:mod:`locker.ledger`).

:func:`verify` and :func:`entries` open the file read-only, so they run beside the
daemon that owns it.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlite_utils import Database

from locker.errors import AuditBroken

GENESIS = "0" * 64


def _digest(prev: str, seq: int, at: str, event: str, subject: str, detail: str) -> str:
    body = json.dumps([seq, at, event, subject, json.loads(detail)], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


def append(db: Database, event: str, subject: str, detail: dict[str, Any] | None = None) -> int:
    """Append one entry inside the caller's transaction; return its seq."""
    row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    body = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = _digest(prev, seq, at, event, subject, body)
    db.execute("INSERT INTO audit (seq, at, event, subject, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
               [seq, at, event, subject, body, prev, digest])
    return seq


def _read_only(path: str | Path) -> sqlite3.Connection:
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True)


def verify(path: str | Path) -> int:
    """Check the whole chain; return how many entries hold, or raise AuditBroken."""
    conn = _read_only(path)
    try:
        count, prev, expected_seq = 0, GENESIS, 1
        for seq, at, event, subject, detail, stored_prev, stored_hash in conn.execute(
                "SELECT seq, at, event, subject, detail, prev, hash FROM audit ORDER BY seq"):
            if seq != expected_seq:
                raise AuditBroken(expected_seq, f"missing (the next entry is {seq}): entries were removed")
            if stored_prev != prev:
                raise AuditBroken(seq, "does not chain to the entry before it: an entry before it was "
                                       "removed, inserted or changed")
            try:
                digest = _digest(prev, seq, at, event, subject, detail)
            except (ValueError, TypeError):
                raise AuditBroken(seq, "its detail is not valid JSON: it was edited") from None
            if digest != stored_hash:
                raise AuditBroken(seq, f"its content does not match its hash: it was edited ({event} {subject})")
            prev, expected_seq, count = stored_hash, seq + 1, count + 1
        return count
    finally:
        conn.close()


def entries(path: str | Path, *, after: int = 0, last: int | None = None) -> list[dict[str, Any]]:
    conn = _read_only(path)
    try:
        if last is not None:
            rows = conn.execute("SELECT seq, at, event, subject, detail FROM audit ORDER BY seq DESC LIMIT ?",
                                [last]).fetchall()[::-1]
        else:
            rows = conn.execute("SELECT seq, at, event, subject, detail FROM audit WHERE seq > ? ORDER BY seq",
                                [after]).fetchall()
        return [as_dict(row) for row in rows]
    finally:
        conn.close()


def as_dict(row: tuple) -> dict[str, Any]:
    seq, at, event, subject, detail = row
    return {"seq": seq, "at": at, "event": event, "subject": subject, "detail": json.loads(detail)}


def iter_since(db: Database, after: int) -> Iterator[dict[str, Any]]:
    for row in db.execute("SELECT seq, at, event, subject, detail FROM audit WHERE seq > ? ORDER BY seq",
                          [after]).fetchall():
        yield as_dict(row)
