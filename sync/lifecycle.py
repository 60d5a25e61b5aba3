"""The case lifecycle of DESIGN.md: the states, and which change of state is allowed.

One table, pure Python, no I/O: the server enforces it on every pushed event, and the
locker and the kiosk import the same table, so an appliance never records a change
the server would refuse::

    created ─▶ materials_deposited ─▶ collected ─▶ in_review ─┬▶ approved ──────────────┐
                                                             └▶ returned_with_reasons ─┤
                                                                                       ▼
       closed ◀─ evaluated ◀─ picked_up ◀─ result_deposited ◀──────────────────────────┘
    side exits: cancelled, expired (not picked up in N days), quarantined

A case event's ``event_type`` is the state it moves the case to (``"collected"``).
A printed certificate is a case created and closed at the kiosk (``created → closed``).
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
    S.EXPIRED: frozenset({S.CLOSED}),
    # an admin settles a quarantined case from the console
    S.QUARANTINED: frozenset({S.CLOSED, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset(state for state, targets in TRANSITIONS.items() if state is not None and not targets)


def parse_state(value: str | CaseState | None) -> CaseState | None:
    """``None`` stays None (no case yet); an unknown name is :class:`UnknownCaseState`."""
    if value is None or isinstance(value, CaseState):
        return value
    try:
        return CaseState(value)
    except ValueError:
        raise UnknownCaseState(value) from None


def allowed(current: CaseState | str | None, target: CaseState | str) -> bool:
    return parse_state(target) in TRANSITIONS[parse_state(current)]


def check(current: CaseState | str | None, target: CaseState | str) -> CaseState:
    """Return the target state, or raise :class:`TransitionRefused` naming the current one."""
    now, then = parse_state(current), parse_state(target)
    assert then is not None
    if then not in TRANSITIONS[now]:
        raise TransitionRefused(now.value if now else None, then.value,
                                sorted(s.value for s in TRANSITIONS[now]))
    return then


def next_state(current: CaseState | str | None, event_type: str) -> CaseState:
    """The state a case event moves the case to (its event_type names it)."""
    return check(current, event_type)
