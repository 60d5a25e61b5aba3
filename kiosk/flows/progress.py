"""My progress: the identified resident's cases at this kiosk, each with its state and
the next step in plain words, and a rating (1–5 stars) for the finished ones.

Plain Python, no Qt. The words are catalogue keys (``assets/i18n/progress.toml``):
``progress.state_<state>`` says where the case is, ``progress.next_<kind>_<state>``
(or ``progress.next_<state>``) what happens next or what the resident should do::

    flow = ProgressFlow(store, resident.key, doors)
    for row in flow.load():      # newest first; refreshed from the locker where it knows the case
        show(t(row.state_key), t(row.next_key), row.rateable)
    flow.rate(row.case.id, 5)    # an ``evaluated`` event through the outbox

What the kiosk knows: the cases made here (drop-offs, problems reported), what the
locker daemon on this appliance reports of them (deposited, collected, the result
waiting, picked up), and what the server published of them (``case`` changes the sync
agent pulls: a grid worker collected, reviewed, approved or returned it in the console,
a report was handled). The newer by event time wins, and a state further along always
does; the kiosk's own events not yet synced stay visible (:func:`cases.follow_server`).
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.flows.doors import DoorRefused, LockerDoors
from kiosk.store import cases
from kiosk.store.cases import Case
from sync import lifecycle
from sync.lifecycle import CaseState
from sync.store import Store

# what the locker calls a state -> the lifecycle's (the locker's "retrieved" is its own step
# of an expired case: the worker took the result back out)
LOCKER_STATES = {s.value: s for s in CaseState} | {"retrieved": CaseState.EXPIRED}
# states in the order a resident sees them go by (for the progress bar)
STAGES = (CaseState.CREATED, CaseState.MATERIALS_DEPOSITED, CaseState.COLLECTED, CaseState.IN_REVIEW,
          CaseState.RESULT_DEPOSITED, CaseState.PICKED_UP)
STAGE_OF = {CaseState.APPROVED: 3, CaseState.RETURNED_WITH_REASONS: 3, CaseState.EVALUATED: 5,
            CaseState.CLOSED: 5}


@dataclass(frozen=True)
class ProgressRow:
    case: Case

    @property
    def state_key(self) -> str:
        return f"progress.state_{self.case.state.value}"

    @property
    def next_key(self) -> str:
        if self.case.kind == "report" and self.case.state in (CaseState.CREATED, CaseState.CLOSED):
            return f"progress.next_report_{self.case.state.value}"
        return f"progress.next_{self.case.state.value}"

    @property
    def kind_key(self) -> str:
        return f"progress.kind_{self.case.kind}"

    @property
    def stage(self) -> int:
        """0 … len(STAGES)-1: how far along the usual road the case is (-1: off it)."""
        state = self.case.state
        if state in STAGES:
            return STAGES.index(state)
        return STAGE_OF.get(state, -1)

    @property
    def rateable(self) -> bool:
        return self.case.rateable


def state_keys() -> list[str]:
    """Every key this flow may ask the catalogue for (the catalogue test checks them)."""
    keys = [f"progress.state_{s.value}" for s in CaseState] + [f"progress.next_{s.value}" for s in CaseState]
    keys += ["progress.next_report_created", "progress.next_report_closed"]
    return keys + [f"progress.kind_{k}" for k in cases.KINDS]


class ProgressFlow:
    def __init__(self, store: Store, resident_key: str, doors: LockerDoors | None = None) -> None:
        self.store, self.resident_key, self.doors = store, resident_key, doors
        self.rows: list[ProgressRow] = []
        self.locker_unreachable = False

    def load(self) -> list[ProgressRow]:
        """The resident's cases, newest first, with what the locker and the server know folded in."""
        mine = cases.of_resident(self.store, self.resident_key)
        self.locker_unreachable = False
        if self.doors is not None and any(c.kind == "dropoff" and not c.finished for c in mine):
            try:
                known = {c["id"]: c for c in self.doors.state()["cases"]}
            except DoorRefused:
                self.locker_unreachable = True  # shown as "as last known"; nothing lost
                known = {}
            for case in mine:
                seen = known.get(case.id)
                state = LOCKER_STATES.get(seen["state"]) if seen else None
                # the rating is the kiosk's own step after picked_up: the locker never goes past it;
                # nor back: a locker does not hear of the console's steps (collected by hand, reviewed)
                if state is not None and state is not case.state and case.state is not CaseState.EVALUATED and (
                        lifecycle.allowed(case.state, state) or cases.ahead(state, case.state)):
                    cases.observe(self.store, case.id, state, door=seen.get("door"))
            mine = cases.of_resident(self.store, self.resident_key)
        if mine and cases.follow_server(self.store, [c.id for c in mine]):
            mine = cases.of_resident(self.store, self.resident_key)
        self.rows = [ProgressRow(c) for c in mine]
        return self.rows

    def rate(self, case_id: str, stars: int, comment: str = "") -> ProgressRow:
        case = cases.get(self.store, case_id)
        if case is None or case.resident_key != self.resident_key:
            raise cases.CaseError(f"no case {case_id} of this resident")
        rated = ProgressRow(cases.rate(self.store, case_id, stars, comment=comment))
        self.rows = [rated if r.case.id == case_id else r for r in self.rows]
        return rated

    def end_session(self) -> None:
        self.rows, self.resident_key = [], ""
