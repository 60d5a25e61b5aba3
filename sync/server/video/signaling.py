"""The signaling WebSockets: ``/video/ws/kiosk?token=…`` (an enrolled device, with the
token of its call from ``POST /api/v1/video/calls``) and ``/video/ws/staff`` (a staff
console, by its session cookie). JSON messages, one per frame.

Kiosk → server: ``offer`` {sdp} (complete, after ICE gathering: aiortc does not
trickle; a new one renegotiates), ``hangup``, ``ping``.
Server → kiosk: ``queued`` {position, wait_s, staff_online}, ``answered`` {staff},
``answer`` {sdp, generation}, ``unanswered`` / ``declined`` (offer a call-back),
``ended`` {reason}, ``peer_lost`` / ``peer_back`` (the staff's console dropped / came
back), ``pong``, ``error`` {message}.

Console → server: ``presence`` {status}, ``take`` {call_id}, ``decline`` {call_id},
``answer`` {call_id, sdp, generation}, ``hangup`` {call_id}, ``ping``.
Server → console: ``state`` {presence, staff, queue, ring}, ``connected`` {call …,
offer}, ``offer`` (renegotiation), ``ended``, ``peer_lost`` / ``peer_back``,
``pong``, ``error`` {message}.

A client pings every second; a socket silent for ``SILENT_S`` is taken as dropped,
so the other side hears ``peer_lost`` within five seconds of a dead network.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from sync.server.video import calls, presence
from sync.server.video.bus import Hub
from sync.server.video.errors import VideoError
from sync.server.video.tokens import verify

log = logging.getLogger(__name__)
router = APIRouter()
SILENT_S = 3.5
CLOSE_POLICY = 4401  # not allowed: bad token / no session


def hub_of(app) -> Hub:
    return app.state.video_hub


async def _receive(ws: WebSocket) -> dict | None:
    """The next JSON message; None when the socket closed or stayed silent too long."""
    try:
        text = await asyncio.wait_for(ws.receive_text(), SILENT_S)
    except (asyncio.TimeoutError, WebSocketDisconnect, RuntimeError):
        return None
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return {"type": "garbage"}
    return message if isinstance(message, dict) else {"type": "garbage"}


async def _pump(ws: WebSocket, outgoing: asyncio.Queue, handle) -> None:
    """Send what ``outgoing`` holds (after ``handle`` turns it into messages) until the socket closes."""
    while True:
        body = await outgoing.get()
        for message in await handle(body):
            await ws.send_text(json.dumps(message, ensure_ascii=False))


async def _session(ws: WebSocket, outgoing: asyncio.Queue, on_message, on_outgoing) -> None:
    sender = asyncio.create_task(_pump(ws, outgoing, on_outgoing))
    try:
        while not sender.done():
            message = await _receive(ws)
            if message is None:
                return
            if message.get("type") == "ping":
                outgoing.put_nowait({"type": "pong"})
                continue
            try:
                await on_message(message)
            except VideoError as exc:  # every send goes through the one sender task
                outgoing.put_nowait({"type": "error", "message": exc.message})
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender


@router.websocket("/video/ws/kiosk")
async def kiosk_socket(ws: WebSocket, token: str = "") -> None:
    hub = hub_of(ws.app)
    await hub.start()
    try:
        claims = verify(await run_in_threadpool(_server_key, ws.app), token)
        if claims.get("sub") != "kiosk":
            raise VideoError("not a kiosk token")
    except VideoError as exc:
        await ws.close(CLOSE_POLICY, exc.message[:120])
        return
    call_id, device_id = claims["call"], claims["device"]
    call = await hub.read(calls.get, call_id)
    await ws.accept()
    if call.state not in ("waiting", "connected"):
        await ws.send_text(json.dumps({"type": call.state, "reason": call.end_reason}))
        await ws.close()
        return
    outgoing: asyncio.Queue = asyncio.Queue()
    targets = (f"kiosk:{call_id}", f"dept:{call.department}")
    hub.subscribe(outgoing, *targets)
    hub.kiosks[call_id] += 1
    await run_in_threadpool(_touch_side, hub, call_id, "kiosk")
    # read again now that this socket hears every change: what happened before it
    # opened (answered at once, or while the kiosk's network was down) is said again
    call = await hub.read(calls.get, call_id)
    if call.state == "connected":
        outgoing.put_nowait({"type": "answered", "staff": await hub.read(_staff_name, call.staff_id)})
        if call.answer_sdp:
            outgoing.put_nowait({"type": "answer", "sdp": call.answer_sdp, "generation": call.generation})
        if call.staff_id is not None:
            await hub.call(_notify, f"staff:{call.staff_id}", {"type": "peer_back", "call_id": call_id})
    elif call.state != "waiting":
        outgoing.put_nowait({"type": call.state, "call_id": call_id, "reason": call.end_reason})
    outgoing.put_nowait({"type": "refresh"})
    hung_up = False

    async def on_outgoing(body: dict) -> list[dict]:
        if body.get("type") == "refresh":
            found = await hub.read(calls.position, call_id)
            if found["state"] != "waiting":
                return []
            return [{"type": "queued", **{k: found[k] for k in ("position", "wait_s", "staff_online")}}]
        return [body]

    async def on_message(message: dict) -> None:
        nonlocal hung_up
        kind = message.get("type")
        if kind == "offer" and isinstance(message.get("sdp"), str):
            await hub.call(calls.set_offer, call_id, device_id, message["sdp"])
        elif kind == "hangup":
            hung_up = True
            reason = "time_limit" if message.get("reason") == "time_limit" else "hangup"
            await hub.call(calls.hang_up, call_id, "kiosk", reason, device_id=device_id)
        else:
            raise VideoError(f"unknown message {str(kind)[:40]!r}")

    try:
        await _session(ws, outgoing, on_message, on_outgoing)
    finally:
        hub.unsubscribe(outgoing, *targets)
        hub.kiosks[call_id] -= 1
        if hub.kiosks[call_id] <= 0:
            del hub.kiosks[call_id]
            if not hung_up:
                await hub.call(_side_lost, call_id, "kiosk")
        with contextlib.suppress(Exception):
            await ws.close()


@router.websocket("/video/ws/staff")
async def staff_socket(ws: WebSocket) -> None:
    from sync.server.accounts import current

    hub = hub_of(ws.app)
    await hub.start()
    # the session is the accounts' own lookup of the cookie the browser sent with the upgrade
    session = await run_in_threadpool(current, Request({**ws.scope, "type": "http", "method": "GET"}))
    if session is None or session.account.role != "staff" or not session.account.department:
        await ws.close(CLOSE_POLICY, "sign in as department staff first")
        return
    account = session.account
    staff = calls.Staff(account.id, account.name, account.department)
    await ws.accept()
    outgoing: asyncio.Queue = asyncio.Queue()
    targets = (f"staff:{staff.id}", f"dept:{staff.department}")
    hub.subscribe(outgoing, *targets)
    hub.consoles[staff.id] += 1
    active: dict[str, str] = {}  # the call this console is in

    await hub.call(_console_opened, staff.id)
    resumed = await hub.read(_active_call, staff.id)
    if resumed is not None:
        active["id"] = resumed["call_id"]
        hub.staff_calls[resumed["call_id"]] += 1
        await hub.call(_notify, f"kiosk:{resumed['call_id']}", {"type": "peer_back"})
        # the console's peer connection died with its page: the kiosk hears peer_back
        # and makes a fresh offer, which comes as "offer"
        await ws.send_text(json.dumps({"type": "connected", "resumed": True, **resumed, "offer": None},
                                      ensure_ascii=False))
    outgoing.put_nowait({"type": "refresh"})

    async def on_outgoing(body: dict) -> list[dict]:
        if body.get("type") == "refresh":
            return [await hub.read(_console_state, staff)]
        if body.get("type") in ("ended", "unanswered", "declined") and body.get("call_id") == active.get("id"):
            _leave(active.pop("id"))
        return [body]

    def _leave(call_id: str) -> None:
        hub.staff_calls[call_id] -= 1
        if hub.staff_calls[call_id] <= 0:
            del hub.staff_calls[call_id]

    async def on_message(message: dict) -> None:
        kind, call_id = message.get("type"), str(message.get("call_id") or "")
        if kind == "presence":
            await hub.call(_set_presence, staff, str(message.get("status")))
        elif kind == "take":
            taken = await hub.call(calls.take, call_id, staff)
            active["id"] = call_id
            hub.staff_calls[call_id] += 1
            outgoing.put_nowait({"type": "connected", **taken})
        elif kind == "decline":
            await hub.call(calls.decline, call_id, staff)
            outgoing.put_nowait({"type": "refresh"})
        elif kind == "answer" and isinstance(message.get("sdp"), str):
            await hub.call(calls.set_answer, call_id, staff, message["sdp"], int(message.get("generation") or 0))
        elif kind == "hangup":
            await hub.call(calls.hang_up, call_id, "staff", staff=staff)
        else:
            raise VideoError(f"unknown message {str(kind)[:40]!r}")

    try:
        await _session(ws, outgoing, on_message, on_outgoing)
    finally:
        hub.unsubscribe(outgoing, *targets)
        hub.consoles[staff.id] -= 1
        if hub.consoles[staff.id] <= 0:
            del hub.consoles[staff.id]
            await hub.call(_console_closed, staff.id, lambda: hub.consoles.get(staff.id, 0) > 0)
        if "id" in active:
            call_id = active["id"]
            _leave(call_id)
            if call_id not in hub.staff_calls:
                await hub.call(_side_lost, call_id, "staff")
        with contextlib.suppress(Exception):
            await ws.close()


# -- small transactions (run by the hub in a worker thread) -------------------------
def _server_key(app):
    from sync.server import keys

    with app.state.engine.connect() as conn:
        return keys.load(conn, app.state.server_key_id)


def _touch_side(hub: Hub, call_id: str, side: str) -> None:
    with hub.engine.begin() as conn:
        calls.side_seen(conn, [call_id], side)


def _staff_name(conn, account_id: int | None) -> str:
    row = conn.execute(select(presence.ACCOUNTS.c.name).where(presence.ACCOUNTS.c.id == account_id)).first()
    return row.name if row else ""


def _notify(tx: calls.Tx, target: str, body: dict) -> None:
    tx.send(target, body)


def _side_lost(tx: calls.Tx, call_id: str, side: str) -> None:
    """A kiosk or console socket closed without hanging up: the other side hears it
    at once; the call ends if it does not come back within the grace period."""
    call = calls.get(tx.conn, call_id)
    if call.state not in ("waiting", "connected"):
        return
    calls.side_seen(tx.conn, [call_id], side)  # the grace period counts from now: nobody refreshes it
    if call.state == "connected":
        other = f"staff:{call.staff_id}" if side == "kiosk" else f"kiosk:{call_id}"
        tx.send(other, {"type": "peer_lost", "call_id": call_id})


def _console_opened(tx: calls.Tx, account_id: int) -> None:
    presence.set_status(tx.conn, account_id, presence.status_of(tx.conn, account_id)
                        if _has_presence(tx.conn, account_id) else "online")
    _refresh_department(tx, account_id)


def _console_closed(tx: calls.Tx, account_id: int, reopened: Callable[[], bool]) -> None:
    """The last console of ``account_id`` here closed: offline, unless one opened again
    meanwhile (a reload: the new page's socket can register before the old one's close
    is written, and marking her gone then would leave her unrung)."""
    if reopened():
        return
    presence.gone(tx.conn, account_id)
    _refresh_department(tx, account_id)


def _has_presence(conn, account_id: int) -> bool:
    return conn.execute(select(presence.PRESENCE.c.account_id)
                        .where(presence.PRESENCE.c.account_id == account_id)).first() is not None


def _refresh_department(tx: calls.Tx, account_id: int) -> None:
    row = tx.conn.execute(select(presence.ACCOUNTS.c.department).where(presence.ACCOUNTS.c.id == account_id)).first()
    if row and row.department:
        tx.send(f"dept:{row.department}", {"type": "refresh"})


def _set_presence(tx: calls.Tx, staff: calls.Staff, status: str) -> None:
    if status not in presence.STATUSES:
        raise VideoError(f"presence {status!r}: online, busy or away")
    presence.set_status(tx.conn, staff.id, status)
    tx.send(f"dept:{staff.department}", {"type": "refresh"})


def _active_call(conn, account_id: int) -> dict | None:
    from sync.server.content import aware

    row = conn.execute(select(calls.CALLS).where(calls.CALLS.c.staff_id == account_id,
                                                 calls.CALLS.c.state == "connected")).first()
    if row is None:
        return None
    return {"call_id": row.id, "context": row.context, "offer": row.offer_sdp, "generation": row.generation,
            "recording": bool(row.recording), "department": row.department, "community": row.community,
            "answered_at": aware(row.answered_at).isoformat() if row.answered_at else None}


def _console_state(conn, staff: calls.Staff) -> dict:
    declined = set()
    waiting = calls.queue(conn, staff.department)
    for item in waiting:
        if staff.id in calls.declined_by(conn, item["call_id"]):
            declined.add(item["call_id"])
    ringable = staff.id in presence.ringable(conn, staff.department)
    return {"type": "state", "presence": presence.status_of(conn, staff.id),
            "staff": presence.staff(conn, staff.department),
            "queue": [dict(item, declined=item["call_id"] in declined) for item in waiting],
            "ring": ringable and any(item["call_id"] not in declined for item in waiting)}
