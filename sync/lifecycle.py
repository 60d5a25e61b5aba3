"""The case lifecycle of DESIGN.md: the states, and which change of state is allowed.

One table, pure Python, no I/O: the server enforces it on every pushed event, and the
locker and the kiosk import the same table, so an appliance never records a change
the server would refuse::

    created ─▶ materials_deposited ─▶ collected ─▶ in_review ─┬▶ approved ──────────────┐
                                                             └▶ returned_with_reasons ─┤
                                                                                       ▼
       closed ◀─ evaluated ◀─ picked_up ◀─ result_deposited ◀──────────────────────────┘
    side exits: cancelled, expired (not picked up in N days), quarantined

A case event's ``event_type`` is the state it moves the case to (``"collected"``),
or one of :data:`STATE_OF_EVENT` (the locker's ``pickup_expired`` → ``expired``), or a
note that moves nothing (:data:`CASE_NOTES`: a pickup code issued, a case moved to
another door, …). A printed certificate is a case created and closed at the kiosk
(``created → closed``). The locker's events about its doors, their openings and its
boards are :data:`LOCKER_EVENTS`; :data:`ALARMS` are those someone must act on.
::

    check(CaseState.CREATED, CaseState.COLLECTED)   # raises TransitionRefused
    next_state(None, "created")                     # CaseState.CREATED
"""
from __future__ import annotations

from enum import Enum

from sync.errors import TransitionRefused, UnknownCaseState

CASE = "case"  # the aggregate_type of case events


class CaseState(str, Enum):
    CREATED = "created"
    MATERIALS_DEPOSITED = "materials_deposited"
    COLLECTED = "collected"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETURNED_WITH_REASONS = "returned_with_reasons"
    RESULT_DEPOSITED = "result_deposited"
    PICKED_UP = "picked_up"
    EVALUATED = "evaluated"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    QUARANTINED = "quarantined"


