"""The locker's three state machines, as data: a case at the locker, one opening
of a door (an unlock and what followed), and a door's use.

Transitions are checked by :func:`locker.ledger.set_state`, the one place that
changes a state; it writes the row, the outbox event and the audit entry in one
transaction. ``None`` stands for "not there yet".

Case (DESIGN.md, "The case"; only the states the locker itself sets)::

    created ─▶ materials_deposited ─▶ collected ─▶ result_deposited ─▶ picked_up
       └▶ cancelled                                      └▶ expired ─▶ retrieved

A result may be deposited for a case this locker has never seen (it was dropped
off elsewhere, or made on a phone): ``None → result_deposited``.

Opening: ``commanded`` is written BEFORE the unlock frame goes out, so a crash
never leaves an unlock the store does not know of::

    commanded ─▶ opened ─▶ closed            (the flow completes)
        ├──────▶ jammed                      (acknowledged, never seen open)
        ├──────▶ not_opened                  (no evidence it opened: unknown reply,
        │                                     or found closed after a restart)
        └──────▶ closed_in_flight            (the door stood open when the unlock was
                                              sent and was shut before the unlock was
                                              seen to work: not jammed, nobody knows)
"""
from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    CREATED = "created"
    MATERIALS_DEPOSITED = "materials_deposited"
    COLLECTED = "collected"
    RESULT_DEPOSITED = "result_deposited"
    PICKED_UP = "picked_up"
    EXPIRED = "expired"  # not picked up in time: back on the worker's list
    RETRIEVED = "retrieved"  # the worker took the expired result back out
    CANCELLED = "cancelled"


class OpeningState(StrEnum):
    COMMANDED = "commanded"
    OPENED = "opened"
    CLOSED = "closed"
    JAMMED = "jammed"
    NOT_OPENED = "not_opened"
    CLOSED_IN_FLIGHT = "closed_in_flight"


class DoorUse(StrEnum):
    FREE = "free"
    RESERVED = "reserved"  # an opening for a deposit is under way
    OCCUPIED = "occupied"  # holds a case's paper
    CHECK = "check"  # may hold something nobody recorded: a worker must look
    OUT_OF_SERVICE = "out_of_service"


class Purpose(StrEnum):
    DROPOFF = "dropoff"  # resident deposits materials
    COLLECT = "collect"  # worker takes materials (or an expired result, or looks into a CHECK door)
    RETURN = "return"  # worker deposits a result
    PICKUP = "pickup"  # resident takes the result
    MAINTENANCE = "maintenance"  # a maintainer opens a door to look or fix it; no case moves


C, O, D = CaseState, OpeningState, DoorUse

CASE_TRANSITIONS: dict[CaseState | None, set[CaseState]] = {
    None: {C.CREATED, C.RESULT_DEPOSITED},
    C.CREATED: {C.MATERIALS_DEPOSITED, C.CANCELLED},
    C.MATERIALS_DEPOSITED: {C.COLLECTED},
    C.COLLECTED: {C.RESULT_DEPOSITED},
    C.RESULT_DEPOSITED: {C.PICKED_UP, C.EXPIRED},
    C.EXPIRED: {C.RETRIEVED},
    C.PICKED_UP: {C.RESULT_DEPOSITED},  # a new result for the same case (a second certificate)
    C.RETRIEVED: {C.RESULT_DEPOSITED},
    C.CANCELLED: set(),
}

OPENING_TRANSITIONS: dict[OpeningState | None, set[OpeningState]] = {
    None: {O.COMMANDED},
    O.COMMANDED: {O.OPENED, O.JAMMED, O.NOT_OPENED, O.CLOSED_IN_FLIGHT},
    O.OPENED: {O.CLOSED},
    O.CLOSED: set(),
    O.JAMMED: set(),
    O.NOT_OPENED: set(),
    O.CLOSED_IN_FLIGHT: set(),
}

DOOR_TRANSITIONS: dict[DoorUse | None, set[DoorUse]] = {
    None: {D.FREE, D.OUT_OF_SERVICE},
    D.FREE: {D.RESERVED, D.OUT_OF_SERVICE, D.CHECK, D.OCCUPIED},
    D.RESERVED: {D.OCCUPIED, D.FREE, D.CHECK, D.OUT_OF_SERVICE},
    D.OCCUPIED: {D.FREE, D.CHECK, D.OUT_OF_SERVICE},
    D.CHECK: {D.FREE, D.OCCUPIED, D.OUT_OF_SERVICE},
    D.OUT_OF_SERVICE: {D.FREE},
}

FINISHED_OPENINGS = frozenset({O.CLOSED, O.JAMMED, O.NOT_OPENED, O.CLOSED_IN_FLIGHT})
