"""The drop-off journey: choose the service item (or scan a booking QR made on the
phone), confirm the materials, a locker door opens, the resident puts the papers in
and shuts it, and takes the receipt (投递回执) with its progress QR.

Plain Python, no Qt; the screen (:mod:`kiosk.screens.dropoff`) shows :attr:`step`
and forwards taps, and runs the blocking calls off the UI thread::

    flow = DropOffFlow(doors, store, guide, printing, resident=Resident.of(id_number, name))
    flow.choose("elderly-subsidy")          # Step.CONFIRM: flow.item.materials to tick
    flow.confirm_all()
    flow.open_door()                        # Step.OPENING, flow.door = 3
    flow.wait_open()                        # Step.OPEN: "put your papers into door 3, shut it"
    flow.wait_deposited()                   # Step.DEPOSITED (the locker saw the door shut)
    flow.print_receipt()                    # Step.DONE, flow.receipt.printed

- The case is made here: :func:`kiosk.store.cases.create` writes it to the kiosk's
  store with its ``created`` event in the outbox, before the locker is asked. If the
  locker then refuses (no free door, the locker is down), the case is cancelled
  (a ``cancelled`` event): nothing half-made is left behind.
- A booking QR is the server's: the case exists already. The locker checks the code
  (signature, expiry, single use) and opens a door for the size booked.
- The locker alone decides the door, moves the case to ``materials_deposited`` when
  the door is seen shut and pushes that event from its own store; the kiosk records
  what it saw without an event of its own.
- A door that does not open is taken out of service by the locker, which opens
  another one for the same case: the flow follows the case, not the first door.
- The receipt is the ``dropoff_receipt`` form printed through
  :class:`~kiosk.flows.printing.CertificatePrinting`; a printer fault is explained and
  the drop-off stands (the receipt is a courtesy: the case is in the locker).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from enum import Enum
from typing import Any, Callable

from kiosk.flows.doors import FINISHED, DoorRefused, LockerDoors
from kiosk.flows.printing import CertificatePrinting, PrintResult
from kiosk.store import cases
from kiosk.store.cases import Case, Resident
from kiosk.store.guide import Guide, GuideItem
from locker import codes
from locker.errors import Refused
from sync.store import Store

RECEIPT = "dropoff_receipt"
log = logging.getLogger("kiosk.dropoff")
BOOKED_ITEM = "预约办件"  # a booking made on the phone: the item is the server's to know


class Step(str, Enum):
    CHOOSE = "choose"  # pick the service item, or scan the booking QR
    CONFIRM = "confirm"  # tick the materials in hand
    OPENING = "opening"  # the locker is asked; the unlock is on its way
    OPEN = "open"  # put the papers in, shut the door
    DEPOSITED = "deposited"  # the door is shut: the case is in the locker
    DONE = "done"  # the receipt came out (or could not: receipt says why)
    EMPTY = "empty"  # the door was shut with nothing inside (item sensor): try again
    REFUSED = "refused"  # the locker said no: refusal.advice says what to do next
    FAILED = "failed"  # no door could be opened


S = Step
# step -> the steps it may go to (STYLE: an Enum and one set_state() that checks)
TRANSITIONS: dict[Step, frozenset[Step]] = {
    S.CHOOSE: frozenset({S.CONFIRM, S.OPENING, S.REFUSED}),  # an item, or a booking QR scanned
    S.CONFIRM: frozenset({S.CONFIRM, S.OPENING, S.REFUSED}),
    S.OPENING: frozenset({S.OPEN, S.FAILED}),
    S.OPEN: frozenset({S.DEPOSITED, S.EMPTY}),
    S.DEPOSITED: frozenset({S.DONE}),
    S.EMPTY: frozenset({S.OPENING, S.REFUSED}),  # open a door again
    S.REFUSED: frozenset({S.CONFIRM, S.OPENING, S.REFUSED}),
    S.FAILED: frozenset(),
    S.DONE: frozenset(),
}


class DropOffFlow:
    def __init__(self, doors: LockerDoors, store: Store, guide: Guide, printing: CertificatePrinting | None = None,
                 *, resident: Resident | None = None, locker_name: str = "", progress_url: str = "",
                 open_timeout: float = 10.0, close_timeout: float = 600.0, reroute_timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.doors, self.store, self.guide, self.printing = doors, store, guide, printing
        self.resident = resident
        self.locker_name, self.progress_url = locker_name, progress_url
        self.open_timeout, self.close_timeout, self.reroute_timeout = open_timeout, close_timeout, reroute_timeout
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Back to the choice; nothing of the last resident stays (resident is the session's)."""
        self.step = Step.CHOOSE
        self.item: GuideItem | None = None
        self.ticked: set[int] = set()
        self.case: Case | None = None
        self.case_id: str | None = None
        self.booking: codes.Code | None = None
        self.door: int | None = None
        self.opening: dict[str, Any] | None = None
        self.refusal: DoorRefused | None = None
        self.receipt: PrintResult | None = None
        self.deposited_at: datetime | None = None

    def end_session(self) -> None:
        self.reset()
        self.resident = None

    def set_state(self, step: Step) -> None:
        """Move to ``step`` if the journey allows it from here (else a bug: ValueError)."""
        if step is not self.step and step not in TRANSITIONS[self.step]:
            raise ValueError(f"drop-off: {self.step.value} → {step.value} is not a step of the journey")
        if step is not self.step:
            log.info("drop-off %s: %s → %s", self.case_id or "-", self.step.value, step.value)
        self.step = step

    # -- choosing and confirming ---------------------------------------------------------------
    def items(self, query: str = "") -> list[GuideItem]:
        """The service items whose materials may go into the locker."""
        return [i for i in self.guide.search(query) if i.dropoff]

    def choose(self, item_id: str) -> Step:
        item = self.guide.item(item_id)
        if not item.dropoff:
            raise ValueError(f"{item.name}: its materials are not taken by the locker")
        self.item, self.ticked, self.refusal = item, set(), None
        self.set_state(Step.CONFIRM)
        return self.step

    def tick(self, index: int) -> bool:
        """Tick (or untick) material ``index``; True when every material is ticked."""
        assert self.item is not None
        if not 0 <= index < len(self.item.materials):
            raise IndexError(index)
        self.ticked ^= {index}
        return self.all_ticked

    def confirm_all(self) -> None:
        assert self.item is not None
        self.ticked = set(range(len(self.item.materials)))

    @property
    def all_ticked(self) -> bool:
        return self.item is not None and len(self.ticked) == len(self.item.materials)

    @property
    def missing(self) -> list[str]:
        """The materials not ticked: the resident may still go on (the worker calls)."""
        if self.item is None:
            return []
        return [m.material for i, m in enumerate(self.item.materials) if i not in self.ticked]

    # -- the door ------------------------------------------------------------------------------
    def open_door(self) -> Step:
        """Make the case and ask the locker for a door of the item's size."""
        assert self.item is not None and self.step in (Step.CONFIRM, Step.REFUSED, Step.EMPTY)
        if self.resident is None:
            raise RuntimeError("a drop-off for a service item needs an identified resident")
        if self.case is None or self.case.state.value != "created":
            self.case = cases.create(self.store, kind="dropoff", item_id=self.item.id, item=self.item.name,
                                     resident=self.resident, detail={"size": self.item.size},
                                     payload={"missing": self.missing} if self.missing else None)
        self.case_id = self.case.id
        try:
            answer = self.doors.request("dropoff", case=self.case.id, size=self.item.size, item=self.item.name,
                                        resident=self.resident.name)
        except DoorRefused as refusal:
            self._refused(refusal)
            return self.step
        return self._opening(answer)

    def scan(self, text: str) -> Step:
        """A scanned booking QR: the locker checks it and opens a door for it."""
        text = text.strip()
        try:
            code = codes.parse(text)[0]
        except Refused:
            code = None
        if code is None or code.kind != "booking":
            kind = "pickup" if (code is not None and code.kind == "pickup") or codes.SHORT.match(text) else ""
            self._refused(DoorRefused("pickup_here" if kind else "not_booking"), cancel=False)
            return self.step
        self.booking, self.case_id, self.case = code, code.case, None
        try:
            answer = self.doors.request("scan", code=text)
        except DoorRefused as refusal:
            reason = "replayed_booking" if refusal.reason == "replayed" else refusal.reason
            self._refused(DoorRefused(reason, refusal.message, retry_after=refusal.retry_after), cancel=False)
            return self.step
        if self.resident is not None and cases.get(self.store, code.case) is None:
            # the server made the case (no event from here); My progress follows it at this kiosk
            self.case = cases.create(self.store, kind="dropoff", item_id="booking", item=BOOKED_ITEM,
                                     resident=self.resident, case_id=code.case, event=False,
                                     detail={"size": code.size, "booked": True})
        return self._opening(answer)

    def _opening(self, answer: dict[str, Any]) -> Step:
        self.opening, self.door, self.refusal = answer["opening"], answer["door"], None
        self.set_state(Step.OPENING)
        return self.step

    def _refused(self, refusal: DoorRefused, *, cancel: bool = True) -> None:
        self.refusal = refusal
        self.set_state(Step.REFUSED)
        if cancel and self.case is not None and self.case.state.value == "created":
            self.case = cases.move(self.store, self.case.id, "cancelled", payload={"reason": refusal.reason})

    def wait_open(self, stop: Callable[[], bool] | None = None) -> Step:
        """Until the door is seen open (Step.OPEN), or no door can be (Step.FAILED)."""
        assert self.opening is not None
        seen = self.doors.wait_opening(self.opening["id"], {"opened"}, timeout=self.open_timeout, stop=stop)
        if seen is None:
            return self.step
        self.opening = seen
        if seen["state"] in ("opened", "closed", "closed_in_flight"):
            self.set_state(Step.OPEN)
            return self.step
        return self._reroute(stop)  # jammed, not opened: the locker tries another door

    def _reroute(self, stop: Callable[[], bool] | None) -> Step:
        def another() -> dict[str, Any] | None:
            state = self.doors.state()
            door = next((d for d in state["doors"] if d["case"] == self.case_id and d["use"] == "reserved"
                         and d["number"] != self.door), None)
            return door
        door = self.doors.follow(another, timeout=self.reroute_timeout, stop=stop)
        if door is None:
            self.refusal = DoorRefused("no_door_opened")
            self.set_state(Step.FAILED)
            if self.case is not None and self.case.state.value == "created" and self.booking is None:
                self.case = cases.move(self.store, self.case.id, "cancelled", payload={"reason": "no_door_opened"})
            return self.step
        self.door, self.opening = door["number"], None
        if self.doors.follow(lambda: self._door_seen(door["number"]) == "open", timeout=self.open_timeout, stop=stop):
            self.set_state(Step.OPEN)
        return self.step

    def _door_seen(self, number: int) -> str:
        return next((d["seen"] for d in self.doors.state()["doors"] if d["number"] == number), "unknown")

    def wait_deposited(self, stop: Callable[[], bool] | None = None) -> Step:
        """Until the resident shuts the door and the locker records the deposit."""
        assert self.case_id is not None

        def settled() -> str | None:
            case = self.doors.case(self.case_id)  # type: ignore[arg-type]
            if case and case["state"] == "materials_deposited":
                return "deposited"
            if self.opening is not None and self.opening["id"]:
                opening = self.doors.opening(self.opening["id"])
                if opening["state"] == "closed" and not self._reserved():
                    return "empty"  # shut with nothing inside: the door is free again
            return None
        outcome = self.doors.follow(settled, timeout=self.close_timeout, stop=stop)
        if outcome == "deposited":
            self.deposited_at = datetime.fromtimestamp(self.clock())
            if cases.get(self.store, self.case_id) is not None:
                self.case = cases.observe(self.store, self.case_id, "materials_deposited",
                                          locker=self.locker_name, door=self.door)
            self.set_state(Step.DEPOSITED)
        elif outcome == "empty":
            self.refusal = DoorRefused("dropoff_empty")
            self.set_state(Step.EMPTY)
        return self.step

    def _reserved(self) -> bool:
        return any(d["case"] == self.case_id and d["use"] in ("reserved", "occupied") for d in self.doors.state()["doors"])

    # -- the receipt ---------------------------------------------------------------------------
    def receipt_data(self) -> dict[str, Any]:
        assert self.case_id is not None and self.door is not None
        at = self.deposited_at or datetime.fromtimestamp(self.clock())
        item = self.item.name if self.item is not None else BOOKED_ITEM
        name = self.resident.name if self.resident is not None and self.resident.name else "居民"
        return {"case_number": self.case_id, "item": item[:30], "name": name[:20],
                "locker": (self.locker_name or "社区云柜")[:30], "door": self.door,
                "deposited_at": at.strftime("%Y-%m-%dT%H:%M"), "progress_code": self.progress_url + self.case_id}

    def print_receipt(self, lang: str = "zh") -> Step:
        """Print the receipt (blocking: seconds). Step.DONE either way; receipt says how it went."""
        assert self.step is Step.DEPOSITED
        if self.printing is not None:
            self.receipt = self.printing.print_certificate(RECEIPT, self.receipt_data(), lang=lang)
        self.set_state(Step.DONE)
        return self.step
