"""A call's life, in the database (every server process sees the same state)::

    waiting ─┬▶ connected ─▶ ended            (hang-up, time limit, connection lost)
             ├▶ unanswered ─┐                 (nobody answered within the department's timeout)
             ├▶ declined ───┼▶ callback       (the resident left a phone number: a case)
             ├▶ callback ◀──┘
             └▶ ended                         (the resident gave up; the kiosk went away)

Every change is a conditional UPDATE (``WHERE state = 'waiting'``), so of two staff
answering at once on two processes exactly one takes the call. Each function takes a
:class:`Tx` (a connection and the messages to send once it commits) and says what
happened through ``tx.send(target, body)``: ``kiosk:<call>``, ``staff:<account>`` or
``dept:<department>`` (which asks every console and kiosk of the department to read
the queue again).

When a call ends, it becomes an event on the resident's record (department, staff,
start, duration, outcome) through the same events table as everything else; a
call-back request or a follow-up for a grid worker becomes a case (``created``),
through the same lifecycle (:func:`sync.server.ingest.apply_batch`).
"""
from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from appliance.privacy import mask_id_number, mask_text
from sync import lifecycle
from sync.server.content import aware, now
from sync.server.ingest import Conflicts, Device, apply_batch
from sync.server.video import departments, presence
from sync.server.video.errors import BadPhoneNumber, CallNotFound, CallStateError
from sync.server.video.models import CallDecline, VideoCall
from sync.wire import Event

CALLS = VideoCall.__table__
DECLINES = CallDecline.__table__
DEFAULT_CALL_S = 180  # the estimate of a call's length before a department has any
KIOSK_LOST = timedelta(seconds=12)  # a waiting call whose kiosk is gone this long ends
RECONNECT_GRACE = timedelta(seconds=12)  # a connected call survives a side gone this long
ENDED = ("ended", "unanswered", "declined", "callback")
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{9,11}|\d{7,8})$")
NAMESPACE = uuid.UUID("7f1c2d0e-5b7a-4c1e-9a51-3c0de0000001")


@dataclass
class Tx:
    conn: Connection
    messages: list[tuple[str, dict]] = field(default_factory=list)
    after: list[Any] = field(default_factory=list)  # callables run after the commit

    def send(self, target: str, body: dict) -> None:
        self.messages.append((target, body))


@dataclass(frozen=True)
class Staff:
    """The parts of an accounts.Account a call needs."""
    id: int
    name: str
    department: str | None


def mask_context(context: dict | None) -> dict:
    """What a kiosk says of the resident, cut to known fields and masked."""
    context = context or {}
    out: dict[str, str] = {}
    for key in ("resident", "name", "id_number", "case_id", "topic", "phone"):
        value = context.get(key)
        if value is None:
            continue
        value = str(value)[:200]
        if key == "id_number":
            value = mask_id_number(value)
        elif key == "name" and len(value) > 1 and "*" not in value:
            value = value[0] + "*" * (len(value) - 1)
        elif key == "phone" and len(value) >= 7:
            value = value[:3] + "****" + value[-4:]
        else:
            value = mask_text(value)
        out[key] = value
    return out


def get(conn: Connection, call_id: str):
    row = conn.execute(select(CALLS).where(CALLS.c.id == call_id)).first()
    if row is None:
        raise CallNotFound(f"no call {call_id}")
    return row


def place(tx: Tx, device: Device, department: str, context: dict | None) -> dict:
    dept = departments.get(tx.conn, department)
    call_id = str(uuid.uuid4())
    tx.conn.execute(CALLS.insert().values(
        id=call_id, department=dept.key, device_id=device.device_id, community=device.community,
        context=mask_context(context), state="waiting", generation=0, recording=dept.recording,
        created_at=now(), kiosk_seen_at=now()))
    tx.send(f"dept:{dept.key}", {"type": "refresh"})
    return {"call_id": call_id, "department": dept.as_json(), **position(tx.conn, call_id)}


def position(conn: Connection, call_id: str) -> dict:
    """The waiting call's place in its department's queue and an estimated wait."""
    call = get(conn, call_id)
    if call.state != "waiting":
        return {"state": call.state, "position": 0, "wait_s": 0}
    ahead = conn.execute(select(func.count()).select_from(CALLS).where(
        CALLS.c.department == call.department, CALLS.c.state == "waiting",
        CALLS.c.created_at < call.created_at)).scalar_one()
    online = len(presence.ringable(conn, call.department)) + sum(
        1 for s in presence.staff(conn, call.department) if s["presence"] == "busy")
    return {"state": "waiting", "position": ahead + 1, "staff_online": online,
            "wait_s": int(math.ceil((ahead + 1) / max(1, online)) * average_call_s(conn, call.department))
            if ahead else 0}


