"""What a grid worker does to a case from the console, as case events.

Each action is a lifecycle transition (:mod:`sync.lifecycle`), checked against the
case's state under a row lock (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite) and recorded in the same ``events`` table appliances push to, as device
``console:<username>``, so the case's timeline, statistics and the quarantine see
console and locker alike. A refused action raises :class:`sync.errors.TransitionRefused`
naming the current state, and nothing is written.

==========  ========================  ==============================================
action      moves the case to         notes
==========  ========================  ==============================================
collect     collected                 she took the paper out by hand, or the locker
                                      has not synced yet: when the locker's own
                                      ``collected`` arrives later it is reconciled,
                                      not applied twice (:mod:`.ingested`)
review      in_review
approve     approved
return      returned_with_reasons     needs at least one reason
==========  ========================  ==============================================

A resident's report (报事, :data:`sync.lifecycle.REPORT_TRANSITIONS`) has its own two:
``start`` (in_review: she is handling it) and ``resolve`` (closed, with a note to the
resident, which the console sends through the Notifier).

Depositing the result is the locker's: she opens a door with her worker QR and the
locker records ``result_deposited`` and issues the pickup code.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, select, update

from sync import lifecycle
from sync.errors import TransitionRefused
from sync.server import content
from sync.server.content import now
from sync.server.models import Case, EventRow
from sync.wire import Event

EVENTS = EventRow.__table__
CASES = Case.__table__
S = lifecycle.CaseState
ACTIONS: dict[str, lifecycle.CaseState] = {
    "collect": S.COLLECTED, "review": S.IN_REVIEW, "approve": S.APPROVED, "return": S.RETURNED_WITH_REASONS,
}
REPORT_ACTIONS: dict[str, lifecycle.CaseState] = {"start": S.IN_REVIEW, "resolve": S.CLOSED}
CONSOLE = "console:"


class CaseNotFound(LookupError):
    pass


def available(state: str | None, kind: str | None = None) -> list[str]:
    """The actions the console offers for a case in ``state`` (``kind``: "report" for a 报事)."""
    table = REPORT_ACTIONS if kind == lifecycle.REPORT else ACTIONS
    return [name for name, target in table.items() if lifecycle.allowed(state, target, kind)]


def kind_of(conn: Connection, case_id: str) -> str | None:
    """"report" for a resident's report (its ``created`` payload says so), else None."""
    payload = conn.execute(select(EVENTS.c.payload).where(
        EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id == case_id,
        EVENTS.c.event_type == S.CREATED.value, EVENTS.c.status == "applied")
        .order_by(EVENTS.c.server_seq).limit(1)).scalar()
    return lifecycle.REPORT if (payload or {}).get("kind") == lifecycle.REPORT else None


def actor(username: str) -> str:
    return f"{CONSOLE}{username}"[:63]


def lock_case(conn: Connection, case_id: str) -> Any:
    query = select(CASES).where(CASES.c.id == case_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise CaseNotFound(case_id)
    return row


def append(conn: Connection, *, case_id: str, event_type: str, by: str, payload: dict[str, Any],
           state: str | None, status: str = "applied", reason: str | None = None) -> str:
    """One event row as if a device had pushed it; returns its UUID."""
    created = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    event = Event(id=uuid.uuid4(), seq=max(1, time.time_ns() // 1_000_000), aggregate_type=lifecycle.CASE,
                  aggregate_id=case_id, event_type=event_type, payload=payload, created_at=created)
    conn.execute(EVENTS.insert().values(
        id=str(event.id), device_id=by, device_seq=event.seq, aggregate_type=event.aggregate_type,
        aggregate_id=case_id, event_type=event_type, payload=payload, created_at=created, received_at=now(),
        digest=event.digest(), status=status, reason=reason, case_state=state))
    return str(event.id)


def transition(conn: Connection, case_id: str, target: lifecycle.CaseState | str, *, by: str,
               payload: dict[str, Any] | None = None, kind: str | None = None) -> str:
    """Move the case to ``target`` (raises TransitionRefused with the current state)."""
    case = lock_case(conn, case_id)
    state = lifecycle.check(case.state, target, kind)
    event_id = append(conn, case_id=case_id, event_type=state.value, by=by, payload=dict(payload or {}),
                      state=state.value)
    conn.execute(update(CASES).where(CASES.c.id == case_id)
                 .values(state=state.value, updated_at=now(), last_event_id=event_id))
    content.publish_cases(conn, [case_id])  # the community's appliances (the kiosk's My progress) pull it
    return event_id


def act(conn: Connection, case_id: str, action: str, *, username: str, reasons: list[str] | None = None,
        note: str = "") -> str:
    """Do a console action on a case; returns the new state."""
    kind = kind_of(conn, case_id)
    table = REPORT_ACTIONS if kind == lifecycle.REPORT else ACTIONS
    if action not in table:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(table)}")
    payload: dict[str, Any] = {"worker": username, "by": "console"}
    if action == "return":
        reasons = [r.strip() for r in (reasons or []) if r and r.strip()]
        if not reasons:
            raise ValueError("退回需要至少一条原因 · a return needs at least one reason")
        payload["reasons"] = reasons
    if action == "resolve" and not 2 <= len(note.strip()) <= 300:
        raise ValueError("请写给居民的处理结果（2 到 300 字） · write the resident what was done (2 to 300 characters)")
    if note.strip():
        payload["note"] = note.strip()[:1000]
    transition(conn, case_id, table[action], by=actor(username), payload=payload, kind=kind)
    return table[action].value


__all__ = ["ACTIONS", "REPORT_ACTIONS", "CaseNotFound", "TransitionRefused", "act", "append", "available", "kind_of", "transition"]
