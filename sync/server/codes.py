"""Worker and booking codes, signed with the server's key (:mod:`sync.server.keys`).

The code format and the signed text are the locker's (:mod:`locker.codes`, which
checks them offline): ``LKR1.<kind>.<payload>.<signature>``, the payload naming the
issuer ``i`` = the server key id, so a locker whose ``[locker] server_key_id`` is
that id, and whose ``trusted-keys.json`` holds the server's key (the sync agent
writes it), accepts them. This module signs through :func:`locker.codes.sign` so
the two can never drift apart.

    with engine.begin() as conn:
        text = issue_worker_code(conn, "w-li", ["locker-01"], minutes=15)

A worker code is short-lived: a locker refuses one valid for longer than its
``[locker] worker_code_max_minutes`` (30 by default).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from locker import codes as locker_codes
from sync.server import keys

WORKER_MINUTES = 15
MAX_WORKER_MINUTES = 1440
BOOKING_DAYS = 14


def issue_worker_code(conn: Connection, worker: str, lockers: Sequence[str], minutes: int = WORKER_MINUTES, *,
                      key_id: str = keys.DEFAULT_KEY_ID, now: float | None = None) -> str:
    """A worker code for ``worker`` opening ``lockers``, valid ``minutes`` from now."""
    if not worker.strip():
        raise ValueError("a worker code needs a worker id")
    if not lockers or not all(locker.strip() for locker in lockers):
        raise ValueError("a worker code needs at least one locker id")
    if not 1 <= minutes <= MAX_WORKER_MINUTES:
        raise ValueError(f"minutes {minutes}: between 1 and {MAX_WORKER_MINUTES}")
    return locker_codes.worker_code(keys.ensure(conn, key_id), worker, list(lockers), minutes=minutes, now=now)


def issue_booking_code(conn: Connection, case: str, size: str, locker: str = "", *, days: int = BOOKING_DAYS,
                       key_id: str = keys.DEFAULT_KEY_ID, now: float | None = None) -> str:
    """A booking code for a resident's deposit of ``case`` into a door of ``size``
    (S, M, L) at ``locker`` ("" for any locker), valid ``days``."""
    if not case.strip():
        raise ValueError("a booking code needs a case id")
    if size not in locker_codes.SIZES:
        raise ValueError(f"size {size!r}: one of {', '.join(locker_codes.SIZES)}")
    if days < 1:
        raise ValueError(f"days {days}: at least 1")
    return locker_codes.booking_code(keys.ensure(conn, key_id), case, size, locker=locker, days=days, now=now)