def average_call_s(conn: Connection, department: str) -> float:
    rows = conn.execute(select(CALLS.c.answered_at, CALLS.c.ended_at).where(
        CALLS.c.department == department, CALLS.c.answered_at.is_not(None), CALLS.c.ended_at.is_not(None))
        .order_by(CALLS.c.ended_at.desc()).limit(20)).all()
    if not rows:
        return DEFAULT_CALL_S
    return sum((aware(r.ended_at) - aware(r.answered_at)).total_seconds() for r in rows) / len(rows)


def queue(conn: Connection, department: str) -> list[dict]:
    """The department's waiting calls, oldest first, with the resident's masked context
    and, when the kiosk named a case, its state."""
    from sync.server.models import Case

    cases = Case.__table__
    out = []
    for row in conn.execute(select(CALLS).where(CALLS.c.department == department, CALLS.c.state == "waiting")
                            .order_by(CALLS.c.created_at)):
        context = dict(row.context or {})
        if context.get("case_id"):
            case = conn.execute(select(cases.c.state).where(cases.c.id == context["case_id"])).first()
            context["case_state"] = case.state if case else "unknown"
        out.append({"call_id": row.id, "community": row.community, "device_id": row.device_id,
                    "context": context, "since": aware(row.created_at).isoformat(),
                    "recording": bool(row.recording)})
    return out


def set_offer(tx: Tx, call_id: str, device_id: str, sdp: str) -> int:
    """The kiosk's (new) offer: stored; a connected call renegotiates with its staff."""
    call = _kiosk_call(tx.conn, call_id, device_id)
    if call.state not in ("waiting", "connected"):
        raise CallStateError(f"call {call_id} is {call.state}")
    generation = call.generation + 1
    tx.conn.execute(update(CALLS).where(CALLS.c.id == call_id).values(offer_sdp=sdp, generation=generation))
    if call.state == "connected":
        tx.send(f"staff:{call.staff_id}", {"type": "offer", "call_id": call_id, "sdp": sdp,
                                           "generation": generation})
    return generation


def take(tx: Tx, call_id: str, staff: Staff) -> dict:
    """The first staff member to answer takes the call; the others stop ringing."""
    call = get(tx.conn, call_id)
    if call.department != staff.department:
        raise CallNotFound(f"no call {call_id} for your department")
    busy = tx.conn.execute(select(CALLS.c.id).where(CALLS.c.staff_id == staff.id,
                                                    CALLS.c.state == "connected")).first()
    if busy is not None:
        raise CallStateError("你已在通话中：先挂断当前通话 / you are in a call: hang it up first")
    won = tx.conn.execute(update(CALLS).where(CALLS.c.id == call_id, CALLS.c.state == "waiting").values(
        state="connected", staff_id=staff.id, answered_at=now(), staff_seen_at=now())).rowcount
    if not won:
        raise CallStateError("这个呼叫已被接听或已结束 / this call was taken by a colleague or has ended")
    tx.send(f"dept:{call.department}", {"type": "refresh"})
    tx.send(f"kiosk:{call_id}", {"type": "answered", "staff": staff.name})
    call = get(tx.conn, call_id)
    return {"call_id": call_id, "context": call.context, "offer": call.offer_sdp,
            "generation": call.generation, "recording": bool(call.recording),
            "department": call.department, "community": call.community,
            "answered_at": aware(call.answered_at).isoformat()}


def set_answer(tx: Tx, call_id: str, staff: Staff, sdp: str, generation: int) -> None:
    call = _staff_call(tx.conn, call_id, staff)
    if call.state != "connected":
        raise CallStateError(f"call {call_id} is {call.state}")
    tx.conn.execute(update(CALLS).where(CALLS.c.id == call_id).values(answer_sdp=sdp))
    tx.send(f"kiosk:{call_id}", {"type": "answer", "sdp": sdp, "generation": generation})


