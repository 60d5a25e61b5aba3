"""The resident's household record (一户一档), synced from the server: what the
residence proof is pre-filled from, and the face check's second reference photo.

A ``household`` record's data (the admin console writes it) holds the household's
``address``, ``living_since`` (ISO date, or ``moved_in``), and its people: either
the record itself (``name``, ``id_number``) or ``members``, a list of ``{name,
id_number, relation?, living_since?, photo?}``; ``photo`` is a base64 JPEG/PNG. Only
records of this appliance's community are ever synced here. The admin console's
records (``sync/server/admin/household_pages.py``) have no ``living_since`` yet: the
residence proof then says the record is incomplete instead of printing a guess.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kiosk.store.content import SyncedContent

log = logging.getLogger("kiosk.store.households")


@dataclass(frozen=True, repr=False)
class HouseholdMember:
    household: str  # the record's key
    name: str
    address: str
    living_since: date | None
    relation: str = ""
    photo: bytes | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"HouseholdMember(household={self.household!r}, relation={self.relation!r})"


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _photo(value: Any) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        log.warning("a household photo is not valid base64: ignored")
        return None


class Households:
    def __init__(self, content: SyncedContent) -> None:
        self.content = content

    def member(self, id_number: str) -> HouseholdMember | None:
        """The resident's entry in their household record, or None (not registered here)."""
        rows = self.content.query(
            "SELECT r.key, r.data FROM synced_records AS r WHERE r.kind = 'household' AND ("
            " json_extract(r.data, '$.id_number') = ? OR EXISTS (SELECT 1 FROM json_each(r.data, '$.members') AS m"
            " WHERE json_extract(m.value, '$.id_number') = ?)) ORDER BY r.key LIMIT 1", [id_number, id_number])
        if not rows:
            return None
        key, text = rows[0]
        data = json.loads(text)
        person: dict[str, Any] = data if data.get("id_number") == id_number else next(
            m for m in data.get("members", []) if isinstance(m, dict) and m.get("id_number") == id_number)
        return HouseholdMember(household=key, name=str(person.get("name") or data.get("name") or ""),
                               address=str(person.get("address") or data.get("address") or ""),
                               living_since=_day(person.get("living_since") or data.get("living_since")
                                                 or person.get("moved_in") or data.get("moved_in")),
                               relation=str(person.get("relation") or ""), photo=_photo(person.get("photo")))

    def photo_of(self, id_number: str) -> bytes | None:
        """For the face check (:class:`kiosk.identity.HouseholdPhotos`)."""
        member = self.member(id_number)
        return member.photo if member else None
