"""The pickup journey: scan the pickup QR or type the 8-digit short code on the
keypad; the locker checks it and opens the door; the resident takes the papers and
shuts it.

Plain Python, no Qt. The screen (:mod:`kiosk.screens.pickup`) shows :attr:`step`,
:attr:`digits` and :attr:`refusal` and forwards taps; the blocking calls
(:meth:`submit`, :meth:`wait_open`, :meth:`wait_closed`) run off the UI thread::

    flow = PickupFlow(LockerDoors(socket), store)
    for d in "12345678": flow.press(d)
    flow.submit()                # Step.OPENING, flow.door = 7 — or Step.REFUSED, flow.refusal.advice
    flow.wait_open()             # Step.OPEN: "take your papers and shut door 7"
    flow.wait_closed()           # Step.DONE: the case is picked_up

Every refusal the locker can give is a :class:`~kiosk.flows.doors.DoorRefused` whose
advice says, Chinese first, what happened and what to do next: expired, already used,
wrong code, too many wrong tries (with the seconds to wait), another locker's code …
A typed code that was real but came late (expired: the papers went back to the grid
worker), was already picked up, or was replaced by a newer one says so, not "wrong".
The code is checked by the locker alone (signature, expiry, single use, rate limit).
"""
from __future__ import annotations

import logging
import time
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from appliance.journal import log_context
from kiosk.flows.doors import FINISHED, DoorRefused, LockerDoors

if TYPE_CHECKING:  # the case store loads when a pickup is done, not when home shows
    from sync.store import Store

CODE_LENGTH = 8
# the locker's reasons for 8 digits that were a real pickup code but open nothing any
# more (locker/flows.py STALE_REASONS): said as such, never as a wrong code
STALE = ("pickup_expired", "picked_up", "pickup_replaced")
log = logging.getLogger("kiosk.pickup")


class Step(str, Enum):
    ENTER = "enter"  # typing or scanning
    OPENING = "opening"  # the unlock is on its way
    OPEN = "open"  # the door is open: take the papers, shut the door
    DONE = "done"  # the door is shut: picked up
    REFUSED = "refused"  # the locker said no (refusal says why and what to do)
    FAILED = "failed"  # the door did not open (jammed) or was not seen shut in time


S = Step
# step -> the steps it may go to (STYLE: an Enum and one set_state() that checks)
TRANSITIONS: dict[Step, frozenset[Step]] = {
    S.ENTER: frozenset({S.OPENING, S.REFUSED, S.OPEN}),  # OPEN: a QR shown to the locker's own scanner
    S.REFUSED: frozenset({S.ENTER, S.OPENING, S.REFUSED, S.OPEN}),
    S.OPENING: frozenset({S.OPEN, S.DONE, S.FAILED}),
    S.OPEN: frozenset({S.DONE, S.FAILED}),
    S.DONE: frozenset(),
    S.FAILED: frozenset(),
}