def decline(tx: Tx, call_id: str, staff: Staff) -> str:
    """This staff member stops ringing for the call; with nobody left to ring, the
    kiosk is told and offers a call-back. Returns the call's state."""
    call = get(tx.conn, call_id)
    if call.department != staff.department:
        raise CallNotFound(f"no call {call_id} for your department")
    if call.state != "waiting":
        return call.state
    if not tx.conn.execute(select(DECLINES.c.call_id).where(DECLINES.c.call_id == call_id,
                                                            DECLINES.c.account_id == staff.id)).first():
        tx.conn.execute(DECLINES.insert().values(call_id=call_id, account_id=staff.id, at=now()))
    state = "waiting"
    if not presence.ringable(tx.conn, call.department, call_id):
        state = _finish(tx, call, "declined", "declined")
    tx.send(f"dept:{call.department}", {"type": "refresh"})
    return state


def declined_by(conn: Connection, call_id: str) -> set[int]:
    return {r.account_id for r in conn.execute(select(DECLINES.c.account_id).where(DECLINES.c.call_id == call_id))}


def hang_up(tx: Tx, call_id: str, side: str, reason: str = "hangup", *, device_id: str | None = None,
            staff: Staff | None = None) -> str:
    call = _kiosk_call(tx.conn, call_id, device_id) if side == "kiosk" else _staff_call(tx.conn, call_id, staff)
    if call.state not in ("waiting", "connected"):
        return call.state
    return _finish(tx, call, "ended", f"{side}_{reason}" if reason == "hangup" else reason)


def _finish(tx: Tx, call, state: str, reason: str) -> str:
    done = tx.conn.execute(update(CALLS).where(CALLS.c.id == call.id, CALLS.c.state == call.state).values(
        state=state, ended_at=now(), end_reason=reason)).rowcount
    if not done:
        return get(tx.conn, call.id).state
    body = {"type": state if state != "ended" else "ended", "call_id": call.id, "reason": reason}
    tx.send(f"kiosk:{call.id}", body)
    if call.staff_id is not None:
        tx.send(f"staff:{call.staff_id}", body)
    tx.send(f"dept:{call.department}", {"type": "refresh"})
    tx.after.append(lambda engine, server_id: record_call(engine, server_id, call.id))
    return state


def time_out(tx: Tx) -> None:
    """Waiting calls past their department's answer timeout, and calls whose kiosk or
    staff console has been gone longer than the grace period (any process may run this;
    each change is conditional, so running it twice changes nothing)."""
    at = now()
    rows = tx.conn.execute(select(CALLS, departments.DEPARTMENTS.c.answer_timeout_s)
                           .join(departments.DEPARTMENTS, departments.DEPARTMENTS.c.key == CALLS.c.department)
                           .where(CALLS.c.state.in_(("waiting", "connected")))).all()
    for call in rows:
        kiosk_seen = aware(call.kiosk_seen_at) if call.kiosk_seen_at else None
        staff_seen = aware(call.staff_seen_at) if call.staff_seen_at else None
        if call.state == "waiting":
            if kiosk_seen is None or at - kiosk_seen > KIOSK_LOST:
                _finish(tx, call, "ended", "kiosk_lost")
            elif (at - aware(call.created_at)).total_seconds() > call.answer_timeout_s:
                _finish(tx, call, "unanswered", "unanswered")
        elif kiosk_seen is None or at - kiosk_seen > RECONNECT_GRACE:
            _finish(tx, call, "ended", "kiosk_lost")
        elif staff_seen is None or at - staff_seen > RECONNECT_GRACE:
            _finish(tx, call, "ended", "staff_lost")


def side_seen(conn: Connection, call_ids: list[str], side: str, *, gone: bool = False) -> None:
    column = CALLS.c.kiosk_seen_at if side == "kiosk" else CALLS.c.staff_seen_at
    if call_ids:
        conn.execute(update(CALLS).where(CALLS.c.id.in_(call_ids), CALLS.c.state.in_(("waiting", "connected")))
                     .values({column.name: None if gone else now()}))


