"""What the worker console shows: her lockers and what waits in them, a case with
its timeline, and who may see what (a worker sees only her grid, department staff
only their department's cases: :mod:`sync.server.worker.scope`).

A case is in a grid when a locker of that grid (``locker_grids``) holds or held its
paper, or when its household record names that grid.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, select

from sync import lifecycle
from sync.server.content import aware, now
from sync.server.models import Case, EventRow
from sync.server.notify import outbox, residents
from sync.server.worker import materials, scope
from sync.server.worker.models import LockerGrid, Rating

EVENTS = EventRow.__table__
CASES = Case.__table__
GRIDS = LockerGrid.__table__
RATINGS = Rating.__table__
S = lifecycle.CaseState
# where a case's paper is put into a locker: the event's device is the locker
PLACING = (S.MATERIALS_DEPOSITED.value, S.RESULT_DEPOSITED.value, S.EXPIRED.value)
WAITING = {S.MATERIALS_DEPOSITED.value: ("待取件", "to collect"),
           S.EXPIRED.value: ("逾期未领，请取回", "not picked up: take it back"),
           S.RESULT_DEPOSITED.value: ("待居民领取", "waiting for the resident")}
DAY = 86400.0


def colour(waited_s: float) -> str:
    """How urgent a wait looks: ``fresh`` (under a day), ``waiting`` (under three), ``late``."""
    if waited_s < DAY:
        return "fresh"
    return "waiting" if waited_s < 3 * DAY else "late"


def waited_text(waited_s: float) -> tuple[str, str]:
    minutes = int(waited_s // 60)
    if minutes < 60:
        return f"{minutes} 分钟", f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} 小时", f"{hours} h"
    return f"{hours // 24} 天", f"{hours // 24} days"


def event_time(created_at: str, received_at: Any) -> datetime:
    """When it happened: the appliance's clock if readable, else when the server got it."""
    try:
        moment = datetime.fromisoformat(created_at)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return aware(received_at)


@dataclass
class Waiting:
    case_id: str
    state: str
    since: datetime
    waited_s: float
    door: Any = None

    @property
    def colour(self) -> str:
        return colour(self.waited_s)

    @property
    def waited(self) -> tuple[str, str]:
        return waited_text(self.waited_s)

    @property
    def what(self) -> tuple[str, str]:
        return WAITING.get(self.state, (self.state, self.state))


@dataclass
class Locker:
    device_id: str
    name: str
    grid: str
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def to_collect(self) -> int:
        return sum(1 for w in self.waiting if w.state != S.RESULT_DEPOSITED.value)


def set_locker_grid(conn: Connection, device_id: str, community: str, grid: str, name: str = "") -> None:
    row = {"community": community, "grid": grid, "name": name or device_id, "updated_at": now()}
    if conn.execute(GRIDS.update().where(GRIDS.c.device_id == device_id).values(**row)).rowcount == 0:
        conn.execute(GRIDS.insert().values(device_id=device_id, **row))


def lockers_in(conn: Connection, community: str, grid: str | None) -> list[Locker]:
    query = select(GRIDS).where(GRIDS.c.community == community).order_by(GRIDS.c.name, GRIDS.c.device_id)
    if grid is not None:
        query = query.where(GRIDS.c.grid == grid)
    return [Locker(r.device_id, r.name, r.grid) for r in conn.execute(query)]


def placements(conn: Connection, case_ids: list[str]) -> dict[str, Any]:
    """Each case's last placing event (deposit into a locker, or expiry there)."""
    found: dict[str, Any] = {}
    if not case_ids:
        return found
    for row in conn.execute(select(EVENTS.c.aggregate_id, EVENTS.c.device_id, EVENTS.c.event_type,
                                   EVENTS.c.payload, EVENTS.c.created_at, EVENTS.c.received_at)
                            .where(EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id.in_(case_ids),
                                   EVENTS.c.event_type.in_(PLACING), EVENTS.c.status == "applied")
                            .order_by(EVENTS.c.server_seq)):
        found[row.aggregate_id] = row
    return found


