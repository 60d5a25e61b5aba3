"""Elderly subsidy (高龄补贴): the resident's synced subsidy record, this year's
certification, and recording a certification done at this kiosk.

A ``subsidy`` record's data, as the admin console writes it
(``sync/server/admin/catalogue.py``): ``id_number``, ``name``, ``program``,
``amount`` (yuan a month), ``status`` (``active`` | ``suspended`` | ``stopped``) and
``certified_until`` (the yearly certification holds until that day; None: never
certified). Also read, when present: ``payments`` (``[{month, amount, status:
paid|pending|withheld}]``, newest first). This year's certification is done while
``certified_until`` is today or later, or when this kiosk recorded one in the last
year (before the server's record comes back with the next pull).

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
    certified_on: date | None = None  # the day this kiosk certified (None: not here, or over a year ago)
    due: date | None = None  # the certification holds until this day
    payments: list[Payment] = field(default_factory=list)
    today: date | None = None

    @property
    def certified(self) -> bool:
        """This year's certification is done (the last one still holds)."""
        if self.certified_on is not None:
            return True
        return self.due is not None and self.today is not None and self.due >= self.today

    @property
    def can_certify(self) -> bool:
        return self.record is not None and self.eligible and not self.certified


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _valid(year: int, day: date) -> bool:
    try:
        day.replace(year=year)
    except ValueError:  # 29 February
        return False
    return True


def _a_year_after(day: date) -> date:
    return day.replace(year=day.year + 1) if _valid(day.year + 1, day) else day.replace(year=day.year + 1, day=28)


def _money(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return str(value)


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
        if "status" in data:
            eligible = data.get("status") == "active"
        else:
            eligible = bool(data.get("eligible", age >= ELIGIBLE_AGE))
        until = _day(data.get("certified_until"))
        local = self._local(key, today)
        due = until
        if local is not None:
            due = max(due or local, _a_year_after(local))
        amount = data.get("amount", data.get("monthly_amount"))
        payments = [Payment(str(p.get("month", "")), str(p.get("amount", "")), str(p.get("status", "")),
                            str(p.get("account", ""))) for p in data.get("payments", []) if isinstance(p, dict)]
        return SubsidyStatus(key, eligible, age, _money(amount), today.year, local, due, payments[:6], today)

    def _local(self, key: str, today: date) -> date | None:
        """A certification this kiosk recorded within the last year."""
        if self.store is None:
            return None
        with self.store.reader() as db:
            row = db.execute("SELECT max(certified_on) FROM kiosk_subsidy_certifications WHERE record = ?",
                             [key]).fetchone()
        day = _day(row[0]) if row else None
        return day if day is not None and (today - day).days < 365 else None

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
            until = _a_year_after(today)
            event_id = append_event(db, aggregate_type="subsidy", aggregate_id=status.record, event_type="certified",
                                    payload={"year": today.year, "certified_on": today.isoformat(),
                                             "certified_until": until.isoformat(), "method": method,
                                             "score": None if score is None else round(score, 4),
                                             "resident": mask_id_number(id_number),
                                             "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                             "decision": json.loads(json.dumps(decision or {}))})
            db.execute("INSERT INTO kiosk_subsidy_certifications (record, year, certified_on, method, score, event_id)"
                       " VALUES (?, ?, ?, ?, ?, ?)", [status.record, today.year, today.isoformat(), method, score,
                                                      event_id])
        return today
