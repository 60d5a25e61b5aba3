"""A booking's short code typed at the kiosk (a resident who came without her phone).

``POST /api/v1/bookings/find`` {short}, signed by an enrolled kiosk like every
/api/v1 call: the booking of the kiosk's community that the 8-character short code
names, while its papers are still to be deposited and it has not expired, as
{case_id, code, size}. ``code`` is the booking QR (``LKR1.B…``, server-signed): the
kiosk hands it to its locker, which checks it offline exactly as a QR shown to its
scanner (signature, expiry, this locker, used once) and opens a door. The server
keeps only the short code's hash (:func:`sync.server.phone.cases.short_hash`).

Refusals: 404 (no such booking here, used, or expired: one answer for all, so a
guess learns nothing), 429 with ``Retry-After`` once a device has typed
:data:`WRONG_PER_DEVICE` wrong codes in its window (counted in the database, so
every server process shares the count; the kiosk backs off its keypad first, as the
locker does for pickup codes).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from sync.server.auth import authenticate, body_of, path_of
from sync.server.content import aware, now
from sync.server.ingest import Device
from sync.server.models import Case
from sync.server.phone import throttle
from sync.server.phone.cases import BOOKINGS, short_hash
from sync.wire import API

router = APIRouter()
CASES = Case.__table__
# a kiosk serves many residents: more room than one phone's 5, still no use for guessing
# (31^8 codes, a few hundred live at a time: ~10^7 tries for one hit)
WRONG_PER_DEVICE = throttle.Limit("booking", 20, timedelta(minutes=15))


def _device(request: Request, body: Annotated[bytes, Depends(body_of)]) -> Device:
    return authenticate(request.app.state.engine, request.method, path_of(request), request.headers, body)


class BookingFind(BaseModel):
    short: Annotated[str, Field(min_length=1, max_length=20)]


class BookingFound(BaseModel):
    case_id: str
    code: str
    size: str


@router.post(f"{API}/bookings/find", response_model=BookingFound,
             responses={404: {"description": "no such booking here, used or expired"},
                        429: {"description": "too many wrong codes from this device: wait Retry-After seconds"}})
def find_booking(request: Request, body: BookingFind, device: Annotated[Device, Depends(_device)]) -> BookingFound:
    key = f"device:{device.device_id}"
    # one kiosk asks one code at a time: counting, then noting, needs no lock across processes
    with request.app.state.engine.begin() as conn:  # a wrong code is counted even though it is refused
        if not throttle.allowed(conn, WRONG_PER_DEVICE, key):
            wait = int(WRONG_PER_DEVICE.window.total_seconds())
            raise HTTPException(429, "输错次数太多，请稍后再试 / too many wrong booking codes: try again later",
                                headers={"Retry-After": str(wait)})
        row = conn.execute(select(BOOKINGS.c.case_id, BOOKINGS.c.code, BOOKINGS.c.size, BOOKINGS.c.expires_at,
                                  CASES.c.state, CASES.c.community)
                           .join(CASES, CASES.c.id == BOOKINGS.c.case_id)
                           .where(BOOKINGS.c.short_hash == short_hash(body.short))).first()
        if row is None or row.community != device.community or row.state != "created" \
                or aware(row.expires_at) < now():
            throttle.note(conn, "booking", key)
            found = None
        else:
            found = BookingFound(case_id=row.case_id, code=row.code, size=row.size)
    if found is None:
        raise HTTPException(404, "预约码不正确、已使用或已过期 / the booking code is wrong, used or expired")
    return found
