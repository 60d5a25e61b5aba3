"""What follows when the server has decided a pushed batch (called by
:func:`sync.server.ingest._apply`, in the batch's transaction, before its rows are
written):

- **reconcile** a locker's ``collected`` that arrives after the worker already
  recorded the collection in the console: it is the same fact, so it is stored as
  applied with the reason "reconciled …" and the case's state stays as it is,
  instead of being quarantined as a refused transition (and it is never applied
  twice);
- **notify** the resident: a ``pickup_code_issued`` (the locker's pickup code for a
  deposited result) sends the short code and where; an applied ``picked_up`` sends
  a rating link;
- **store** the rating of an applied ``evaluated`` event from a kiosk.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, select

from appliance.journal import log_context
from sync import lifecycle
from sync.server.models import EventRow
from sync.server.notify import notices
from sync.server.notify.settings import from_env
from sync.server.worker import rating
from sync.server.worker.actions import CONSOLE
from sync.server.worker.models import LockerGrid

log = logging.getLogger(__name__)
EVENTS = EventRow.__table__
GRIDS = LockerGrid.__table__
AFTER_COLLECTED = {s.value for s in (lifecycle.CaseState.COLLECTED, lifecycle.CaseState.IN_REVIEW,
                                     lifecycle.CaseState.APPROVED, lifecycle.CaseState.RETURNED_WITH_REASONS,
                                     lifecycle.CaseState.RESULT_DEPOSITED, lifecycle.CaseState.PICKED_UP,
                                     lifecycle.CaseState.EVALUATED, lifecycle.CaseState.CLOSED)}


def after_decisions(conn: Connection, device: Any, rows: list[dict[str, Any]], results: dict[str, Any]) -> None:
    for row in rows:
        if row["aggregate_type"] != lifecycle.CASE:
            continue
        with log_context(case=row["aggregate_id"]):  # what follows for this case logs with KIOSK_CASE
            _after(conn, device, row, results)


def _after(conn: Connection, device: Any, row: dict[str, Any], results: dict[str, Any]) -> None:
    kind = row["event_type"]
    if kind == "collected" and row["status"] == "quarantined":
        _reconcile_collected(conn, row, results)
    elif kind == "pickup_code_issued":
        _notify_pickup(conn, device, row)
    elif kind == "picked_up" and row["status"] == "applied":
        _send_rating_link(conn, device, row)
    elif kind == "evaluated" and row["status"] == "applied":
        rating.rate_from_kiosk(conn, row["aggregate_id"], row["payload"] or {}, device.community)


def _reconcile_collected(conn: Connection, row: dict[str, Any], results: dict[str, Any]) -> None:
    if row["case_state"] not in AFTER_COLLECTED:
        return
    console = conn.execute(select(EVENTS.c.device_id, EVENTS.c.created_at).where(
        EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id == row["aggregate_id"],
        EVENTS.c.event_type == "collected", EVENTS.c.status == "applied",
        EVENTS.c.device_id.like(f"{CONSOLE}%")).order_by(EVENTS.c.server_seq)).first()
    if console is None:
        return
    row["status"] = "applied"
    row["reason"] = (f"reconciled: already collected in the console by {console.device_id[len(CONSOLE):]} "
                     f"at {console.created_at}; the case stays {row['case_state']}")
    result = results[row["id"]]
    result.status, result.reason, result.case_state = "applied", row["reason"], row["case_state"]


def locker_name(conn: Connection, device_id: str) -> str:
    name = conn.execute(select(GRIDS.c.name).where(GRIDS.c.device_id == device_id)).scalar()
    return name or device_id


def _notify_pickup(conn: Connection, device: Any, row: dict[str, Any]) -> None:
    payload = row["payload"] or {}
    if not payload.get("short"):
        log.warning("pickup_code_issued %s without a short code: nothing to tell the resident", row["id"])
        return
    notices.pickup_ready(conn, event_id=row["id"], case_id=row["aggregate_id"], community=device.community,
                         locker=locker_name(conn, device.device_id), payload=payload)


def _send_rating_link(conn: Connection, device: Any, row: dict[str, Any]) -> None:
    settings = from_env()
    token = rating.new_link(conn, row["aggregate_id"], settings.rating_days)
    notices.rate_service(conn, event_id=row["id"], case_id=row["aggregate_id"], community=device.community,
                         link=f"{settings.public_url}/rate/{token}", settings=settings)
