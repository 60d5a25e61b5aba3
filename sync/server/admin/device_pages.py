"""Devices of the admin's community: last heartbeat and peripheral health (each of the
box's programs when it runs several: the kiosk app's, the locker daemon's), revocation;
one-time enrolment codes: create (shown once), list, revoke."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import delete, select

from appliance.keys import DEVICE_ID
from sync.server.admin.fleet import is_online, problems, sources
from sync.server.admin.pages import Admin, engine_of
from sync.server.admin.trust import is_worker_key_id
from sync.server.content import aware, now
from sync.server.devices import create_code, revoke
from sync.server.models import Device, EnrolmentCode
from sync.server.worker.models import LockerGrid
from sync.server.web import redirect, render

router = APIRouter(prefix="/admin/devices", include_in_schema=False)
DEVICES, CODES = Device.__table__, EnrolmentCode.__table__
GRIDS = LockerGrid.__table__


def _page(request: Request, account, *, new_code: tuple[str, str] | None = None, problem: tuple[str, str] | None = None,
          device_id: str = "", status: int = 200) -> HTMLResponse:
    at = now()
    with engine_of(request).connect() as conn:
        rows = conn.execute(select(DEVICES).where(DEVICES.c.community == account.community)
                            .order_by(DEVICES.c.device_id)).all()
        assigned = set(conn.execute(select(GRIDS.c.device_id).where(GRIDS.c.community == account.community))
                       .scalars())
        codes = conn.execute(select(CODES).where(CODES.c.community == account.community)
                             .order_by(CODES.c.created_at.desc()).limit(50)).all()
    devices = [{"id": r.device_id, "revoked": r.revoked_at is not None, "enrolled_at": r.enrolled_at,
                "last": r.last_heartbeat_at, "online": is_online(r.last_heartbeat_at, at), "health": r.health or {},
                "sources": sources(r.health, at), "problems": problems(r.health, at),
                "grid": r.device_id in assigned} for r in rows]
    listed = [{"hash": c.code_hash, "device_id": c.device_id, "created_at": c.created_at, "expires_at": c.expires_at,
               "state": "used" if c.used_at else ("expired" if aware(c.expires_at) < at else "open")} for c in codes]
    unassigned = [d["id"] for d in devices if not d["grid"] and not d["revoked"]]
    return render(request, "admin/devices.html", status=status, section="devices", devices=devices, codes=listed,
                  unassigned=unassigned,
                  new_code=new_code, problem=problem, device_id=device_id)


@router.get("", response_class=HTMLResponse)
def listing(request: Request, account: Admin) -> HTMLResponse:
    return _page(request, account)


@router.post("/codes", response_class=HTMLResponse)
def new_code(request: Request, account: Admin, device_id: Annotated[str, Form()] = "") -> HTMLResponse:
    device_id = device_id.strip()
    if not DEVICE_ID.match(device_id):
        return _page(request, account, status=422, device_id=device_id,
                     problem=("终端编号只能用小写字母、数字和 -，如 kiosk-01", "A device id is lower-case letters, digits "
                              "and -, e.g. kiosk-01"))
    with engine_of(request).begin() as conn:
        other = conn.execute(select(DEVICES.c.community).where(DEVICES.c.device_id == device_id)).scalar_one_or_none()
        if is_worker_key_id(conn, device_id):
            other = ""  # a lockers' key of that id: a device key under it would stand in for it
        if other is not None and other != account.community:
            code = None
        else:
            code = create_code(conn, account.community, device_id)
    if code is None:
        return _page(request, account, status=422, device_id=device_id,
                     problem=("这个终端编号已被其他社区的终端或云柜密钥使用，请换一个", "That id belongs to another "
                              "community's device or to a lockers' key: choose another"))
    # the code is shown on this page only, never stored (only its hash) nor put in a URL
    return _page(request, account, new_code=(device_id, code))


@router.post("/codes/revoke")
def revoke_code(request: Request, account: Admin, code_hash: Annotated[str, Form()] = "") -> Response:
    with engine_of(request).begin() as conn:
        gone = conn.execute(delete(CODES).where(CODES.c.code_hash == code_hash, CODES.c.community == account.community,
                                                CODES.c.used_at.is_(None))).rowcount
    return redirect("/admin/devices", "注册码已作废。 / The enrolment code is revoked." if gone else
                    "这个注册码已使用或不存在。 / That code was used already or does not exist.")


@router.post("/{device_id}/revoke")
def revoke_device(request: Request, account: Admin, device_id: str) -> Response:
    with engine_of(request).begin() as conn:
        mine = conn.execute(select(DEVICES.c.device_id).where(DEVICES.c.device_id == device_id,
                                                              DEVICES.c.community == account.community)).first()
        if mine is not None:
            revoke(conn, device_id)
    if mine is None:
        return redirect("/admin/devices", f"本社区没有终端 {device_id}。 / This community has no device {device_id}.")
    return redirect("/admin/devices", f"终端 {device_id} 已停用，它的请求从此被拒绝。 / Device {device_id} is revoked: "
                                      f"its requests are refused from now on.")
