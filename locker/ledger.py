"""The one place where a case, an opening or a door changes state.

:func:`set_state` checks the transition against :mod:`locker.states`, writes the
row, appends the outbox event (:func:`sync.store.append_event`) and the audit entry
(:mod:`locker.audit`) — inside ONE ``store.atomic()``: all of it is written, or
none. A flow step that moves several machines at once (a door closing moves its
opening, its case and the door) nests these calls in one outer ``atomic()``.

:func:`record` does the same for an event that changes no state (forced, board
offline, door left open, a refused code).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from locker import audit
from locker.errors import TransitionError
from locker.states import (CASE_TRANSITIONS, DOOR_TRANSITIONS, OPENING_TRANSITIONS, CaseState, DoorUse,
                           OpeningState)
from sync.store import Store, append_event

log = logging.getLogger("locker")


@dataclass(frozen=True)
class Machine:
    name: str  # also the outbox aggregate_type
    table: str
    column: str
    enum: type[StrEnum]
    transitions: dict


CASE = Machine("case", "cases", "state", CaseState, CASE_TRANSITIONS)
OPENING = Machine("opening", "openings", "state", OpeningState, OPENING_TRANSITIONS)
DOOR = Machine("door", "doors", "use", DoorUse, DOOR_TRANSITIONS)


class Ledger:
    """Writes through the store; ``listeners`` are called after each commit that
    appended audit entries (the API's event stream waits on them)."""

    def __init__(self, store: Store, locker_id: str) -> None:
        self.store = store
        self.locker_id = locker_id
        self.listeners: list = []
        self.recorded = 0  # entries appended so far: a poll that changed nothing wakes nobody

    def atomic(self):
        return _Notifying(self)

    def set_state(self, db: Database, machine: Machine, ident: Any, new: StrEnum, *, event: str | None = None,
                  fields: dict[str, Any] | None = None, detail: dict[str, Any] | None = None,
                  outbox: bool = True, insert: dict[str, Any] | None = None) -> Any:
        """Move ``machine``'s row ``ident`` to ``new``. ``insert`` creates the row
        (the transition from ``None``); ``fields`` are written along."""
        row = db.execute(f"SELECT {machine.column} FROM {machine.table} WHERE id = ?", [ident]).fetchone()
        old = None if row is None else machine.enum(row[0])
        if new not in machine.transitions.get(old, set()) and old != new:
            raise TransitionError(machine.name, ident, old, new)
        values = {**(fields or {}), machine.column: str(new)}
        if machine is not OPENING:
            values["updated_at"] = time.time()
        # Plain SQL, not sqlite_utils' insert/update: those introspect the table on every
        # call, and this runs between a scanned code and its unlock frame (bench locker).
        # Column names come from this package's code, never from a request.
        if row is None:
            if insert is None:
                raise TransitionError(machine.name, ident, None, new)
            columns = {**insert, **values, **({"id": ident} if ident is not None else {})}
            cursor = db.execute(f"INSERT INTO {machine.table} ({', '.join(columns)}) "
                                f"VALUES ({', '.join('?' * len(columns))})", list(columns.values()))
            if ident is None:
                ident = cursor.lastrowid
        else:
            db.execute(f"UPDATE {machine.table} SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?",
                       [*values.values(), ident])
        name = event or str(new)
        body = {"from": None if old is None else str(old), "to": str(new), **(detail or {})}
        self.record(db, name, machine.name, str(ident), body, outbox=outbox)
        return ident

    def record(self, db: Database, event: str, aggregate: str, ident: str, detail: dict[str, Any] | None = None,
               *, outbox: bool = True, secret: dict[str, Any] | None = None) -> None:
        """``secret`` goes to the server (the outbox) but not into the audit log,
        which anyone at the appliance may read: a pickup code is a bearer token."""
        detail = {"locker": self.locker_id, **(detail or {})}
        audit.append(db, event, f"{aggregate}:{ident}", detail)
        self.recorded += 1
        if outbox:
            append_event(db, aggregate_type=aggregate, aggregate_id=ident, event_type=event,
                         payload={**detail, **(secret or {})})
        log.info("%s %s:%s %s", event, aggregate, ident,
                 {k: v for k, v in detail.items() if k not in ("locker", "code", "short")})


class _Notifying:
    """``store.atomic()`` that tells the listeners once the outermost level commits."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._cm: Any = None
        self._start = 0

    def __enter__(self) -> Database:
        self._cm = self.ledger.store.atomic()
        db = self._cm.__enter__()
        self._start = self.ledger.recorded
        return db

    def __exit__(self, *exc: Any) -> Any:
        result = self._cm.__exit__(*exc)
        if exc[0] is None and self.ledger.recorded != self._start:
            for listener in list(self.ledger.listeners):
                listener()
        return result