def my_lockers(conn: Connection, community: str, grid: str | None, at: datetime | None = None) -> list[Locker]:
    """Her lockers, each with what waits in it, oldest first."""
    at = at or now()
    lockers = {locker.device_id: locker for locker in lockers_in(conn, community, grid)}
    if not lockers:
        return []
    cases = conn.execute(select(CASES.c.id, CASES.c.state).where(
        CASES.c.community == community, CASES.c.state.in_(list(WAITING)))).all()
    placed = placements(conn, [c.id for c in cases])
    for case in cases:
        where = placed.get(case.id)
        if where is None or where.device_id not in lockers:
            continue
        since = event_time(where.created_at, where.received_at)
        door = where.payload.get("door") if isinstance(where.payload, dict) else None
        lockers[where.device_id].waiting.append(
            Waiting(case.id, case.state, since, max(0.0, (at - since).total_seconds()), door))
    for locker in lockers.values():
        locker.waiting.sort(key=lambda w: (w.state == S.RESULT_DEPOSITED.value, w.since))
    return list(lockers.values())


def grid_lockers(conn: Connection, case_id: str) -> set[str]:
    """The lockers that held the case's paper at some time."""
    return {r.device_id for r in conn.execute(select(EVENTS.c.device_id).where(
        EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id == case_id,
        EVENTS.c.event_type.in_(PLACING)).distinct())}


def may_see(conn: Connection, account: Any, case_id: str, mine: set[str] | None = None) -> bool:
    """An admin: any case of her community; a worker: a case of her grid (``mine``:
    her lockers, when the caller knows them already); department staff: a case of
    their department (:mod:`sync.server.worker.scope`). Anyone else: none."""
    case = conn.execute(select(CASES.c.community).where(CASES.c.id == case_id)).first()
    if case is None:
        return False
    if account.role == "staff":
        if not account.department or (account.community and case.community != account.community):
            return False
        return case_id in scope.department_cases(conn, scope.department_of(conn, account), [case_id])
    if case.community != account.community:
        return False
    if account.role == "admin":
        return True
    if account.role != "worker" or not account.grid:
        return False
    if mine is None:
        mine = {locker.device_id for locker in lockers_in(conn, account.community, account.grid)}
    if grid_lockers(conn, case_id) & mine:
        return True
    return residents.of_case(conn, case_id).grid == account.grid


def my_cases(conn: Connection, account: Any) -> list[Any]:
    """Cases of her grid that are hers to work on (collected … returned)."""
    open_states = [S.COLLECTED.value, S.IN_REVIEW.value, S.APPROVED.value, S.RETURNED_WITH_REASONS.value]
    rows = conn.execute(select(CASES.c.id, CASES.c.state, CASES.c.updated_at).where(
        CASES.c.community == account.community, CASES.c.state.in_(open_states))
        .order_by(CASES.c.updated_at)).all()
    mine = {locker.device_id for locker in lockers_in(conn, account.community, account.grid)}
    return [r for r in rows if may_see(conn, account, r.id, mine)]


@dataclass
class TimelineEntry:
    at: datetime
    event_type: str
    by: str  # the device id, console:<username> or web:rating
    status: str
    reason: str | None
    detail: dict[str, Any]
    by_name: tuple[str, str] = ("", "")  # who, for a person: (Chinese, English)
    seq: int = 0  # the server's arrival order
    alarm: Any = None  # a door or board alarm concerning the case (sync.server.worker.alarms.Alarm)


def actor_name(by: str, lockers: dict[str, str]) -> tuple[str, str]:
    if by.startswith("console:"):
        return f"网格员 {by[8:]}", f"worker {by[8:]}"
    if by == "web:rating":
        return "居民（评价链接）", "resident (rating link)"
    if by in lockers:
        return lockers[by], lockers[by]
    return by, by


SECRET = ("code", "short")  # pickup codes are bearer tokens: never on a page


def timeline(conn: Connection, case_id: str) -> list[TimelineEntry]:
    rows = conn.execute(select(EVENTS).where(EVENTS.c.aggregate_type == lifecycle.CASE,
                                             EVENTS.c.aggregate_id == case_id).order_by(EVENTS.c.server_seq))
    return [TimelineEntry(event_time(r.created_at, r.received_at), r.event_type, r.device_id, r.status, r.reason,
                          {k: v for k, v in (r.payload or {}).items() if k not in SECRET
                           and k not in ("resident_id", "resident_name", "phone")}, seq=r.server_seq)
            for r in rows]


