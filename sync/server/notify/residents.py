"""Who a case is for, and how to reach them: from the case's events and the
household record (一户一档) they name.

A case's events may carry, in their payload (later events win): ``household`` (the
household record's key), ``resident_id`` (ID number), ``resident`` (the kiosk's
keyed hash of the ID number, :func:`resident_key`), ``resident_name``, ``phone``,
``department`` (else the service guide item ``item_id``'s), ``item`` (the service), ``materials`` (a list of what was handed in).
The household record's ``data`` may hold ``phone``, ``grid``, ``name``, ``id_number``
and ``members`` (a list of ``{name, id_number, phone}``): the member whose
``id_number`` is the case's ``resident_id`` is the resident; else the record's own
fields. A case that names no household is matched by ``resident`` against the
members of its community's records. A phone number given with the case wins over
the record's.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from appliance.privacy import mask_id_number
from sync import lifecycle
from sync.server.models import Case, EventRow, GuideItem, Household

EVENTS = EventRow.__table__
HOUSEHOLDS = Household.__table__
CASES = Case.__table__
GUIDE = GuideItem.__table__
FIELDS = ("household", "resident_id", "resident", "resident_name", "phone", "department", "item", "item_id",
          "materials")
# the kiosk's resident key (kiosk.store.cases.resident_key; sync/ may not import kiosk/): a test keeps them equal
_RESIDENT_KEY = b"community-kiosk/resident/v1"


def resident_key(id_number: str) -> str:
    """A keyed hash of the ID number, as the kiosk names a resident in its events."""
    return hmac.new(_RESIDENT_KEY, id_number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()[:32]


@dataclass
class Resident:
    name: str = ""
    id_number: str = ""
    phone: str = ""
    household: str = ""
    grid: str = ""
    department: str = ""
    item: str = ""
    materials: list[str] = field(default_factory=list)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number) if self.id_number else ""

    @property
    def masked_phone(self) -> str:
        p = self.phone
        return p[:3] + "****" + p[-4:] if len(p) >= 11 else ("*" * len(p))


def mask_name(name: str) -> str:
    """张晓明 → 张*明, 李四 → 李*, Anna Li → A*** L*: enough to recognise, not to identify."""
    name = name.strip()
    if not name:
        return ""
    if " " in name:
        return " ".join(part[:1] + "*" * (len(part) - 1) for part in name.split())
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def case_facts(conn: Connection, case_id: str) -> dict[str, Any]:
    """The FIELDS the case's applied events said, the last word winning."""
    facts: dict[str, Any] = {}
    for (payload,) in conn.execute(select(EVENTS.c.payload).where(
            EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id == case_id,
            EVENTS.c.status == "applied").order_by(EVENTS.c.server_seq)):
        for key in FIELDS:
            if isinstance(payload, dict) and payload.get(key) not in (None, "", []):
                facts[key] = payload[key]
    return facts


def of_case(conn: Connection, case_id: str) -> Resident:
    facts = case_facts(conn, case_id)
    resident = Resident(name=str(facts.get("resident_name", "")), id_number=str(facts.get("resident_id", "")),
                        household=str(facts.get("household", "")), department=str(facts.get("department", "")),
                        item=str(facts.get("item", "")),
                        materials=[str(m) for m in facts.get("materials", []) if m] if isinstance(
                            facts.get("materials"), list) else [])
    record = None
    if resident.household:
        record = conn.execute(select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.key == resident.household)).scalar()
    elif facts.get("resident"):
        record, number = _by_resident_key(conn, case_id, str(facts["resident"]))
        resident.id_number = resident.id_number or number
    if isinstance(record, dict):
        member = next((m for m in record.get("members", []) or [] if isinstance(m, dict) and resident.id_number
                       and str(m.get("id_number", "")) == resident.id_number), None)
        source = member or record
        resident.name = resident.name or str(source.get("name", ""))
        resident.id_number = resident.id_number or str(source.get("id_number", ""))
        resident.phone = str(source.get("phone", "") or record.get("phone", "") or "")
        resident.grid = str(record.get("grid", "") or "")
    if facts.get("phone"):
        resident.phone = str(facts["phone"])
    if facts.get("item_id") and not (resident.department and resident.materials):
        guide = guide_item(conn, str(facts["item_id"]))
        resident.department = resident.department or str(guide.get("department") or "")
        if not resident.materials:  # what the service guide asks for
            resident.materials = [str(m.get("material") if isinstance(m, dict) else m)
                                  for m in guide.get("materials", []) or [] if m]
    return resident


def guide_item(conn: Connection, item_id: str) -> dict[str, Any]:
    data = conn.execute(select(GUIDE.c.data).where(GUIDE.c.key == item_id)).scalar()
    return data if isinstance(data, dict) else {}


def department_of_item(conn: Connection, item_id: str) -> str:
    """The department the service guide names for item ``item_id`` ("" if none)."""
    return str(guide_item(conn, item_id).get("department") or "")


def _by_resident_key(conn: Connection, case_id: str, key: str) -> tuple[dict[str, Any] | None, str]:
    """The household record of the case's community with a member whose ID number hashes to ``key``."""
    community = conn.execute(select(CASES.c.community).where(CASES.c.id == case_id)).scalar()
    for (data,) in conn.execute(select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.community == community)):
        if not isinstance(data, dict):
            continue
        people = [m for m in data.get("members", []) or [] if isinstance(m, dict)] + [data]
        for person in people:
            number = str(person.get("id_number", "") or "")
            if number and number.isascii() and hmac.compare_digest(resident_key(number), key):
                return data, number
    return None, ""
