"""A booking's short code, typed at the kiosk by a resident who came without her phone.

The phone pages give each booking a signed booking QR and an 8-character short code
(``7KQ3-P9XM``: digits 2–9 and capital letters without I, L, O; only its hash is kept
at the server). The kiosk asks the server for the booking it names (signed
``POST /api/v1/bookings/find``, :mod:`sync.server.phone.kiosk`) and hands the QR it
gets to the locker, which checks it offline as it checks a QR shown to its scanner.
Plain Python, blocking (a worker thread)::

    desk = BookingDesk(server_url, key)
    booking = desk.find("7KQ3P9XM")     # Booking(case_id, code, size), or BookingRefused

Wrong codes are throttled twice: at the kiosk, as the locker throttles its pickup
short codes (:class:`locker.throttle.Throttle`, the keypad backs off), and at the
server, per device.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from appliance.keys import DeviceKey
from sync.agent.client import ServerClient
from sync.errors import ServerRefused, ServerUnreachable

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as the phone pages draw them (sync.server.phone.cases)
LENGTH = 8
SHORT = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


class BookingRefused(Exception):
    """The short code found no booking: ``reason`` is a doors catalogue key
    (``wrong_booking_code``, ``backing_off``, ``booking_unreachable``)."""

    def __init__(self, reason: str, detail: str = "", *, retry_after: float | None = None) -> None:
        self.reason, self.detail, self.retry_after = reason, detail, retry_after
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class Booking:
    case_id: str
    code: str  # the booking QR's text (LKR1.B…): a bearer token, kept no longer than the opening
    size: str


class _Find(BaseModel):
    short: str


class _Found(BaseModel):
    case_id: str
    code: str
    size: str


def normalise(text: str) -> str:
    """What the resident typed, as the phone showed it: capitals, no dash or spaces."""
    return re.sub(r"[\s\-]", "", text).upper()


class BookingDesk(ServerClient):
    """The server's booking look-up, signed with the appliance's key."""

    @classmethod
    def from_config(cls, config) -> "BookingDesk":
        key = DeviceKey.load_or_create(config.data_dir, config.appliance.id)
        return cls(config.sync.server_url, key, timeout=10.0, connect_timeout=3.0)

    def find(self, short: str) -> Booking:
        short = normalise(short)
        if not SHORT.match(short):
            raise BookingRefused("wrong_booking_code", "not 8 characters of the booking alphabet")
        try:
            found = self._call("POST", "/bookings/find", _Find(short=short), _Found)
        except ServerRefused as exc:
            if exc.status == 404:
                raise BookingRefused("wrong_booking_code", str(exc.detail)) from exc
            if exc.status == 429:
                raise BookingRefused("backing_off", str(exc.detail), retry_after=60.0) from exc
            raise BookingRefused("booking_unreachable", f"HTTP {exc.status}: {exc.detail}") from exc
        except ServerUnreachable as exc:
            raise BookingRefused("booking_unreachable", exc.message) from exc
        return Booking(found.case_id, found.code, found.size)
