"""A phone number linked to a member of a household record (一户一档).

A community admin links it from the console (/admin/phones), or the resident
confirms it at the kiosk with her ID card: the kiosk pushes a ``phone_confirmed``
event (aggregate ``phone``, :data:`sync.lifecycle.RESIDENT_EVENTS`) whose payload
has ``phone`` and ``resident`` (the keyed hash of the ID number the kiosk read,
:func:`sync.server.notify.residents.resident_key`) or ``resident_id``; the server
links the number to the member of the kiosk's community with that ID number
(:func:`after_events`, called by the ingest in the batch's transaction). One number
is linked to one member per community; linking it again moves it.
"""
from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from appliance.privacy import mask_id_number  # noqa: F401  (pages use it)
from sync.server.content import now
from sync.server.models import Household
from sync.server.notify.residents import resident_key
from sync.server.phone.errors import PhoneError
from sync.server.phone.models import PhoneLink
from sync.server.phone.signin import mask, normalise

log = logging.getLogger(__name__)
LINKS = PhoneLink.__table__
HOUSEHOLDS = Household.__table__
PHONE_AGGREGATE, CONFIRMED = "phone", "phone_confirmed"


@dataclass(frozen=True)
class Member:
    household: str  # the record's key
    household_id: str
    name: str
    id_number: str
    relation: str
    address: str
    grid: str
    phone: str = ""
    source: str = ""

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask(self.phone)


def _member(key: str, data: dict[str, Any], id_number: str, phone: str = "", source: str = "") -> Member | None:
    for person in data.get("members", []) or []:
        if isinstance(person, dict) and str(person.get("id_number", "")).upper() == id_number.upper():
            return Member(key, str(data.get("household_id", key.rsplit("/", 1)[-1])), str(person.get("name", "")),
                          str(person.get("id_number", "")), str(person.get("relation", "")),
                          str(data.get("address", "")), str(data.get("grid", "")), phone, source)
    return None


def link(conn: Connection, *, community: str, phone: str, household: str, id_number: str, source: str,
         by: str) -> Member:
    """Link ``phone`` to the member ``id_number`` of record ``household`` (of ``community``)."""
    phone = normalise(phone)
    data = conn.execute(select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.key == household,
                                                        HOUSEHOLDS.c.community == community)).scalar()
    member = _member(household, data, id_number, phone, source) if isinstance(data, dict) else None
    if member is None:
        raise LookupError("该户档案中没有这位成员 / no such member in this household record")
    conn.execute(delete(LINKS).where(LINKS.c.community == community, LINKS.c.phone == phone))
    conn.execute(LINKS.insert().values(community=community, phone=phone, household=household,
                                       id_number=member.id_number, source=source, linked_by=by[:120],
                                       linked_at=now()))
    return member


def unlink(conn: Connection, community: str, phone: str) -> bool:
    return conn.execute(delete(LINKS).where(LINKS.c.community == community, LINKS.c.phone == phone)).rowcount > 0


def linked(conn: Connection, community: str, phone: str) -> Member | None:
    """The member ``phone`` is linked to in ``community`` (None: not linked, or the
    record no longer has that member)."""
    row = conn.execute(select(LINKS).where(LINKS.c.community == community, LINKS.c.phone == phone)).first()
    if row is None:
        return None
    data = conn.execute(select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.key == row.household)).scalar()
    return _member(row.household, data, row.id_number, phone, row.source) if isinstance(data, dict) else None


def communities_of(conn: Connection, phone: str) -> list[str]:
    return [r.community for r in conn.execute(select(LINKS.c.community).where(LINKS.c.phone == phone)
                                              .order_by(LINKS.c.community))]


def of_household(conn: Connection, household: str) -> list[Member]:
    data = conn.execute(select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.key == household)).scalar()
    if not isinstance(data, dict):
        return []
    found = []
    for row in conn.execute(select(LINKS).where(LINKS.c.household == household).order_by(LINKS.c.phone)):
        member = _member(household, data, row.id_number, row.phone, row.source)
        if member is not None:
            found.append(member)
    return found


def _by_card(conn: Connection, community: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    """(household key, ID number) of the member the kiosk's card read names."""
    number, key = str(payload.get("resident_id", "") or "").upper(), str(payload.get("resident", "") or "")
    for row in conn.execute(select(HOUSEHOLDS.c.key, HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.community == community)):
        for person in (row.data or {}).get("members", []) or []:
            found = str(person.get("id_number", "") or "").upper() if isinstance(person, dict) else ""
            if found and ((number and found == number)
                          or (key and found.isascii() and hmac.compare_digest(resident_key(found), key))):
                return row.key, found
    return None


def after_events(conn: Connection, device: Any, rows: list[dict[str, Any]]) -> None:
    """Link the numbers the kiosk confirmed with an ID card (``phone_confirmed``)."""
    for row in rows:
        if row["aggregate_type"] != PHONE_AGGREGATE or row["event_type"] != CONFIRMED:
            continue
        payload = row["payload"] or {}
        try:
            phone = normalise(str(payload.get("phone", "")))
        except PhoneError:
            row["reason"] = "not a mobile number: nothing linked"
            continue
        found = _by_card(conn, device.community, payload)
        if found is None:
            row["reason"] = "no member of this community's household records has this ID card: nothing linked"
            log.warning("phone_confirmed %s: %s", row["id"], row["reason"])
            continue
        link(conn, community=device.community, phone=phone, household=found[0], id_number=found[1],
             source="kiosk", by=device.device_id)
