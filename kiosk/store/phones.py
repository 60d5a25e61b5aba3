"""Mobile numbers residents confirmed at this kiosk with their ID card (绑定手机号).

The resident identified by her card and face types her number in My progress; the
kiosk writes the link to its own table and, in the same transaction, appends the
``phone_confirmed`` event the server links the number to her household record with
(aggregate ``phone``, payload ``phone`` and ``resident``, the keyed hash of her ID
number: :data:`sync.lifecycle.RESIDENT_EVENTS`, ``sync.server.phone.links``). Then
she signs in on the phone pages with that number and an SMS code and sees her cases.

The table keeps the number masked (``139****9000``: enough to show her which number
is linked); the outbox event carries it whole, as the server needs it::

    link = phones.confirm(store, resident_key, "13900139000")
    phones.of_resident(store, resident_key)        # [PhoneLink("139****9000", …)]
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlite_utils import Database

from sync.store import Migrations, Store, append_event

migrations = Migrations("kiosk_phones")
MOBILE = re.compile(r"^1[3-9]\d{9}$")  # a mainland mobile number, as the phone pages' sign-in takes it
AGGREGATE, CONFIRMED = "phone", "phone_confirmed"


@migrations.add("0001_phone_links")
def _links(db: Database) -> None:
    db.execute("""
        CREATE TABLE kiosk_phone_links (
            resident_key TEXT NOT NULL,       -- cases.resident_key(ID number): never the number
            masked_phone TEXT NOT NULL,       -- 139****9000: the whole number is in the event only
            confirmed_at REAL NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY (resident_key, masked_phone)
        )""")


class PhoneRefused(ValueError):
    """Not a mainland mobile number: nothing was recorded."""


@dataclass(frozen=True)
class PhoneLink:
    masked_phone: str
    confirmed_at: float
    event_id: str


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "*" * len(phone)


def normalise(phone: str) -> str:
    """``139 0013 9000`` → ``13900139000``; :class:`PhoneRefused` for anything but a mobile number."""
    digits = re.sub(r"[\s\-]", "", phone or "")
    if not MOBILE.match(digits):
        raise PhoneRefused(f"not a mobile number ({len(digits)} digits)")
    return digits


def confirm(store: Store, resident_key: str, phone: str, *, now: float | None = None) -> PhoneLink:
    """Record that the resident ``resident_key`` confirmed ``phone`` here, with its event."""
    if not resident_key:
        raise PhoneRefused("no identified resident")
    phone = normalise(phone)
    moment = time.time() if now is None else now
    with store.atomic() as db:
        event_id = append_event(db, aggregate_type=AGGREGATE, aggregate_id=phone, event_type=CONFIRMED,
                                payload={"phone": phone, "resident": resident_key})
        db["kiosk_phone_links"].upsert({"resident_key": resident_key, "masked_phone": mask(phone),
                                        "confirmed_at": moment, "event_id": event_id},
                                       pk=("resident_key", "masked_phone"))
    return PhoneLink(mask(phone), moment, event_id)


def of_resident(store: Store, resident_key: str) -> list[PhoneLink]:
    """The numbers the resident confirmed here, newest first."""
    return [PhoneLink(r["masked_phone"], r["confirmed_at"], r["event_id"]) for r in store.query(
        "SELECT * FROM kiosk_phone_links WHERE resident_key = ? ORDER BY confirmed_at DESC", [resident_key])]
