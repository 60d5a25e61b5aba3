"""The quarantine: events appliances pushed that the server could not apply, with the
reason, for the admin of the community whose appliance sent them.

- *retry* decides the event again against the case as it is now (sync.server.ingest):
  a transition the lifecycle now allows is applied (the event row becomes
  ``applied``, the case moves, and the device gets that answer if it pushes the event
  again); one still refused stays quarantined with the new reason.
- *dismiss* hides it from the list; the event row keeps its answer.

Each action is recorded in ``quarantine_reviews`` with who did it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select, update

from appliance.privacy import mask_text
from sync.server.admin.models import QuarantineReview
from sync.server.content import now
from sync.server.models import Device as DeviceRow, EventRow
from sync.wire import Event

EVENTS, DEVICES, REVIEWS = EventRow.__table__, DeviceRow.__table__, QuarantineReview.__table__


class NotInQuarantine(LookupError):
    """No quarantined event by that id in this community (or already dismissed)."""


@dataclass(frozen=True)
class Outcome:
    applied: bool
    state: str | None
    reason: str | None


def quarantined_query(community: str) -> Select:
    """Quarantined, not dismissed events of the community's devices, oldest first."""
    dismissed = select(REVIEWS.c.event_id).where(REVIEWS.c.action == "dismissed")
    return (select(EVENTS.c.id, EVENTS.c.device_id, EVENTS.c.aggregate_type, EVENTS.c.aggregate_id,
                   EVENTS.c.event_type, EVENTS.c.payload, EVENTS.c.created_at, EVENTS.c.received_at,
                   EVENTS.c.reason, EVENTS.c.case_state)
            .join(DEVICES, DEVICES.c.device_id == EVENTS.c.device_id)
            .where(EVENTS.c.status == "quarantined", DEVICES.c.community == community,
                   EVENTS.c.id.not_in(dismissed))
            .order_by(EVENTS.c.server_seq))


def listing(conn: Connection, community: str, limit: int = 200) -> list[dict[str, Any]]:
    rows = conn.execute(quarantined_query(community).limit(limit)).mappings().all()
    # payloads may hold personal data: ID numbers masked for the page
    return [{**row, "payload_text": mask_text(_compact(row["payload"]))} for row in rows]


def _compact(payload: Any) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False, sort_keys=True, indent=1)[:2000]


def _row(conn: Connection, community: str, event_id: str):
    row = conn.execute(quarantined_query(community).where(EVENTS.c.id == event_id)
                       .add_columns(EVENTS.c.device_seq, EVENTS.c.digest)).mappings().first()
    if row is None:
        raise NotInQuarantine(f"没有待处理的事件 {event_id} / no quarantined event {event_id} in this community")
    return row


def _review(conn: Connection, event_id: str, action: str, by: str, note: str | None) -> None:
    values = {"action": action, "by_account": by, "at": now(), "note": note}
    if conn.execute(update(REVIEWS).where(REVIEWS.c.event_id == event_id).values(**values)).rowcount == 0:
        conn.execute(REVIEWS.insert().values(event_id=event_id, **values))


def dismiss(conn: Connection, community: str, event_id: str, by: str) -> None:
    _row(conn, community, event_id)
    _review(conn, event_id, "dismissed", by, None)


def retry(conn: Connection, community: str, event_id: str, by: str) -> Outcome:
    """Decide the event again now, as the ingest would (in ``conn``'s transaction)."""
    from sync.server import ingest

    row = _row(conn, community, event_id)
    device_community = conn.execute(select(DEVICES.c.community)
                                    .where(DEVICES.c.device_id == row["device_id"])).scalar_one()
    device = ingest.Device(row["device_id"], device_community)
    event = Event(id=row["id"], seq=row["device_seq"], aggregate_type=row["aggregate_type"],
                  aggregate_id=row["aggregate_id"], event_type=row["event_type"], payload=row["payload"],
                  created_at=row["created_at"])
    cases = ingest._load_cases(conn, {row["aggregate_id"]} if row["aggregate_type"] == "case" else set())
    result = ingest._decide(event, row["id"], device, cases)
    conn.execute(update(EVENTS).where(EVENTS.c.id == row["id"])
                 .values(status=result.status, reason=result.reason, case_state=result.case_state))
    if result.status == "applied":
        ingest._save_cases(conn, cases, now())
        hook = getattr(ingest, "after_decisions", None)  # the worker console's follow-ups, as for a push
        if hook is not None:
            hook(conn, device, [{**dict(row), "status": result.status, "reason": result.reason,
                                 "case_state": result.case_state}], {row["id"]: result})
    _review(conn, row["id"], "retried", by, result.reason)
    return Outcome(applied=result.status == "applied", state=result.case_state, reason=result.reason)
