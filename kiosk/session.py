"""The resident's session: who was identified, and everything the journeys learnt
about them, held in ONE object so ending the session drops it all.

A session starts when a card is read and ends on: the home button, the idle
timeout, the card pulled off the reader, or a journey's end. :meth:`Session.end`
clears every field and the journeys' scratch space, tells the listeners (screens
drop what they show; flows close their identity checks) and starts afresh: the
next resident finds nothing of the last. Plain Python, no Qt.

Journeys keep what they need in :attr:`Session.scratch` under their own name
(``session.scratch["residence"] = …``), never in module globals or screen
attributes that outlive the session.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from appliance.privacy import mask_id_number

log = logging.getLogger("kiosk.session")


class EndReason(str, Enum):
    HOME = "home"  # the resident pressed home, or a journey finished
    IDLE = "idle"  # nobody touched the screen
    CARD_PULLED = "card_pulled"
    ADMIN = "admin"  # staff took over


@dataclass(frozen=True)
class Resident:
    """The identified resident: what the card said, and how they were verified."""

    name: str
    id_number: str  # never logged: masked_id
    sex: str
    birth_date: Any  # datetime.date
    address: str
    verified_by: str  # "face" | "staff" | "none"
    face_score: float | None = None

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    def age_on(self, day) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def __repr__(self) -> str:
        return f"Resident({self.masked_id}, verified_by={self.verified_by})"


@dataclass(frozen=True)
class Timeouts:
    """Idle timing; elderly mode multiplies both."""

    idle_s: float = 60.0  # no touch for this long: the countdown shows
    countdown_s: float = 10.0  # then home

    def slowed(self, factor: float) -> "Timeouts":
        return Timeouts(self.idle_s * factor, self.countdown_s * factor)


Listener = Callable[[EndReason], None]


class Session:
    def __init__(self) -> None:
        self.resident: Resident | None = None
        self.card: Any = None  # the IdCardRecord (with its photo bytes) while the session lasts
        self.decision: Any = None  # the face check's Decision
        self.scratch: dict[str, Any] = {}
        self.started_at: float | None = None
        self.number = 0  # sessions so far: a stale callback compares it
        self._listeners: list[Listener] = []

    @property
    def active(self) -> bool:
        return self.started_at is not None

    @property
    def identified(self) -> bool:
        return self.resident is not None

    def start(self) -> None:
        if self.active:
            return
        self.number += 1
        self.started_at = time.monotonic()
        log.info("session %d started", self.number)

    def identify(self, resident: Resident, decision: Any = None) -> None:
        self.start()
        self.resident = resident
        self.decision = decision
        log.info("session %d: resident %s verified by %s", self.number, resident.masked_id, resident.verified_by)

    def on_end(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def end(self, reason: EndReason) -> None:
        """Drop everything about the resident, then tell the listeners."""
        was_active = self.active
        self.resident = None
        self.card = None
        self.decision = None
        self.scratch.clear()
        self.scratch = {}
        self.started_at = None
        if was_active:
            log.info("session %d ended: %s", self.number, reason.value)
            self.number += 1  # callbacks of the ended session are now stale
        for listener in list(self._listeners):
            listener(reason)