def with_alarms(conn: Connection, case_id: str, entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """The case's timeline with the door and board alarms that concern it, in arrival order."""
    from sync.server.worker import alarms

    found = [TimelineEntry(a.at, a.kind, a.locker, "alarm", None, a.detail, seq=a.seq, alarm=a)
             for a in alarms.for_case(conn, case_id)]
    return sorted(entries + found, key=lambda e: e.seq)


@dataclass
class NotificationView:
    kind: str
    state: str
    attempts: int
    last_error: str | None
    text: str  # with the pickup code and the rating link's token hidden: bearer secrets
    case_id: str | None = None
    created_at: datetime | None = None
    phone: str = ""  # masked


def shown_notifications(rows: list[Any]) -> list[NotificationView]:
    shown = []
    for row in rows:
        text = re.sub(r"/rate/[A-Za-z0-9_-]+", "/rate/…", row.text)
        short = (row.data or {}).get("short") if isinstance(row.data, dict) else None
        if short:
            text = text.replace(str(short), "•" * len(str(short)))
        phone = row.phone[:3] + "****" + row.phone[-4:] if len(row.phone) >= 11 else "*" * len(row.phone)
        shown.append(NotificationView(row.kind, row.state, row.attempts, row.last_error, text, row.case_id,
                                      aware(row.created_at), phone))
    return shown


def community_notifications(conn: Connection, community: str, state: str | None = None,
                            limit: int = 200) -> list[NotificationView]:
    """The community's latest notifications (``state``: only those), newest first."""
    n = outbox.NOTIFICATIONS.c
    query = select(outbox.NOTIFICATIONS).where(n.community == community).order_by(n.id.desc()).limit(limit)
    if state:
        query = query.where(n.state == state)
    return shown_notifications(conn.execute(query).all())


@dataclass
class CaseView:
    id: str
    state: str
    community: str
    resident: residents.Resident
    timeline: list[TimelineEntry]
    notifications: list[Any]
    rating: Any
    locker: str | None
    door: Any
    actions: list[str]
    kind: str | None = None  # "report": a resident's 报事
    report: dict[str, Any] = field(default_factory=dict)  # its place and text
    materials: list[Any] = field(default_factory=list)  # uploaded attachments (sync.server.worker.materials)
    callback_phone: str = ""  # a call-back case's number, in full, for its department's staff to ring


def case_view(conn: Connection, case_id: str) -> CaseView | None:
    from sync.server.worker.actions import available, kind_of

    case = conn.execute(select(CASES).where(CASES.c.id == case_id)).first()
    if case is None:
        return None
    where = placements(conn, [case_id]).get(case_id)
    rating = conn.execute(select(RATINGS).where(RATINGS.c.case_id == case_id)).first()
    entries = with_alarms(conn, case_id, timeline(conn, case_id))
    names = {r.device_id: r.name for r in conn.execute(select(GRIDS.c.device_id, GRIDS.c.name).where(
        GRIDS.c.device_id.in_({e.by for e in entries})))}
    for entry in entries:
        entry.by_name = actor_name(entry.by, names)
        if entry.by.startswith("console:") and entry.detail.get("staff"):  # department staff, not a worker
            entry.by_name = f"科室工作人员 {entry.by[8:]}", f"department staff {entry.by[8:]}"
        elif entry.detail.get("call_id") and entry.by not in names and ":" not in entry.by:
            entry.by_name = "视频咨询", "video consultation"  # the server, for a call (a call-back, a follow-up)
    locker = names.get(where.device_id, where.device_id) if where else None
    kind = kind_of(conn, case_id)
    created = next((e.detail for e in entries if e.event_type == S.CREATED.value and e.status == "applied"), {})
    resident = residents.of_case(conn, case_id)
    resident.department = scope.department_names(conn).get(resident.department, resident.department)
    if not resident.item:  # a call-back or a follow-up from a video call: what it is about
        context = created.get("context") if isinstance(created.get("context"), dict) else {}
        resident.item = str(created.get("request") or context.get("topic") or "")
    return CaseView(case.id, case.state, case.community, resident, entries,
                    shown_notifications(outbox.for_case(conn, case_id)), rating, locker,
                    (where.payload or {}).get("door") if where else None, available(case.state, kind), kind,
                    {"place": created.get("place", ""), "text": created.get("report", "")} if kind else {},
                    materials.of_case(conn, case_id))
