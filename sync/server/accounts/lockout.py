"""Lock-out after repeated failed sign-ins, per account and per client address.

Each failure is a row in ``login_failures`` (shared by every server process through
the database). A subject with ``limit`` failures inside ``window`` is locked until
``lock`` after its latest failure; while locked even the right password is refused,
so guessing on gains nothing. A successful sign-in clears its account's failures.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from sync.server.accounts.models import LoginFailure
from sync.server.content import aware, now

FAILURES = LoginFailure.__table__


@dataclass(frozen=True)
class LockoutPolicy:
    account_limit: int = 5  # failures of one username
    address_limit: int = 20  # failures from one client address (many usernames)
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


def account_subject(username: str) -> str:
    return f"account:{username.strip().lower()[:180]}"


def address_subject(address: str | None) -> str:
    return f"ip:{address or 'unknown'}"


def locked_until(conn: Connection, subject: str, limit: int, policy: LockoutPolicy) -> datetime | None:
    """When ``subject``'s lock ends (None: not locked)."""
    since = now() - policy.window
    count, latest = conn.execute(select(func.count(), func.max(FAILURES.c.at))
                                 .where(FAILURES.c.subject == subject, FAILURES.c.at > since)).one()
    if count < limit or latest is None:
        return None
    until = aware(latest) + policy.lock
    return until if until > now() else None


def record_failure(conn: Connection, *subjects: str) -> None:
    stamp = now()
    conn.execute(FAILURES.insert(), [{"subject": s, "at": stamp} for s in subjects])


def clear(conn: Connection, subject: str) -> None:
    conn.execute(delete(FAILURES).where(FAILURES.c.subject == subject))


def forget_old(conn: Connection, policy: LockoutPolicy) -> None:
    """Drop failures too old to count towards any lock."""
    conn.execute(delete(FAILURES).where(FAILURES.c.at < now() - policy.window - policy.lock))