S = CaseState
# state -> the states it may move to. None is "no case yet".
TRANSITIONS: dict[CaseState | None, frozenset[CaseState]] = {
    None: frozenset({S.CREATED}),
    S.CREATED: frozenset({S.MATERIALS_DEPOSITED, S.CLOSED, S.CANCELLED, S.EXPIRED, S.QUARANTINED}),
    S.MATERIALS_DEPOSITED: frozenset({S.COLLECTED, S.CANCELLED, S.EXPIRED, S.QUARANTINED}),
    S.COLLECTED: frozenset({S.IN_REVIEW, S.QUARANTINED}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.RETURNED_WITH_REASONS, S.QUARANTINED}),
    S.APPROVED: frozenset({S.RESULT_DEPOSITED, S.QUARANTINED}),
    S.RETURNED_WITH_REASONS: frozenset({S.RESULT_DEPOSITED, S.QUARANTINED}),
    # expired: not picked up in N days; a worker retrieves the result
    S.RESULT_DEPOSITED: frozenset({S.PICKED_UP, S.EXPIRED, S.QUARANTINED}),
    S.PICKED_UP: frozenset({S.EVALUATED, S.CLOSED}),
    S.EVALUATED: frozenset({S.CLOSED}),
    # a worker who took an expired result back out may put it into a locker again
    S.EXPIRED: frozenset({S.CLOSED, S.RESULT_DEPOSITED}),
    # an admin settles a quarantined case from the console
    S.QUARANTINED: frozenset({S.CLOSED, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset(state for state, targets in TRANSITIONS.items() if state is not None and not targets)

# A resident's report (报事: a case made on a phone, its ``created`` payload has
# ``kind: "report"``) goes its own short way; :func:`check`, :func:`allowed` take
# ``kind=REPORT`` for it. No locker or kiosk moves a report::
#
#     created ─▶ in_review (a grid worker is handling it) ─▶ closed (resolved: the resident is told how)
#     side exit: cancelled
REPORT = "report"
REPORT_TRANSITIONS: dict[CaseState | None, frozenset[CaseState]] = {
    None: frozenset({S.CREATED}),
    S.CREATED: frozenset({S.IN_REVIEW, S.CANCELLED}),
    S.IN_REVIEW: frozenset({S.CLOSED, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}
# The locker's ``result_deposited`` for a case the server has only as collected or in
# review: the worker reviewed on paper and deposited directly. The server applies it
# as a review implied by that worker (:func:`implies_review`), named so in the
# event's reason; after picked_up a second result stays refused.
IMPLIED_REVIEW = frozenset({S.COLLECTED, S.IN_REVIEW})

# Case events named otherwise than the state they move the case to.
STATE_OF_EVENT: dict[str, CaseState] = {
    "pickup_expired": S.EXPIRED,  # the locker: not picked up in time, back on the worker's list
}
# Case events that move no state (the locker's): kept, the case stays where it is.
CASE_NOTES = frozenset({
    "pickup_code_issued",  # the resident's pickup code (and its short form) for a deposited result
    "pickup_held",  # a pickup's door may have opened unwatched: a worker must look (its code stays spent)
    "pickup_not_made",  # the result is still inside after all: a new code follows
    "held_pickup_looked_at",  # a worker opened a held pickup's door
    "case_moved",  # a worker moved the paper by hand to another door
    "dropoff_empty",  # the drop-off door closed with nothing inside (item sensor)
    "no_other_door",  # the door jammed and no other free door was there for the case
    "retrieved",  # a worker took an expired result back out of the locker (the case stays expired)
    "resident_contacted",  # a grid worker wrote to the resident from the console (sync.server.worker)
})
# The locker's events about anything but a case (aggregate type -> event types).
LOCKER_EVENTS: dict[str, frozenset[str]] = {
    "door": frozenset({"free", "reserved", "occupied", "check", "out_of_service", "door_installed",
                       "door_in_service", "door_out_of_service", "door_emptied", "forced", "door_left_open",
                       "unlock_unknown", "maintenance_open"}),
    "opening": frozenset({"unlock_commanded", "unlock_result", "door_opened", "door_closed", "jammed",
                          "not_opened", "closed_in_flight"}),
    "board": frozenset({"board_offline", "board_online"}),
}
# Events about a resident rather than a case (aggregate type -> event types): the kiosk
# pushes ``phone_confirmed`` (payload ``phone`` and ``resident``, the ID card's keyed
# hash) when a resident confirms her phone number with her ID card; the server links the
# number to her household record (sync.server.phone.links).
RESIDENT_EVENTS: dict[str, frozenset[str]] = {"phone": frozenset({"phone_confirmed"})}
# Events someone must act on (a console shows them).
ALARMS = frozenset({"forced", "door_left_open", "jammed", "not_opened", "closed_in_flight", "board_offline",
                    "pickup_held", "no_other_door", "unlock_unknown"})


def parse_state(value: str | CaseState | None) -> CaseState | None:
    """``None`` stays None (no case yet); an unknown name is :class:`UnknownCaseState`."""
    if value is None or isinstance(value, CaseState):
        return value
    try:
        return CaseState(value)
    except ValueError:
        raise UnknownCaseState(value) from None


def _table(kind: str | None) -> dict[CaseState | None, frozenset[CaseState]]:
    return REPORT_TRANSITIONS if kind == REPORT else TRANSITIONS


def allowed(current: CaseState | str | None, target: CaseState | str, kind: str | None = None) -> bool:
    return parse_state(target) in _table(kind).get(parse_state(current), frozenset())


def check(current: CaseState | str | None, target: CaseState | str, kind: str | None = None) -> CaseState:
    """Return the target state, or raise :class:`TransitionRefused` naming the current
    one (``kind=REPORT``: a resident's report, :data:`REPORT_TRANSITIONS`)."""
    now, then = parse_state(current), parse_state(target)
    assert then is not None
    targets = _table(kind).get(now, frozenset())
    if then not in targets:
        raise TransitionRefused(now.value if now else None, then.value, sorted(s.value for s in targets))
    return then


def implies_review(current: CaseState | str | None, event_type: str) -> bool:
    """The locker's ``result_deposited`` on a case still collected or in review: the
    worker reviewed on paper (:data:`IMPLIED_REVIEW`)."""
    return event_type == S.RESULT_DEPOSITED.value and parse_state(current) in IMPLIED_REVIEW


def next_state(current: CaseState | str | None, event_type: str) -> CaseState:
    """The state a case event moves the case to (its event_type names it, or
    :data:`STATE_OF_EVENT` does). A note (:data:`CASE_NOTES`) moves nothing: ask
    :func:`is_note` first."""
    return check(current, STATE_OF_EVENT.get(event_type, event_type))


def is_note(event_type: str) -> bool:
    """A case event that moves no state (:data:`CASE_NOTES`)."""
    return event_type in CASE_NOTES


def is_announced_again(current: CaseState | str | None, event_type: str) -> bool:
    """``created`` for a case that is just created: the same case announced by a
    second part of the system (the locker taking a case the kiosk made or the phone
    booked): the same fact, not a collision."""
    return event_type == S.CREATED.value and parse_state(current) is S.CREATED
