"""Applying a pushed batch of events, idempotently by event UUID.

One transaction per batch:

1. Events whose UUID the server already holds: with the same content (digest) they
   get the answer they got the first time, and nothing changes; with other content
   the whole batch is refused (:class:`Conflicts`, a 409 naming the UUIDs) and
   nothing of it is applied.
2. New events are applied in the batch's order. A case event must be a transition
   the lifecycle (:mod:`sync.lifecycle`) allows from the case's current state; one
   that is not is stored as *quarantined* with its reason and the current state,
   and the events behind it are applied all the same. A case note (the locker's
   ``pickup_code_issued``, ``case_moved``, … :data:`sync.lifecycle.CASE_NOTES`) is
   applied without moving the case, and so is a ``created`` for a case that is just
   created (the locker announcing a case the kiosk made). Other aggregates (doors,
   openings, boards, certificates, …) are recorded as they come.
3. Events are inserted with one multi-row statement; cases updated likewise.

On PostgreSQL the case rows a batch touches are locked (``FOR UPDATE``, in key
order) so two server processes applying events of one case queue up. Two batches
creating the same case, or carrying the same new event, race on a unique key: the
loser's transaction fails with an IntegrityError and :func:`apply_batch` runs it
again, when it finds the winner's rows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.exc import IntegrityError

from appliance.journal import log_context
from sync import lifecycle
from sync.errors import LifecycleError, TransitionRefused
from sync.server import content
from sync.server.content import now
from sync.server.models import Case, EventRow
from sync.server.phone import links as phone_links
from sync.server.worker.ingested import after_decisions
from sync.wire import Event, EventResult

log = logging.getLogger(__name__)
EVENTS = EventRow.__table__
CASES = Case.__table__
ATTEMPTS = 4


class Conflicts(Exception):
    def __init__(self, event_ids: list[str]) -> None:
        self.event_ids = event_ids
        super().__init__(f"{len(event_ids)} event UUID(s) already known with other content: "
                         f"{', '.join(event_ids[:5])}{' …' if len(event_ids) > 5 else ''}")


@dataclass
class Device:
    device_id: str
    community: str


@dataclass
class _Cases:
    state: dict[str, str | None] = field(default_factory=dict)  # case id -> state now
    community: dict[str, str] = field(default_factory=dict)
    existing: set[str] = field(default_factory=set)
    touched: dict[str, str] = field(default_factory=dict)  # case id -> last event id
    creators: dict[str, set[str]] = field(default_factory=dict)  # case id -> devices whose created was applied


def apply_batch(engine: Engine, device: Device, events: list[Event]) -> list[EventResult]:
    with log_context(device=device.device_id):  # every line of the batch: journalctl KIOSK_DEVICE=…
        for attempt in range(ATTEMPTS):
            try:
                with engine.begin() as conn:
                    return _apply(conn, device, events)
            except IntegrityError:
                if attempt == ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")


def _case_of(aggregate_type: str, aggregate_id: str, payload: Any) -> str | None:
    """The case an event is about, for the log's KIOSK_CASE: a case's own events, and a
    locker's openings and doors that name theirs."""
    if aggregate_type == lifecycle.CASE:
        return aggregate_id
    case = payload.get("case") if isinstance(payload, dict) else None
    return case if isinstance(case, str) and case else None


