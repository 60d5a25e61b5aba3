"""The resident's cases as this kiosk knows them: drop-offs made here and problems
reported here (报事), their state in the lifecycle (:mod:`sync.lifecycle`) and the
resident's rating.

Every change that the server must learn of appends its outbox event in the same
transaction (:func:`sync.store.append_event`): ``created`` when the kiosk makes a
case, ``evaluated`` when the resident rates it. States the kiosk only *observes*
(the locker daemon reports ``materials_deposited``; the locker pushes that event
itself, from its own store) are written with ``event=False`` so no event goes to
the server twice::

    case = cases.create(store, kind="dropoff", item_id="elderly-subsidy", item="高龄补贴申领",
                        resident=Resident.of("110101198503120033", "张晓明"))
    cases.observe(store, case.id, "materials_deposited", locker="L1", door=7)
    cases.rate(store, case.id, 5)                 # only once picked_up: an evaluated event
    cases.follow_server(store)                    # what the server published (sync.store.server_cases)

The resident is kept as a keyed hash of the ID number (:func:`resident_key`), never
the number itself: the kiosk finds a resident's cases again when the card is read,
and nothing on disk reads back as an ID number.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from sync import lifecycle
from sync.lifecycle import CaseState
from sync.store import Migrations, Store, append_event, server_cases

migrations = Migrations("kiosk_cases")
KINDS = ("dropoff", "report")
PREFIX = {"dropoff": "DO", "report": "BS"}  # BS: 报事
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
_KEY = b"community-kiosk/resident/v1"


@migrations.add("0001_cases")
def _cases(db: Database) -> None:
    db.execute("""
        CREATE TABLE kiosk_cases (
            id TEXT PRIMARY KEY,              -- the case number on the receipt (DO-261122-7KQ3P)
            kind TEXT NOT NULL,               -- dropoff, report
            item_id TEXT NOT NULL DEFAULT '', -- the service guide item, or the report category
            item TEXT NOT NULL DEFAULT '',    -- its name as shown (Chinese)
            resident_key TEXT NOT NULL,       -- resident_key(ID number): never the number
            resident_name TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            locker TEXT NOT NULL DEFAULT '',
            door INTEGER,
            detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
            rating INTEGER,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""")
    db.execute("CREATE INDEX kiosk_cases_resident ON kiosk_cases (resident_key, created_at)")


class CaseError(ValueError):
    """A case request this store refuses (unknown case, a rating out of range or of an
    unfinished case, a change of state the lifecycle does not allow)."""


def resident_key(id_number: str) -> str:
    """A keyed hash of the ID number: equal for the same card, not an ID number."""
    return hmac.new(_KEY, id_number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Resident:
    """Who a case is for, as this store keeps it."""

    key: str
    name: str = ""

    @classmethod
    def of(cls, id_number: str, name: str = "") -> Resident:
        return cls(resident_key(id_number), name)


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    item_id: str
    item: str
    resident_key: str
    resident_name: str
    state: CaseState
    locker: str = ""
    door: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    rating: int | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def finished(self) -> bool:
        """The resident has the result in hand (or it was settled): nothing more to do."""
        return self.state in (CaseState.PICKED_UP, CaseState.EVALUATED) or self.state in lifecycle.TERMINAL

    @property
    def rateable(self) -> bool:
        return self.rating is None and lifecycle.allowed(self.state, CaseState.EVALUATED)


def new_case_id(kind: str, now: float | None = None) -> str:
    day = datetime.fromtimestamp(time.time() if now is None else now).strftime("%y%m%d")
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return f"{PREFIX[kind]}-{day}-{tail}"


def _row(row: dict[str, Any]) -> Case:
    return Case(row["id"], row["kind"], row["item_id"], row["item"], row["resident_key"], row["resident_name"],
                CaseState(row["state"]), row["locker"], row["door"], json.loads(row["detail"] or "{}"),
                row["rating"], row["created_at"], row["updated_at"])


def get(store: Store, case_id: str) -> Case | None:
    rows = store.query("SELECT * FROM kiosk_cases WHERE id = ?", [case_id])
    return _row(rows[0]) if rows else None


def of_resident(store: Store, key: str) -> list[Case]:
    """The resident's cases, newest first."""
    return [_row(r) for r in store.query(
        "SELECT * FROM kiosk_cases WHERE resident_key = ? ORDER BY created_at DESC, id", [key])]


def create(store: Store, *, kind: str, item_id: str, item: str, resident: Resident,
           detail: dict[str, Any] | None = None, case_id: str | None = None, event: bool = True,
           payload: dict[str, Any] | None = None, now: float | None = None) -> Case:
    """A new case in ``created``; its ``created`` event goes out unless ``event`` is
    False (a case booked on the phone: the server made it already)."""
    if kind not in KINDS:
        raise CaseError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    moment = time.time() if now is None else now
    case_id = case_id or new_case_id(kind, moment)
    with store.atomic() as db:
        if db.execute("SELECT 1 FROM kiosk_cases WHERE id = ?", [case_id]).fetchone():
            raise CaseError(f"case {case_id} exists already")
        db["kiosk_cases"].insert({
            "id": case_id, "kind": kind, "item_id": item_id, "item": item, "resident_key": resident.key,
            "resident_name": resident.name, "state": lifecycle.check(None, CaseState.CREATED).value,
            "detail": json.dumps(detail or {}, ensure_ascii=False), "created_at": moment, "updated_at": moment})
        if event:
            append_event(db, aggregate_type=lifecycle.CASE, aggregate_id=case_id, event_type="created",
                         payload={"kind": kind, "item_id": item_id, "item": item, "resident": resident.key,
                                  "resident_name": resident.name, **(detail or {}), **(payload or {})})
    found = get(store, case_id)
    assert found is not None
    return found


def move(store: Store, case_id: str, target: CaseState | str, *, event: bool = True,
         payload: dict[str, Any] | None = None, **fields: Any) -> Case:
    """Move the case on (checked against the lifecycle), with its event unless ``event`` is False."""
    with store.atomic() as db:
        row = db.execute("SELECT state FROM kiosk_cases WHERE id = ?", [case_id]).fetchone()
        if row is None:
            raise CaseError(f"no case {case_id} at this kiosk")
        try:
            state = lifecycle.check(row[0], target)
        except lifecycle.TransitionRefused as exc:
            raise CaseError(exc.message) from exc
        db["kiosk_cases"].update(case_id, {**fields, "state": state.value, "updated_at": time.time()})
        if event:
            append_event(db, aggregate_type=lifecycle.CASE, aggregate_id=case_id, event_type=state.value,
                         payload=dict(payload or {}))
    found = get(store, case_id)
    assert found is not None
    return found


def observe(store: Store, case_id: str, state: CaseState | str, **fields: Any) -> Case | None:
    """What another part of the system (the locker daemon) reports of a case: recorded
    here without an event (that part pushes its own). States the lifecycle cannot
    reach from here in one step are taken as they are: the report is the truth."""
    state = lifecycle.parse_state(state)
    assert state is not None
    current = get(store, case_id)
    if current is None:
        return None
    if current.state is state and not fields:
        return current
    with store.atomic() as db:
        db["kiosk_cases"].update(case_id, {**fields, "state": state.value, "updated_at": time.time()})
    return get(store, case_id)


# How far along the lifecycle a state is, for folding reports that may lag: a report
# of a state behind the kiosk's is taken only when it is newer (an expired result put
# back into a locker); one ahead always is.
RANK: dict[CaseState, int] = {
    CaseState.CREATED: 0, CaseState.MATERIALS_DEPOSITED: 1, CaseState.COLLECTED: 2, CaseState.IN_REVIEW: 3,
    CaseState.APPROVED: 4, CaseState.RETURNED_WITH_REASONS: 4, CaseState.RESULT_DEPOSITED: 5,
    CaseState.EXPIRED: 6, CaseState.PICKED_UP: 7, CaseState.EVALUATED: 8, CaseState.QUARANTINED: 9,
    CaseState.CLOSED: 10, CaseState.CANCELLED: 10,
}


def ahead(state: CaseState | str, of: CaseState | str) -> bool:
    """``state`` is further along the lifecycle than ``of``."""
    return RANK[CaseState(state)] > RANK[CaseState(of)]


def follow_server(store: Store, case_ids: list[str] | None = None) -> list[str]:
    """Fold the server's state of this kiosk's cases in (what the sync agent pulled into
    :mod:`sync.store.server_cases`: a worker's console actions, the locker, the phone).
    A state further along always wins (the locker's reports lag, and a locker never
    hears of the console's steps); otherwise the newer by event time does, unless the
    kiosk has an event of the case the server has not acknowledged yet: its own step
    (a rating, a cancel) stays visible. Returns the ids of the cases it moved."""
    with store.reader() as db:
        mine = {r[0]: r for r in db.execute(
            "SELECT id, state, updated_at, item_id FROM kiosk_cases" + (
                f" WHERE id IN ({', '.join('?' * len(case_ids))})" if case_ids is not None else ""),
            list(case_ids or [])).fetchall()}
        theirs = server_cases.of_cases(db, sorted(mine))
        unsent = {r[0] for r in db.execute(
            f"SELECT DISTINCT aggregate_id FROM outbox WHERE sent_at IS NULL AND aggregate_type = ? "
            f"AND aggregate_id IN ({', '.join('?' * len(theirs))})", [lifecycle.CASE, *theirs]).fetchall()}
    moved = []
    for case_id, server in theirs.items():
        _, state, updated_at, item_id = mine[case_id]
        try:
            target = CaseState(server.state)
        except ValueError:  # a state a newer server knows: keep what the kiosk knows
            continue
        if target.value == state or not (ahead(target, state) or (server.moment > updated_at
                                                                  and case_id not in unsent)):
            continue  # the kiosk's own step the server has not heard of yet stays (a rating)
        fields: dict[str, Any] = {"state": target.value, "updated_at": max(server.moment, updated_at)}
        if item_id == "booking" and server.item:  # booked on a phone: the server knows its item
            fields["item"] = server.item
        with store.atomic() as db:
            db["kiosk_cases"].update(case_id, fields)
        moved.append(case_id)
    return moved


def rate(store: Store, case_id: str, stars: int, *, comment: str = "") -> Case:
    """The resident rates a finished case 1–5: an ``evaluated`` event."""
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise CaseError(f"a rating is 1 to 5 stars, not {stars!r}")
    case = get(store, case_id)
    if case is None:
        raise CaseError(f"no case {case_id} at this kiosk")
    if not case.rateable:
        raise CaseError(f"case {case_id} is {case.state.value}: only a case picked up can be rated, once")
    return move(store, case_id, CaseState.EVALUATED, rating=stars,
                payload={"rating": stars, **({"comment": comment[:200]} if comment else {})})
