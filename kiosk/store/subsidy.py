"""Elderly subsidy (高龄补贴): the resident's synced subsidy record, this year's
certification, and recording a certification done at this kiosk.

A ``subsidy`` record's data (the admin console writes it) holds ``id_number``,
``name``, ``eligible`` (bool; default: aged 80 or more), ``monthly_amount``
(text, yuan), ``certified`` (``{"2026": "2026-02-20"}``: year → day certified),
``due`` (``MM-DD``, the yearly deadline, default ``12-31``) and ``payments``
(``[{month, amount, status: paid|pending|stopped, account}]``, newest first).

A certification here is written to the kiosk's own table and, in the same
transaction, appended to the outbox as a ``subsidy``/``certified`` event the sync
agent pushes: the server records it and the next pull carries it back in the
record. The event names the record's key and the masked ID number, never the
number itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlite_utils import Database

from appliance.privacy import mask_id_number
from kiosk.store.content import SyncedContent
from sync.store import Migrations, Store, append_event

migrations = Migrations("kiosk_subsidy")
ELIGIBLE_AGE = 80


@migrations.add("0001_certifications")
def _certifications(db: Database) -> None:
    db.execute("""
        CREATE TABLE kiosk_subsidy_certifications (
            record TEXT NOT NULL,            -- the synced subsidy record's key
            year INTEGER NOT NULL,
            certified_on TEXT NOT NULL,      -- ISO date
            method TEXT NOT NULL,            -- kiosk_face | kiosk_staff
            score REAL,                      -- the face check's score (no picture, no embedding)
            event_id TEXT NOT NULL,
            PRIMARY KEY (record, year)
        )""")


@dataclass(frozen=True)
class Payment:
    month: str
    amount: str
    status: str  # paid | pending | stopped
    account: str = ""


@dataclass(frozen=True)
class SubsidyStatus:
    record: str | None  # the record's key; None: not on the subsidy list
    eligible: bool
    age: int
    monthly_amount: str = ""
    year: int = 0
    certified_on: date | None = None  # this year's certification
    due: date | None = None
    payments: list[Payment] = field(default_factory=list)

    @property
    def certified(self) -> bool:
        return self.certified_on is not None

    @property
    def can_certify(self) -> bool:
        return self.record is not None and self.eligible and not self.certified


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


class Subsidies:
    def __init__(self, content: SyncedContent, store: Store | None) -> None:
        self.content, self.store = content, store

    def _record(self, id_number: str) -> tuple[str, dict[str, Any]] | None:
        found = self.content.find("subsidy", "$.id_number", id_number)
        return found[0] if found else None

    def status(self, id_number: str, birth_date: date, today: date | None = None) -> SubsidyStatus:
        today = today or date.today()
        age = _age(birth_date, today)
        found = self._record(id_number)
        if found is None:
            return SubsidyStatus(None, False, age, year=today.year)
        key, data = found
        eligible = bool(data.get("eligible", age >= ELIGIBLE_AGE))
        certified = _day((data.get("certified") or {}).get(str(today.year)))
        local = self._local(key, today.year)
        try:
            month, day = (int(x) for x in str(data.get("due") or "12-31").split("-"))
            due = date(today.year, month, day)
        except ValueError:
            due = date(today.year, 12, 31)
        payments = [Payment(str(p.get("month", "")), str(p.get("amount", "")), str(p.get("status", "")),
                            str(p.get("account", ""))) for p in data.get("payments", []) if isinstance(p, dict)]
        return SubsidyStatus(key, eligible, age, str(data.get("monthly_amount") or ""), today.year,
                             certified or local, due, payments[:6])

    def _local(self, key: str, year: int) -> date | None:
        if self.store is None:
            return None
        with self.store.reader() as db:
            row = db.execute("SELECT certified_on FROM kiosk_subsidy_certifications WHERE record = ? AND year = ?",
                             [key, year]).fetchone()
        return _day(row[0]) if row else None

    def certify(self, status: SubsidyStatus, id_number: str, *, method: str, score: float | None,
                decision: dict[str, Any] | None = None, today: date | None = None) -> date:
        """Record this year's certification (and its outbox event) in one transaction."""
        if self.store is None or status.record is None:
            raise ValueError("no subsidy record to certify")
        if not status.eligible:
            raise ValueError("not eligible for the elderly subsidy")
        today = today or date.today()
        with self.store.atomic() as db:
            row = db.execute("SELECT certified_on FROM kiosk_subsidy_certifications WHERE record = ? AND year = ?",
                             [status.record, today.year]).fetchone()
            if row:
                return date.fromisoformat(row[0])
            event_id = append_event(db, aggregate_type="subsidy", aggregate_id=status.record, event_type="certified",
                                    payload={"year": today.year, "certified_on": today.isoformat(), "method": method,
                                             "score": None if score is None else round(score, 4),
                                             "resident": mask_id_number(id_number),
                                             "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                             "decision": json.loads(json.dumps(decision or {}))})
            db.execute("INSERT INTO kiosk_subsidy_certifications (record, year, certified_on, method, score, event_id)"
                       " VALUES (?, ?, ?, ?, ?, ?)", [status.record, today.year, today.isoformat(), method, score,
                                                      event_id])
        return today