def _apply(conn: Connection, device: Device, events: list[Event]) -> list[EventResult]:
    digests = [event.digest() for event in events]
    ids = [str(event.id) for event in events]
    known = {row.id: row for row in conn.execute(
        select(EVENTS.c.id, EVENTS.c.digest, EVENTS.c.status, EVENTS.c.reason, EVENTS.c.case_state)
        .where(EVENTS.c.id.in_(ids)))}
    conflicts, seen = [], {}
    for event_id, digest in zip(ids, digests):
        first = known[event_id].digest if event_id in known else seen.get(event_id)
        if first is not None and first != digest:
            conflicts.append(event_id)
        seen.setdefault(event_id, digest)
    if conflicts:
        raise Conflicts(sorted(set(conflicts)))

    cases = _load_cases(conn, {e.aggregate_id for e, i in zip(events, ids)
                               if e.aggregate_type == lifecycle.CASE and i not in known})
    received = now()
    results: dict[str, EventResult] = {i: _stored(row) for i, row in known.items()}
    rows: list[dict[str, Any]] = []
    for event, event_id, digest in zip(events, ids, digests):
        if event_id in results:
            continue
        result = _decide(event, event_id, device, cases)
        results[event_id] = result
        if result.status == "applied" and event.event_type == lifecycle.CaseState.CREATED.value:
            cases.creators.setdefault(event.aggregate_id, set()).add(device.device_id)
        rows.append({
            "id": event_id, "device_id": device.device_id, "device_seq": event.seq,
            "aggregate_type": event.aggregate_type, "aggregate_id": event.aggregate_id,
            "event_type": event.event_type, "payload": event.payload, "created_at": event.created_at,
            "received_at": received, "digest": digest, "status": result.status,
            "reason": result.reason, "case_state": result.case_state})
    after_decisions(conn, device, rows, results)  # console reconciliation, residents' notifications
    phone_links.after_events(conn, device, rows)  # numbers a kiosk confirmed with an ID card
    if rows:
        conn.execute(EVENTS.insert(), rows)
    _save_cases(conn, cases, received)
    _apply_overtaken(conn, device, {r["aggregate_id"] for r in rows if r["status"] == "applied"
                                    and r["aggregate_type"] == lifecycle.CASE}, received)
    _phone_found_late(conn, {r["aggregate_id"] for r in rows if r["reason"] == "already created"})
    for row in rows:
        if row["status"] == "quarantined":  # ids and reasons only: payloads may be personal
            with log_context(case=_case_of(row["aggregate_type"], row["aggregate_id"], row["payload"])):
                log.warning("quarantined event %s from %s: %s", row["id"], device.device_id, row["reason"])
    return [results[event_id] for event_id in ids]


def _apply_overtaken(conn: Connection, device: Device, case_ids: set[str], when: Any) -> None:
    """Events of this appliance quarantined because they overtook another of its own
    (kiosk and locker push from two queues as one device: the kiosk's ``evaluated``
    may arrive before the locker's ``picked_up``), decided again, in the server's
    order, once one of its events moved the case."""
    if not case_ids:
        return
    waiting = conn.execute(select(EVENTS).where(
        EVENTS.c.device_id == device.device_id, EVENTS.c.status == "quarantined",
        EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id.in_(sorted(case_ids)))
        .order_by(EVENTS.c.server_seq)).mappings().all()
    if not waiting:
        return
    cases = _load_cases(conn, {row["aggregate_id"] for row in waiting})
    for row in waiting:
        event = Event(id=row["id"], seq=row["device_seq"], aggregate_type=row["aggregate_type"],
                      aggregate_id=row["aggregate_id"], event_type=row["event_type"], payload=row["payload"],
                      created_at=row["created_at"])
        result = _decide(event, row["id"], device, cases)
        if result.status != "applied":
            continue
        conn.execute(EVENTS.update().where(EVENTS.c.id == row["id"])
                     .values(status=result.status, reason=result.reason, case_state=result.case_state))
        _save_cases(conn, cases, when)
        cases.existing.update(cases.touched)
        cases.touched.clear()
        with log_context(case=row["aggregate_id"]):
            log.info("event %s of %s applied once the event it overtook arrived", row["id"], device.device_id)
        after_decisions(conn, device, [{**dict(row), "status": result.status, "reason": result.reason,
                                        "case_state": result.case_state}], {row["id"]: result})


def _phone_found_late(conn: Connection, case_ids: set[str]) -> None:
    """A case announced again (the kiosk's ``created``, naming the resident, after the
    locker's events): its notifications stored as failed for want of a phone number
    are sent after all, now that the resident is known."""
    if not case_ids:
        return
    from sync.server.notify import residents
    from sync.server.notify.models import Notification

    table = Notification.__table__
    for case_id in sorted(case_ids):
        waiting = [row.id for row in conn.execute(select(table.c.id).where(
            table.c.case_id == case_id, table.c.state == "failed", table.c.phone == ""))]
        if not waiting:
            continue
        phone = residents.of_case(conn, case_id).phone
        if phone:
            conn.execute(table.update().where(table.c.id.in_(waiting)).values(
                phone=phone, state="pending", last_error=None, next_attempt_at=now()))
            with log_context(case=case_id):
                log.info("case %s: %d notification(s) had no phone number; the resident is known now", case_id,
                         len(waiting))


