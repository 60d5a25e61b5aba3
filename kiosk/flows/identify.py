"""Identify: the card read → the face check with liveness → welcome by name, and
the fallbacks (card unreadable or expired, face check failed, no camera or no
reference photo: staff-assisted where the config allows). Plain Python, no Qt.

::

    flow = Identification(config.identity, staff_assisted=True, camera=True, staff_pin="2468",
                          staff_cards=["04A1B2C3"], fallback="staff")
    flow.card_read(record)                              # Step.CHECKING
    decision = flow.check(engine, feed, reader=reader, household=households,
                          on_prompt=show)               # blocking: a worker thread
    flow.checked(decision)                              # Step.WELCOME / FAILED / STAFF
    flow.resident                                       # kiosk.session.Resident

What a resident is offered when the check cannot be passed (no reference photo,
or the attempts used up) is ``[identity] fallback``: ``staff`` (a staff member
confirms with the PIN or by placing a staff card, where ``[kiosk] staff_assisted``
allows), ``video`` (a video consultation) or ``none``. No camera at all is staff
assisted whenever ``staff_assisted`` allows.

The flow keeps the card record only until the session ends (:meth:`forget`); the
reference photo and frames never leave :mod:`kiosk.identity`.
"""
from __future__ import annotations

import logging
import time
from datetime import date
from enum import Enum
from typing import Any, Callable

from kiosk.session import Resident

log = logging.getLogger("kiosk.flows.identify")


class Step(str, Enum):
    WAITING = "waiting"  # place the card
    UNREADABLE = "unreadable"  # a card was there but not read
    EXPIRED = "expired"  # read, but past its valid-to date
    CHECKING = "checking"  # the face check runs
    FAILED = "failed"  # attempts used up: video or staff
    STAFF = "staff"  # no camera / no reference: a staff member confirms
    WELCOME = "welcome"


TRANSITIONS: dict[Step, set[Step]] = {
    Step.WAITING: {Step.UNREADABLE, Step.EXPIRED, Step.CHECKING, Step.STAFF},
    Step.UNREADABLE: {Step.WAITING, Step.UNREADABLE, Step.EXPIRED, Step.CHECKING, Step.STAFF},
    Step.EXPIRED: {Step.WAITING, Step.UNREADABLE, Step.CHECKING, Step.STAFF},
    Step.CHECKING: {Step.WELCOME, Step.FAILED, Step.STAFF, Step.WAITING},
    Step.FAILED: {Step.CHECKING, Step.STAFF, Step.WAITING},
    Step.STAFF: {Step.WELCOME, Step.WAITING, Step.CHECKING},
    Step.WELCOME: {Step.WAITING},
}


class IdentifyError(Exception):
    """A transition the flow does not allow (a bug in the screen)."""