class PickupFlow:
    def __init__(self, doors: LockerDoors, store: Store | None = None, *, open_timeout: float = 10.0,
                 close_timeout: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.doors, self.store = doors, store
        self.open_timeout, self.close_timeout, self.clock = open_timeout, close_timeout, clock
        self.reset()

    def reset(self) -> None:
        """Back to an empty keypad; nothing of the last resident's code stays."""
        self.step = Step.ENTER
        self.digits = ""
        self.door: int | None = None
        self.case_id: str | None = None
        self.opening: dict[str, Any] | None = None
        self.refusal: DoorRefused | None = None
        self.blocked_until = 0.0  # clock() time before which the keypad waits (backing off)

    def set_state(self, step: Step) -> None:
        """Move to ``step`` if the journey allows it from here (else a bug: ValueError)."""
        if step is not self.step and step not in TRANSITIONS[self.step]:
            raise ValueError(f"pickup: {self.step.value} → {step.value} is not a step of the journey")
        if step is not self.step:
            with log_context(case=self.case_id, door=self.door):  # journalctl KIOSK_CASE=… finds the journey
                log.info("pickup: %s → %s", self.step.value, step.value)
        self.step = step

    # -- the keypad ---------------------------------------------------------------------------
    def press(self, key: str) -> str:
        """A digit, ``back`` or ``clear``; the digits typed so far."""
        if key == "back":
            self.digits = self.digits[:-1]
        elif key == "clear":
            self.digits = ""
        elif len(key) == 1 and key.isdigit() and len(self.digits) < CODE_LENGTH:
            self.digits += key
        if self.step is Step.REFUSED:
            self.set_state(Step.ENTER)
        return self.digits

    @property
    def complete(self) -> bool:
        return len(self.digits) == CODE_LENGTH

    def wait_seconds(self) -> int:
        """Seconds the keypad must still wait after too many wrong tries (0: go ahead)."""
        return max(0, int(self.blocked_until - self.clock() + 0.999))

    # -- the locker -----------------------------------------------------------------------------
    def submit(self, scanned: str | None = None) -> Step:
        """Ask the locker to open the door for the typed code, or for ``scanned`` text."""
        code = (scanned if scanned is not None else self.digits).strip()
        if not code:
            return self.step
        self.refusal = None
        try:
            answer = self.doors.request("pickup", code=code)
        except DoorRefused as refusal:
            self.refusal = refusal
            if refusal.reason == "backing_off":
                self.blocked_until = self.clock() + float(refusal.retry_after or 60)
            if refusal.reason in ("wrong_short_code", "backing_off", *STALE):
                self.digits = ""
            self.set_state(Step.REFUSED)
            return self.step
        self.digits = ""  # a bearer code: not kept once used
        self.opening, self.door = answer["opening"], answer["door"]
        self.case_id = self.opening.get("case")
        self.set_state(Step.OPENING)
        return self.step

    def wait_open(self, stop: Callable[[], bool] | None = None) -> Step:
        """Until the door is seen open (Step.OPEN) or did not open (Step.FAILED)."""
        assert self.opening is not None
        seen = self.doors.wait_opening(self.opening["id"], {"opened"}, timeout=self.open_timeout, stop=stop)
        return self._seen(seen)

    def wait_closed(self, stop: Callable[[], bool] | None = None) -> Step:
        """Until the resident shuts the door (Step.DONE)."""
        assert self.opening is not None
        seen = self.doors.wait_opening(self.opening["id"], set(), timeout=self.close_timeout, stop=stop)
        return self._seen(seen)

    # -- a pickup QR shown to the locker's own scanner -----------------------------------------
    def watch_scanner(self, stop: Callable[[], bool], *, interval: float = 0.5) -> tuple[int, str] | None:
        """While the keypad waits, the resident may show the QR to the locker's scanner: the
        locker opens the door by itself. Blocking (a worker thread): the first door holding
        a result that is seen open after the watch began, as (door, case); None once
        ``stop()`` says so. It changes nothing: :meth:`scanned` applies it (UI thread)."""
        before: set[int] | None = None
        while not stop():
            try:
                state = self.doors.state()
            except DoorRefused:
                state = {"cases": [], "doors": []}  # the locker is away a moment: look again
            waiting = {c["id"] for c in state["cases"] if c["state"] == "result_deposited"}
            open_now = {d["number"]: d["case"] for d in state["doors"] if d["seen"] == "open" and d["case"] in waiting}
            if before is None:
                before = set(open_now)  # open before the watch began: not this resident's
            fresh = [(number, case) for number, case in open_now.items() if number not in before]
            if fresh:
                return fresh[0]
            time.sleep(interval)
        return None

    def scanned(self, door: int, case_id: str) -> Step:
        """The door the locker opened for a scanned QR: the resident takes the papers."""
        if self.step in (Step.ENTER, Step.REFUSED):
            self.digits, self.refusal, self.opening = "", None, None
            self.door, self.case_id = door, case_id
            self.set_state(Step.OPEN)
        return self.step

    def wait_picked_up(self, stop: Callable[[], bool] | None = None) -> Step:
        """After a scan (no opening of ours to follow): until the locker records the pickup."""
        assert self.case_id is not None
        done = self.doors.follow(lambda: (self.doors.case(self.case_id) or {}).get("state") == "picked_up",  # type: ignore[arg-type]
                                 timeout=self.close_timeout, stop=stop)
        if done:
            self.set_state(Step.DONE)
            self._picked_up()
        return self.step

    def _seen(self, opening: dict[str, Any] | None) -> Step:
        if opening is None:
            return self.step  # not yet: the screen keeps waiting (or the session ended)
        self.opening = opening
        state = opening["state"]
        if state == "opened":
            self.set_state(Step.OPEN)
        elif state == "closed":
            self.set_state(Step.DONE)
            self._picked_up()
        elif state in FINISHED:  # jammed, not_opened, closed_in_flight
            self.refusal = DoorRefused("jammed" if state != "closed_in_flight" else "pickup_held")
            self.set_state(Step.FAILED)
        return self.step

    def _picked_up(self) -> None:
        """A result of a case dropped off at this kiosk: My progress shows it picked up."""
        if self.store is not None and self.case_id:
            from kiosk.store import cases

            case = cases.get(self.store, self.case_id)
            if case is not None and case.state.value != "picked_up":
                cases.observe(self.store, self.case_id, "picked_up", door=self.door)