def callback(tx: Tx, call_id: str, device_id: str, phone: str, server_id: str) -> str:
    """The resident leaves a phone number: a case for the department to call back."""
    call = _kiosk_call(tx.conn, call_id, device_id)
    digits = re.sub(r"[\s-]", "", phone or "")
    if not PHONE.match(digits):
        raise BadPhoneNumber("请输入11位手机号或带区号的电话号码 / enter an 11-digit mobile number "
                             "or a phone number with its area code")
    if call.state not in ("waiting", "unanswered", "declined"):
        raise CallStateError(f"call {call_id} is {call.state}: a call-back is for a call nobody answered")
    case_id = f"VC-{call.id[:8]}"
    tx.conn.execute(update(CALLS).where(CALLS.c.id == call.id).values(
        state="callback", case_id=case_id, ended_at=call.ended_at or now(),
        end_reason=call.end_reason or "callback"))
    tx.send(f"dept:{call.department}", {"type": "refresh"})
    payload = {"kind": "callback", "department": call.department, "call_id": call.id, "phone": digits,
               "context": call.context, "requested_at": now().isoformat()}
    tx.after.append(lambda engine, _sid: _new_case(engine, server_id, call.community, case_id, payload))
    if call.state == "waiting":
        tx.after.append(lambda engine, sid: record_call(engine, sid, call.id))
    return case_id


def note(tx: Tx, call_id: str, staff: Staff, text: str, follow_up: str | None, server_id: str) -> str | None:
    """The staff's note after a call, and when needed a follow-up case for a grid worker."""
    call = _staff_call(tx.conn, call_id, staff)
    text = (text or "").strip()[:4000]
    case_id = call.case_id
    values: dict[str, Any] = {"note": mask_text(text)}
    if follow_up and follow_up.strip() and not case_id:
        case_id = f"VF-{call.id[:8]}"
        values["case_id"] = case_id
        payload = {"kind": "follow_up", "for": "grid_worker", "department": call.department, "call_id": call.id,
                   "request": mask_text(follow_up.strip()[:2000]), "context": call.context,
                   "staff": staff.name}
        tx.after.append(lambda engine, _sid: _new_case(engine, server_id, call.community, case_id, payload))
    tx.conn.execute(update(CALLS).where(CALLS.c.id == call_id).values(**values))
    return case_id if "case_id" in values else None


def _kiosk_call(conn: Connection, call_id: str, device_id: str | None):
    call = get(conn, call_id)
    if call.device_id != device_id:
        raise CallNotFound(f"no call {call_id} from device {device_id}")
    return call


def _staff_call(conn: Connection, call_id: str, staff: Staff | None):
    call = get(conn, call_id)
    if staff is None or call.staff_id != staff.id:
        raise CallNotFound(f"no call {call_id} of yours")
    return call


def _event(aggregate_type: str, aggregate_id: str, event_type: str, payload: dict, key: str) -> Event:
    return Event(id=uuid.uuid5(NAMESPACE, key), seq=1, aggregate_type=aggregate_type,
                 aggregate_id=aggregate_id, event_type=event_type, payload=payload,
                 created_at=now().isoformat(timespec="milliseconds"))


def _new_case(engine: Engine, server_id: str, community: str, case_id: str, payload: dict) -> None:
    try:
        apply_batch(engine, Device(server_id, community),
                    [_event(lifecycle.CASE, case_id, lifecycle.CaseState.CREATED.value, payload, f"case:{case_id}")])
    except Conflicts:  # made once already (a retried request): the first one stands
        pass


def record_call(engine: Engine, server_id: str, call_id: str) -> None:
    """The call as an event on the resident's record (idempotent: one event per call)."""
    from sqlalchemy import column, table

    accounts = table("accounts", column("id"), column("name"), column("username"))
    with engine.connect() as conn:
        call = get(conn, call_id)
        staff = (conn.execute(select(accounts.c.name, accounts.c.username).where(accounts.c.id == call.staff_id))
                 .first() if call.staff_id is not None else None)
    started = aware(call.answered_at) if call.answered_at else None
    ended = aware(call.ended_at) if call.ended_at else now()
    payload = {"call_id": call.id, "department": call.department, "device_id": call.device_id,
               "staff": staff.name if staff else None, "staff_username": staff.username if staff else None,
               "requested_at": aware(call.created_at).isoformat(),
               "started_at": started.isoformat() if started else None,
               "duration_s": round((ended - started).total_seconds(), 1) if started else 0,
               "outcome": call.state, "reason": call.end_reason, "recorded": bool(call.recording)}
    resident = (call.context or {}).get("resident") or f"kiosk:{call.device_id}"
    try:
        apply_batch(engine, Device(server_id, call.community),
                    [_event("resident", resident, "video_call", payload, f"call:{call.id}")])
    except Conflicts:  # recorded once already: the first one stands
        pass
