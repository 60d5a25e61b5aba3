"""Door and board alarms from lockers (:data:`sync.lifecycle.ALARMS`) for the grid
worker: what is open at her lockers, what to do about each in plain words, marking
one handled, and the alarms that concern a case (for its timeline).

An alarm is a pushed event like any other (aggregate ``door``, ``opening``, ``board``
or, for ``pickup_held`` and ``no_other_door``, the ``case``); ``door_left_open`` counts
once it reached the worker (``level: worker``; the earlier prompt is the locker's own
screen and voice). An alarm is open until a worker of the locker's grid marks it
handled, which is recorded as an event too: aggregate ``alarm``, id the alarm event's
UUID, type ``alarm_handled``, device ``console:<username>`` (only the console's count:
an appliance cannot close an alarm). A ``board_offline`` closes by itself when the
same board comes back (``board_online``).

Which case an alarm concerns: the ``case`` its payload names (``door_left_open``,
``closed_in_flight``); for an opening's alarm (``jammed``, ``not_opened``) the case its
``unlock_commanded`` named; for a door's (``forced``) the case whose paper the door
held then (the door's last ``reserved``/``occupied`` before it, not freed since); for
a board's, the cases its doors held then.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from sync import lifecycle
from sync.server.content import now
from sync.server.models import EventRow
from sync.server.worker.cases import GRIDS, event_time
from sync.wire import Event

EVENTS = EventRow.__table__
AGGREGATE, HANDLED = "alarm", "alarm_handled"
CONSOLE = "console:"
NAMESPACE = uuid.UUID("5d1b7c0e-2f4a-4b8e-9c3d-a1a2a3a4a5a6")
HOLDING = ("reserved", "occupied")  # door events that put a case's paper behind the door
EMPTYING = ("free", "door_emptied")  # … and those that take it away
# what each alarm is and what the worker does about it, in plain words: (zh, en)
ADVICE: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "door_left_open": (("柜门长时间未关", "Door left open"),
                       ("柜门开着已超过 5 分钟。请到柜前看一看里面的材料还在不在，再把门关好；如果关不上，请联系维修。",
                        "The door has stood open for over 5 minutes. Go to the locker, check the papers are "
                        "still inside, and shut it; if it will not shut, call for repair.")),
    "forced": (("柜门被异常打开", "Door opened without a command"),
               ("没有人扫码开门，这扇门却被打开了，可能被撬或锁坏了。请尽快到现场查看柜内材料是否缺少；如有丢失，请报告社区并联系居民。",
                "Nobody scanned a code, yet this door opened: it may have been forced or its lock is broken. "
                "Go and check nothing is missing; if something is, tell the community office and the resident.")),
    "jammed": (("柜门卡住打不开", "Door jammed"),
               ("开门指令已送到，门却没有打开。这扇门已自动停用，材料会改放到其他空门。请到现场检查门锁，修好后请维护人员恢复使用。",
                "The unlock was acknowledged but the door never opened. It is out of service now and the papers "
                "go to another free door. Check the lock on site; once fixed, a maintainer puts it back in "
                "service.")),
    "not_opened": (("柜门没有打开", "Door did not open"),
                   ("开门指令没有得到回应，门没有打开。请到现场查看这扇门和锁控板的连线；居民或您可能需要重新开门。",
                    "The unlock got no answer and the door stayed shut. Check the door and its lock board's "
                    "cable on site; the resident or you may need to open it again.")),
    "closed_in_flight": (("开门时柜门被关上", "Door shut while opening"),
                         ("发出开门指令时门是开着的，随后被关上，无法确认这次开门是否完成。请打开这扇门，核对里面的材料。",
                          "The door stood open when the unlock went out and was shut before it was seen to work: "
                          "nobody knows whether the opening happened. Open the door and check what is inside.")),
    "board_offline": (("锁控板离线", "Lock board offline"),
                      ("一块锁控板没有响应，它管的柜门暂时开不了。请检查云柜的电源和通信线；恢复在线后这条提醒会自动消失。",
                       "A lock board does not answer: its doors cannot open for now. Check the locker's power and "
                       "its cable; this alarm goes away by itself once the board is back.")),
    "unlock_unknown": (("开门结果未知", "Unlock outcome unknown"),
                       ("开门指令发出后没有收到回复，不确定门有没有打开过。请到现场看一看这扇门。",
                        "No reply came to the unlock: nobody knows whether the door opened. Look at it on site.")),
    "pickup_held": (("取件待核实", "Pickup to check"),
                    ("居民取件时，柜门可能在没人看到的情况下打开过，原取件码已作废。请打开这扇门核实结果是否还在，再决定是否给居民新的取件码。",
                     "During a pickup the door may have opened unwatched; the pickup code is spent. Open the door, "
                     "check whether the result is still there, then decide on a new code for the resident.")),
    "no_other_door": (("没有可换的空门", "No other free door"),
                      ("柜门卡住后，云柜里没有别的空门可以改放材料。请到现场处理，并联系居民说明情况。",
                       "A door jammed and no other door was free for the papers. Deal with it on site and tell "
                       "the resident.")),
}


@dataclass
class Alarm:
    id: str  # the alarm event's UUID
    kind: str  # its event type, one of lifecycle.ALARMS
    locker: str  # device id
    locker_name: str
    aggregate_type: str
    aggregate_id: str
    at: datetime
    detail: dict[str, Any]
    seq: int
    cases: list[str] = field(default_factory=list)
    handled_by: str | None = None  # a worker's username
    handled_at: datetime | None = None
    recovered: bool = False  # a board back online

    @property
    def title(self) -> tuple[str, str]:
        return ADVICE.get(self.kind, ((self.kind, self.kind), ("", "")))[0]

    @property
    def advice(self) -> tuple[str, str]:
        return ADVICE.get(self.kind, ((self.kind, self.kind), ("请到现场查看。", "Look on site.")))[1]

    @property
    def door(self) -> Any:
        return self.detail.get("door")

    @property
    def board(self) -> str | None:
        return self.aggregate_id if self.aggregate_type == "board" else None

    @property
    def is_open(self) -> bool:
        return self.handled_by is None and not self.recovered


def _is_alarm(row: Any) -> bool:
    if row.event_type not in lifecycle.ALARMS or row.status != "applied":
        return False
    if row.event_type == "door_left_open":  # the prompt level is the locker's own screen and voice
        return isinstance(row.payload, dict) and row.payload.get("level") == "worker"
    return True


def _alarm(row: Any, names: dict[str, str]) -> Alarm:
    detail = {k: v for k, v in (row.payload or {}).items() if k not in ("code", "short")} \
        if isinstance(row.payload, dict) else {}
    return Alarm(row.id, row.event_type, row.device_id, names.get(row.device_id, row.device_id), row.aggregate_type,
                 row.aggregate_id, event_time(row.created_at, row.received_at), detail, row.server_seq)


def _locker_names(conn: Connection, devices: set[str]) -> dict[str, str]:
    if not devices:
        return {}
    return {r.device_id: r.name for r in conn.execute(select(GRIDS.c.device_id, GRIDS.c.name)
                                                       .where(GRIDS.c.device_id.in_(sorted(devices))))}


def _alarm_rows(conn: Connection, devices: list[str]) -> list[Any]:
    if not devices:
        return []
    return [row for row in conn.execute(select(EVENTS).where(
        EVENTS.c.device_id.in_(devices), EVENTS.c.event_type.in_(sorted(lifecycle.ALARMS)),
        EVENTS.c.aggregate_type.in_(["door", "opening", "board", lifecycle.CASE])).order_by(EVENTS.c.server_seq))
        if _is_alarm(row)]


def _settle(conn: Connection, alarms: list[Alarm]) -> None:
    """Fill in who handled each (the console's marks only) and boards back online."""
    if not alarms:
        return
    ids = [a.id for a in alarms]
    for start in range(0, len(ids), 500):
        for row in conn.execute(select(EVENTS.c.aggregate_id, EVENTS.c.device_id, EVENTS.c.payload,
                                       EVENTS.c.received_at).where(
                EVENTS.c.aggregate_type == AGGREGATE, EVENTS.c.event_type == HANDLED,
                EVENTS.c.aggregate_id.in_(ids[start:start + 500]), EVENTS.c.device_id.startswith(CONSOLE))
                .order_by(EVENTS.c.server_seq)):
            for alarm in alarms:
                if alarm.id == row.aggregate_id and alarm.handled_by is None:
                    alarm.handled_by = row.device_id[len(CONSOLE):]
                    alarm.handled_at = row.received_at
    boards = [a for a in alarms if a.kind == "board_offline"]
    for alarm in boards:
        back = conn.execute(select(EVENTS.c.server_seq).where(
            EVENTS.c.device_id == alarm.locker, EVENTS.c.aggregate_type == "board",
            EVENTS.c.aggregate_id == alarm.aggregate_id, EVENTS.c.event_type == "board_online",
            EVENTS.c.server_seq > alarm.seq).limit(1)).first()
        alarm.recovered = back is not None


def _occupant(conn: Connection, device: str, door_id: str, before: int) -> str | None:
    """The case whose paper door ``door_id`` of ``device`` held just before event ``before``."""
    row = conn.execute(select(EVENTS.c.event_type, EVENTS.c.payload).where(
        EVENTS.c.device_id == device, EVENTS.c.aggregate_type == "door", EVENTS.c.aggregate_id == door_id,
        EVENTS.c.event_type.in_(HOLDING + EMPTYING), EVENTS.c.server_seq < before)
        .order_by(EVENTS.c.server_seq.desc()).limit(1)).first()
    if row is None or row.event_type not in HOLDING or not isinstance(row.payload, dict):
        return None
    return str(row.payload["case"]) if row.payload.get("case") else None


def concerned_cases(conn: Connection, alarm: Alarm) -> list[str]:
    """The cases an alarm concerns (see the module's docstring)."""
    if alarm.aggregate_type == lifecycle.CASE:
        return [alarm.aggregate_id]
    named = alarm.detail.get("case")
    if named:
        return [str(named)]
    if alarm.aggregate_type == "opening":
        payload = conn.execute(select(EVENTS.c.payload).where(
            EVENTS.c.device_id == alarm.locker, EVENTS.c.aggregate_type == "opening",
            EVENTS.c.aggregate_id == alarm.aggregate_id, EVENTS.c.event_type == "unlock_commanded")
            .order_by(EVENTS.c.server_seq.desc()).limit(1)).scalar()
        return [str(payload["case"])] if isinstance(payload, dict) and payload.get("case") else []
    if alarm.aggregate_type == "door":
        if alarm.detail.get("opening") is not None:  # unlock_unknown, door_left_open of an opening
            found = concerned_cases(conn, Alarm(alarm.id, alarm.kind, alarm.locker, alarm.locker_name, "opening",
                                                str(alarm.detail["opening"]), alarm.at, {}, alarm.seq))
            if found:
                return found
        occupant = _occupant(conn, alarm.locker, alarm.aggregate_id, alarm.seq)
        return [occupant] if occupant else []
    if alarm.aggregate_type == "board":
        doors = [r.aggregate_id for r in conn.execute(select(EVENTS.c.aggregate_id).where(
            EVENTS.c.device_id == alarm.locker, EVENTS.c.aggregate_type == "door",
            EVENTS.c.aggregate_id.startswith(f"{alarm.aggregate_id}/", autoescape=True),
            EVENTS.c.server_seq < alarm.seq).distinct())]
        return sorted({c for c in (_occupant(conn, alarm.locker, d, alarm.seq) for d in doors) if c})
    return []


def open_alarms(conn: Connection, lockers: list[str]) -> list[Alarm]:
    """The open alarms of these lockers, oldest first, each with the cases it concerns."""
    names = _locker_names(conn, set(lockers))
    alarms = [_alarm(row, names) for row in _alarm_rows(conn, lockers)]
    _settle(conn, alarms)
    shown = [a for a in alarms if a.is_open]
    for alarm in shown:
        alarm.cases = concerned_cases(conn, alarm)
    return shown


def for_case(conn: Connection, case_id: str) -> list[Alarm]:
    """The door and board alarms that concern a case (handled or not), in arrival order.
    (Its own case-event alarms, pickup_held and no_other_door, are on its timeline already.)"""
    devices = sorted({r.device_id for r in conn.execute(select(EVENTS.c.device_id).where(
        EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id == case_id).distinct())
        if not r.device_id.startswith(CONSOLE)})
    rows = [row for row in _alarm_rows(conn, devices) if row.aggregate_type != lifecycle.CASE]
    if not rows:
        return []
    # the doors that ever held its paper and the openings made for it: only alarms there may concern it
    named = EVENTS.c.payload["case"].as_string() == case_id
    held = {(r.device_id, r.aggregate_id) for r in conn.execute(select(EVENTS.c.device_id, EVENTS.c.aggregate_id).where(
        EVENTS.c.device_id.in_(devices), EVENTS.c.aggregate_type == "door", EVENTS.c.event_type.in_(HOLDING), named))}
    openings = {(r.device_id, r.aggregate_id) for r in conn.execute(select(EVENTS.c.device_id, EVENTS.c.aggregate_id)
                                                                     .where(EVENTS.c.device_id.in_(devices),
                                                                            EVENTS.c.aggregate_type == "opening",
                                                                            EVENTS.c.event_type == "unlock_commanded",
                                                                            named))}
    names = _locker_names(conn, set(devices))
    found = []
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        where = (row.device_id, row.aggregate_id)
        on_board = row.aggregate_type == "board" and any(
            device == row.device_id and door.startswith(f"{row.aggregate_id}/") for device, door in held)
        maybe = (str(payload.get("case") or "") == case_id or on_board
                 or (row.aggregate_type == "opening" and where in openings)
                 or (row.aggregate_type == "door" and (where in held or (row.device_id, str(payload.get("opening")))
                                                       in openings)))
        if not maybe:
            continue
        alarm = _alarm(row, names)
        alarm.cases = concerned_cases(conn, alarm)
        if case_id in alarm.cases:
            found.append(alarm)
    _settle(conn, found)
    return found


class AlarmNotFound(LookupError):
    """No such alarm at a locker of hers (the same answer for both: ids do not leak)."""


def handle(conn: Connection, alarm_id: str, lockers: set[str], *, username: str, note: str = "") -> bool:
    """Mark the alarm handled by ``username``; False when it was already. Raises
    :class:`AlarmNotFound` unless it is an alarm of one of ``lockers``."""
    row = conn.execute(select(EVENTS).where(EVENTS.c.id == alarm_id)).first()
    if row is None or row.device_id not in lockers or not _is_alarm(row) or \
            row.aggregate_type not in ("door", "opening", "board", lifecycle.CASE):
        raise AlarmNotFound(alarm_id)
    if conn.execute(select(EVENTS.c.id).where(EVENTS.c.aggregate_type == AGGREGATE, EVENTS.c.aggregate_id == alarm_id,
                                              EVENTS.c.device_id.startswith(CONSOLE))).first() is not None:
        return False
    from sync.server.worker.actions import actor

    payload = {"worker": username, "alarm": row.event_type, "locker": row.device_id, "by": "console",
               **({"note": note.strip()[:500]} if note.strip() else {})}
    event = Event(id=uuid.uuid5(NAMESPACE, f"handled:{alarm_id}"),  # two workers at once: one mark
                  seq=max(1, time.time_ns() // 1_000_000), aggregate_type=AGGREGATE, aggregate_id=alarm_id,
                  event_type=HANDLED, payload=payload, created_at=now().isoformat(timespec="milliseconds"))
    try:
        with conn.begin_nested():
            conn.execute(EVENTS.insert().values(
                id=str(event.id), device_id=actor(username), device_seq=event.seq, aggregate_type=AGGREGATE,
                aggregate_id=alarm_id, event_type=HANDLED, payload=payload, created_at=event.created_at,
                received_at=now(), digest=event.digest(), status="applied", reason=None, case_state=None))
    except IntegrityError:
        return False
    return True


__all__ = ["ADVICE", "Alarm", "AlarmNotFound", "concerned_cases", "for_case", "handle", "open_alarms"]