def _stored(row: Any) -> EventResult:
    return EventResult(id=row.id, status=row.status, reason=row.reason, case_state=row.case_state)


def _load_cases(conn: Connection, case_ids: set[str]) -> _Cases:
    cases = _Cases()
    if not case_ids:
        return cases
    query = select(CASES.c.id, CASES.c.state, CASES.c.community).where(CASES.c.id.in_(sorted(case_ids)))
    if conn.dialect.name == "postgresql":
        query = query.order_by(CASES.c.id).with_for_update()
    for row in conn.execute(query):
        cases.state[row.id], cases.community[row.id] = row.state, row.community
        cases.existing.add(row.id)
    for case_id, device_id in conn.execute(select(EVENTS.c.aggregate_id, EVENTS.c.device_id).where(
            EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id.in_(sorted(cases.existing)),
            EVENTS.c.event_type == lifecycle.CaseState.CREATED.value, EVENTS.c.status == "applied")):
        cases.creators.setdefault(case_id, set()).add(device_id)
    return cases


def _decide(event: Event, event_id: str, device: Device, cases: _Cases) -> EventResult:
    if event.aggregate_type != lifecycle.CASE:
        return EventResult(id=event_id, status="applied")
    case_id = event.aggregate_id
    current = cases.state.get(case_id)
    owner = cases.community.get(case_id, device.community)
    if owner != device.community:
        return EventResult(id=event_id, status="quarantined", case_state=current,
                           reason=f"case belongs to another community than device {device.device_id}'s")
    if lifecycle.is_note(event.event_type):
        return EventResult(id=event_id, status="applied", case_state=current)
    if lifecycle.is_announced_again(current, event.event_type) or (
            event.event_type == lifecycle.CaseState.CREATED.value and device.device_id in cases.creators.get(case_id, ())):
        # the same appliance's other agent (kiosk and locker: two queues) announcing a case it made, however late
        return EventResult(id=event_id, status="applied", case_state=current, reason="already created")
    if lifecycle.implies_review(current, event.event_type):
        # the worker reviewed on paper and deposited directly: applied, the review implied (in the timeline)
        worker = str((event.payload or {}).get("worker") or "?")
        cases.state[case_id], cases.community[case_id] = lifecycle.CaseState.RESULT_DEPOSITED.value, owner
        cases.touched[case_id] = event_id
        return EventResult(id=event_id, status="applied", case_state=lifecycle.CaseState.RESULT_DEPOSITED.value,
                           reason=f"implied review: worker {worker} reviewed on paper (the case was {current})")
    try:
        target = lifecycle.next_state(current, event.event_type)
    except TransitionRefused as exc:
        return EventResult(id=event_id, status="quarantined", case_state=current,
                           reason=f"transition refused: {exc.message} ({exc.hint})")
    except LifecycleError as exc:
        return EventResult(id=event_id, status="quarantined", case_state=current,
                           reason=f"not a case event: {exc.message}")
    cases.state[case_id], cases.community[case_id] = target.value, owner
    cases.touched[case_id] = event_id
    return EventResult(id=event_id, status="applied", case_state=target.value)


def _save_cases(conn: Connection, cases: _Cases, when: Any) -> None:
    new = [{"id": c, "community": cases.community[c], "state": cases.state[c], "updated_at": when,
            "last_event_id": e} for c, e in cases.touched.items() if c not in cases.existing]
    changed = [{"case_id": c, "new_state": cases.state[c], "when": when, "event": e}
               for c, e in cases.touched.items() if c in cases.existing]
    if new:
        conn.execute(CASES.insert(), new)
    if changed:
        conn.execute(CASES.update().where(CASES.c.id == bindparam("case_id"))
                     .values(state=bindparam("new_state"), updated_at=bindparam("when"),
                             last_event_id=bindparam("event")), changed)
    content.publish_cases(conn, set(cases.touched))  # the appliances of the case's community pull its state
