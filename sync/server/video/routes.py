"""HTTP routes: the kiosk's signed API under /api/v1/video and the staff console.

Kiosk (signed like every /api/v1 call, sync.wire):

- ``GET  /api/v1/video/departments``: the departments, whether each records its
  calls (the kiosk says so on screen first), staff online now.
- ``POST /api/v1/video/calls`` {department, context}: a call joins the department's
  queue and rings its online staff; answers the call id, its place in the queue and
  the token for ``/video/ws/kiosk``.
- ``POST /api/v1/video/calls/{id}/callback`` {phone}: nobody answered (or the
  resident would rather not wait): a call-back case for the department.

Staff (session cookie, role staff): ``GET /staff`` the console; ``POST
/staff/calls/{id}/note`` {note, follow_up} after a call (CSRF header); ``POST
/staff/calls/{id}/recording/{seq}`` a piece of the call's recording (WebM bytes, CSRF
header; only calls of a department that records, :mod:`.recordings`). Staff and
admins: ``GET /staff/recordings`` the recorded calls they may play, ``GET
/staff/calls/{id}/recording`` one of them (WebM, never cached).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as InPath
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from sync.server.accounts import Account, signed_in
from sync.server.auth import authenticate, body_of, path_of
from sync.server.ingest import Device
from sync.server.video import calls, departments, presence, recordings
from sync.server.video.errors import VideoError
from sync.server.video.signaling import _server_key, hub_of
from sync.server.video.tokens import KIOSK_TTL_S, issue
from sync import wire
from sync.wire import API

router = APIRouter()
STATIC = Path(__file__).resolve().parent / "static"


def _device(request: Request, body: Annotated[bytes, Depends(body_of)]) -> Device:
    return authenticate(request.app.state.engine, request.method, path_of(request), request.headers, body)


SignedDevice = Annotated[Device, Depends(_device)]
# a call's id is a UUID: anything else (a NUL, a path a database cannot store) is a 422
CallId = Annotated[str, InPath(pattern=r"^[0-9A-Za-z-]{1,64}$", description="the call's id (a UUID)")]


# Bodies are wire requests (sync.wire.Request): text a database cannot store (NUL, an
# unpaired surrogate) is a 422 naming the field, unknown fields are refused.
class CallRequest(wire.Request):
    department: Annotated[str, Field(max_length=40)]
    context: dict[str, Any] = {}


class CallbackRequest(wire.Request):
    phone: Annotated[str, Field(max_length=40)]


class NoteRequest(wire.Request):
    note: Annotated[str, Field(max_length=4000)] = ""
    follow_up: Annotated[str, Field(max_length=2000)] = ""


def _refused(exc: VideoError) -> HTTPException:
    return HTTPException(exc.status, exc.message)


@router.get(f"{API}/video/departments")
def list_departments(request: Request, device: SignedDevice) -> dict:
    with request.app.state.engine.connect() as conn:
        found = []
        for dept in departments.all_departments(conn):
            online = sum(1 for s in presence.staff(conn, dept.key) if s["presence"] in ("online", "busy"))
            found.append({**dept.as_json(), "staff_online": online})
    return {"departments": found}


@router.post(f"{API}/video/calls", status_code=201)
async def place_call(request: Request, body: CallRequest, device: SignedDevice) -> dict:
    hub = hub_of(request.app)
    try:
        placed = await hub.call(calls.place, device, body.department, body.context)
    except VideoError as exc:
        raise _refused(exc) from None
    key = await run_in_threadpool(_server_key, request.app)
    token = issue(key, {"sub": "kiosk", "device": device.device_id, "call": placed["call_id"]}, KIOSK_TTL_S)
    return {**placed, "token": token, "ws": f"/video/ws/kiosk?token={token}"}


@router.post(f"{API}/video/calls/{{call_id}}/callback", status_code=201)
async def request_callback(request: Request, call_id: CallId, body: CallbackRequest, device: SignedDevice) -> dict:
    hub = hub_of(request.app)
    try:
        case_id = await hub.call(calls.callback, call_id, device.device_id, body.phone, request.app.state.server_key_id)
    except VideoError as exc:
        raise _refused(exc) from None
    return {"case_id": case_id}


@router.get("/staff")
def console(request: Request, account: Annotated[Account, Depends(signed_in("staff"))]):
    from sync.server.web import render

    with request.app.state.engine.connect() as conn:
        try:
            dept = departments.get(conn, account.department or "")
        except VideoError:
            dept = None
    return render(request, "video/staff.html", department=dept)


@router.post("/staff/calls/{call_id}/note")
async def save_note(request: Request, call_id: CallId, body: NoteRequest,
                    account: Annotated[Account, Depends(signed_in("staff"))]) -> dict:
    staff = calls.Staff(account.id, account.name, account.department)
    try:
        case_id = await hub_of(request.app).call(calls.note, call_id, staff, body.note, body.follow_up,
                                                 request.app.state.server_key_id)
    except VideoError as exc:
        raise _refused(exc) from None
    return {"saved": True, "case_id": case_id}


@router.post("/staff/calls/{call_id}/recording/{seq}", status_code=201)
async def upload_recording(request: Request, call_id: CallId, seq: int,
                           account: Annotated[Account, Depends(signed_in("staff"))]) -> dict:
    data = await request.body()
    staff = calls.Staff(account.id, account.name, account.department)

    def keep() -> bool:
        with request.app.state.engine.begin() as conn:
            return recordings.store(conn, call_id, staff, seq, data)
    try:
        new = await run_in_threadpool(keep)
    except VideoError as exc:
        raise _refused(exc) from None
    return {"stored": new, "seq": seq, "bytes": len(data)}


@router.get("/staff/calls/{call_id}/recording")
def download_recording(request: Request, call_id: CallId,
                       account: Annotated[Account, Depends(signed_in("staff", "admin"))]) -> Response:
    with request.app.state.engine.connect() as conn:
        try:
            data = recordings.joined(conn, account, call_id)
        except VideoError as exc:
            raise _refused(exc) from None
    return Response(data, media_type="video/webm", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="call-{call_id}.webm"'})


@router.get("/staff/recordings")
def list_recordings(request: Request, account: Annotated[Account, Depends(signed_in("staff", "admin"))]):
    from sync.server.web import render

    with request.app.state.engine.connect() as conn:
        found = recordings.recordings(conn, account)
        names = {d.key: d for d in departments.all_departments(conn)}
    return render(request, "video/recordings.html", recordings=found, departments=names,
                  days=recordings.retention().days)