class Identification:
    def __init__(self, settings: Any, *, staff_assisted: bool, camera: bool, staff_pin: str = "",
                 staff_cards: Any = (), fallback: str | None = None,
                 today: Callable[[], date] = date.today) -> None:
        self.settings = settings
        self.staff_assisted = staff_assisted
        self.camera = camera
        self.staff_pin = staff_pin
        self.staff_cards = {c.upper() for c in staff_cards}
        self.fallback = fallback or getattr(settings, "fallback", "staff")
        self.today = today
        self.step = Step.WAITING
        self.record: Any = None
        self.decision: Any = None
        self.resident: Resident | None = None
        self.why_staff = ""  # "no_camera" | "no_reference" | "failed"
        self.failure: BaseException | None = None
        self.listeners: list[Callable[[Step], None]] = []
        self.timings: dict[str, float] = {}

    # -- the state machine -----------------------------------------------------------
    def set_step(self, step: Step) -> None:
        if step is not self.step and step not in TRANSITIONS[self.step]:
            raise IdentifyError(f"identify: {self.step.value} → {step.value} is not a step the flow takes")
        log.debug("identify: %s → %s", self.step.value, step.value)
        self.step = step
        for listener in list(self.listeners):
            listener(step)

    @property
    def staff_possible(self) -> bool:
        """A staff member can confirm the resident here (a PIN or a staff card is set)."""
        return self.staff_assisted and (bool(self.staff_pin) or bool(self.staff_cards))

    @property
    def offers(self) -> tuple[str, ...]:
        """What a resident who cannot pass the check is offered (``[identity] fallback``):
        ``("staff",)``, ``("video",)`` or ``()``."""
        if self.fallback == "staff":
            return ("staff",) if self.staff_possible else ()
        if self.fallback == "video":
            return ("video",)
        return ()

    # -- the card ------------------------------------------------------------------------
    def card_read(self, record: Any) -> Step:
        self.forget_card()
        self.record = record
        self.timings["card_at"] = time.perf_counter()
        if not record.is_valid_on(self.today()):
            self.set_step(Step.EXPIRED)
        elif not self.camera:
            self.why_staff = "no_camera"
            self.set_step(Step.STAFF)
        else:
            self.set_step(Step.CHECKING)
        return self.step

    def card_unreadable(self, exc: BaseException) -> Step:
        self.forget_card()
        self.failure = exc
        self.set_step(Step.UNREADABLE)
        return self.step

    # -- the face check --------------------------------------------------------------------
    def check(self, engine: Any, feed: Any, *, reader: Any = None, household: Any = None,
              on_prompt: Callable[[Any], None] | None = None) -> Any:
        """Run the face check (blocking). Returns the :class:`kiosk.identity.Decision`."""
        from kiosk.identity import verify_resident

        if self.record is None:
            raise IdentifyError("identify: no card was read")
        return verify_resident(engine, self.settings, self.record, feed, reader=reader, household=household,
                               on_prompt=on_prompt)

    def checked(self, decision: Any) -> Step:
        from kiosk.identity import Verdict

        self.decision = decision
        self.timings["checked_at"] = time.perf_counter()
        if decision.matched:
            self.resident = self._resident("face", decision.score)
            self.set_step(Step.WELCOME)
        elif decision.verdict is Verdict.NO_REFERENCE:
            self.why_staff = "no_reference"
            self.set_step(Step.STAFF if "staff" in self.offers else Step.FAILED)
        else:
            self.why_staff = "failed"
            self.set_step(Step.FAILED)
        return self.step

    def camera_failed(self, exc: BaseException) -> Step:
        self.failure = exc
        self.why_staff = "no_camera"
        self.set_step(Step.STAFF)
        return self.step

    def retry(self) -> Step:
        self.decision = None
        self.set_step(Step.CHECKING)
        return self.step

    def staff_confirm(self, pin: str) -> bool:
        """A staff member confirms the resident with the staff PIN (``[kiosk] admin_pin``)."""
        if not self.staff_possible or self.record is None:
            return False
        import hmac
        if not self.staff_pin or not hmac.compare_digest(pin.encode(), self.staff_pin.encode()):
            log.warning("identify: wrong staff PIN")
            return False
        return self._confirmed("PIN")

    def staff_card(self, uid: str) -> bool:
        """A staff member confirms the resident by placing a staff card (``[kiosk]
        admin_cards``) on the PC/SC reader, while the flow waits for staff."""
        if self.step is not Step.STAFF or not self.staff_possible or self.record is None:
            return False
        if uid.upper() not in self.staff_cards:
            log.warning("identify: a card that is no staff card")
            return False
        return self._confirmed("staff card")

    def _confirmed(self, how: str) -> bool:
        self.resident = self._resident("staff", None)
        log.info("identify: %s confirmed by staff (%s, %s)", self.resident.masked_id, how, self.why_staff)
        self.set_step(Step.WELCOME)
        return True

    def _resident(self, how: str, score: float | None) -> Resident:
        r = self.record
        return Resident(name=r.name, id_number=r.id_number, sex=r.sex, birth_date=r.birth_date, address=r.address,
                        verified_by=how, face_score=score)

    # -- the end ------------------------------------------------------------------------------
    def forget_card(self) -> None:
        self.record = self.decision = self.resident = None
        self.failure = None
        self.why_staff = ""

    def forget(self) -> None:
        self.forget_card()
        self.timings.clear()
        self.step = Step.WAITING
