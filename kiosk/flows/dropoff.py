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
- A resident without her phone types the booking's 8-character short code on the
  keypad (:meth:`press`, :meth:`submit_code`): the server names the booking
  (:mod:`kiosk.flows.bookings`) and the locker checks its QR as if it were scanned.
  Wrong codes back the keypad off as the locker backs off its pickup short codes
  (:class:`locker.throttle.Throttle`: ``tries`` wrong a minute, then ``backoff``
  seconds, doubling), and the server counts them per kiosk too.
- A booking QR shown to the locker's own scanner opens a door without a tap here:
  while the choice or the keypad shows, :meth:`watch_scanner` looks for a door the
  locker opened for a booked case, and :meth:`scanned` follows it (door, deposit,
  receipt) as if the kiosk had asked.
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

from appliance.journal import log_context
from kiosk.flows import bookings
from kiosk.flows.bookings import BookingDesk, BookingRefused
from kiosk.flows.doors import DoorRefused, LockerDoors
from kiosk.flows.printing import CertificatePrinting, PrintResult
from kiosk.store import cases
from kiosk.store.cases import Case, Resident
from kiosk.store.guide import Guide, GuideItem
from locker import codes
from locker.errors import Refused
from locker.throttle import Throttle
from sync.store import Store

RECEIPT = "dropoff_receipt"
log = logging.getLogger("kiosk.dropoff")
BOOKED_ITEM = "预约办件"  # a booking made on the phone: the item is the server's to know
KEYPAD = "keypad"  # the throttle's source for short codes typed here


class Step(str, Enum):
    CHOOSE = "choose"  # pick the service item, or scan the booking QR
    CODE = "code"  # type the booking's short code (no phone at hand)
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
    # an item, a booking QR scanned here, the short code, or the locker's scanner opened a door (OPEN)
    S.CHOOSE: frozenset({S.CONFIRM, S.OPENING, S.REFUSED, S.CODE, S.OPEN}),
    S.CODE: frozenset({S.CHOOSE, S.OPENING, S.REFUSED, S.OPEN}),  # a wrong code stays at CODE
    S.CONFIRM: frozenset({S.CONFIRM, S.OPENING, S.REFUSED}),
    S.OPENING: frozenset({S.OPEN, S.FAILED}),
    S.OPEN: frozenset({S.DEPOSITED, S.EMPTY}),
    S.DEPOSITED: frozenset({S.DONE}),
    S.EMPTY: frozenset({S.OPENING, S.REFUSED}),  # open a door again
    S.REFUSED: frozenset({S.CONFIRM, S.OPENING, S.REFUSED, S.CODE, S.OPEN}),
    S.FAILED: frozenset(),
    S.DONE: frozenset(),
}


class DropOffFlow:
    def __init__(self, doors: LockerDoors, store: Store, guide: Guide, printing: CertificatePrinting | None = None,
                 *, resident: Resident | None = None, locker_name: str = "", progress_url: str = "",
                 open_timeout: float = 10.0, close_timeout: float = 600.0, reroute_timeout: float = 5.0,
                 desk: BookingDesk | None = None, throttle: Throttle | None = None,
                 locker_prints: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.doors, self.store, self.guide, self.printing = doors, store, guide, printing
        # the locker daemon on this box prints its own receipt for a booking QR shown to its
        # scanner ([locker] receipt): this screen then prints none, or the resident gets two
        self.locker_prints = locker_prints
        self.resident = resident
        self.locker_name, self.progress_url = locker_name, progress_url
        self.open_timeout, self.close_timeout, self.reroute_timeout = open_timeout, close_timeout, reroute_timeout
        # the short codes' look-up and back-off: the throttle outlives a session (the screen keeps
        # it), or "home" and a new card would wipe a guesser's count
        self.desk, self.throttle = desk, throttle or Throttle()
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
        self.typed = ""  # the booking short code typed so far
        self.scanned_here = False  # the locker's own scanner opened the door: no opening of ours to follow
        self.receipt_by_locker = False  # the locker printed this deposit's receipt, not this flow
        self.booked_size = "M"

    def end_session(self) -> None:
        self.reset()
        self.resident = None

    def set_state(self, step: Step) -> None:
        """Move to ``step`` if the journey allows it from here (else a bug: ValueError)."""
        if step is not self.step and step not in TRANSITIONS[self.step]:
            raise ValueError(f"drop-off: {self.step.value} → {step.value} is not a step of the journey")
        if step is not self.step:
            with log_context(case=self.case_id, door=self.door):  # journalctl KIOSK_CASE=… finds the journey
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

    # -- the booking's short code on the keypad -----------------------------------------------------
    def type_code(self) -> Step:
        """The keypad for the booking's short code (the resident has no phone with her)."""
        self.typed, self.refusal = "", None
        self.set_state(Step.CODE)
        return self.step

    def back_to_choice(self) -> Step:
        self.typed, self.refusal = "", None
        self.set_state(Step.CHOOSE)
        return self.step

    def press(self, key: str) -> str:
        """A character of the booking alphabet, ``back`` or ``clear``; what is typed so far.
        A refusal shown stays until the next try, except a back-off's (its countdown runs)."""
        if key == "back":
            self.typed = self.typed[:-1]
        elif key == "clear":
            self.typed = ""
        elif len(key) == 1 and key.upper() in bookings.ALPHABET and len(self.typed) < bookings.LENGTH:
            self.typed += key.upper()
        if self.refusal is not None and self.refusal.reason != "backing_off":
            self.refusal = None
        return self.typed

    @property
    def code_complete(self) -> bool:
        return len(self.typed) == bookings.LENGTH

    def wait_seconds(self) -> int:
        """Seconds the keypad must still wait after too many wrong codes (0: go ahead)."""
        return int(self.throttle.backing_off(KEYPAD) + 0.999)

    def submit_code(self) -> Step:
        """Find the booking the typed short code names and ask the locker to open a door
        for its QR (blocking: the server, then the locker). A wrong code keeps the keypad
        (Step.CODE, ``refusal`` says why); a found booking goes on as a scanned QR does."""
        assert self.step is Step.CODE
        short, self.refusal = self.typed, None
        try:
            self.throttle.check(KEYPAD, short=True)
            if self.desk is None:
                raise BookingRefused("booking_unreachable", "no server configured ([sync] server_url)")
            booking = self.desk.find(short)
        except Refused as exc:  # the keypad's own back-off
            self.refusal = DoorRefused(exc.reason, retry_after=exc.retry_after)
            return self.step
        except BookingRefused as exc:
            reason, retry_after = exc.reason, exc.retry_after
            if reason in ("wrong_booking_code", "backing_off"):  # backing_off: the server's count for this kiosk
                self.typed = ""
            if reason == "wrong_booking_code":
                self.throttle.wrong(KEYPAD, short=True)
                if self.throttle.backing_off(KEYPAD):  # that was one too many: say so now, not at the next try
                    reason, retry_after = "backing_off", self.throttle.backing_off(KEYPAD)
            self.refusal = DoorRefused(reason, exc.detail, retry_after=retry_after)
            log.info("drop-off: booking short code refused (%s)", reason)
            return self.step
        self.typed = ""  # a bearer code: not kept once used
        return self.scan(booking.code)

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
        self._booked_here(code.case, code.size)
        return self._opening(answer)

    def _booked_here(self, case_id: str, size: str) -> None:
        if self.resident is not None and cases.get(self.store, case_id) is None:
            # the server made the case (no event from here); My progress follows it at this kiosk
            self.case = cases.create(self.store, kind="dropoff", item_id="booking", item=BOOKED_ITEM,
                                     resident=self.resident, case_id=case_id, event=False,
                                     detail={"size": size, "booked": True})

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
        if self.scanned_here and self.case is None:  # the store is a file: written here, on the worker
            self._booked_here(self.case_id, self.booked_size)

        def settled() -> str | None:
            case = self.doors.case(self.case_id)  # type: ignore[arg-type]
            if case and case["state"] == "materials_deposited":
                return "deposited"
            if self.opening is not None and self.opening["id"]:
                opening = self.doors.opening(self.opening["id"])
                if opening["state"] == "closed" and not self._reserved():
                    return "empty"  # shut with nothing inside: the door is free again
            elif self.scanned_here and case and case["state"] == "created" and not self._reserved():
                return "empty"  # the locker's scanner opened it; shut empty, the door is free again
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

    # -- a booking QR shown to the locker's own scanner -------------------------------------------
    def watch_scanner(self, stop: Callable[[], bool], *, interval: float = 0.5) -> tuple[int, str, str] | None:
        """While the choice (or the keypad) shows, the resident may show her booking QR to
        the locker's scanner: the locker checks it and opens a door by itself. Blocking (a
        worker thread): the first door reserved for a case still to be deposited that is
        seen open after the watch began, as (door, case, size); None once ``stop()`` says
        so. It changes nothing: :meth:`scanned` applies it (on the UI thread)."""
        before: set[int] | None = None
        while not stop():
            try:
                state = self.doors.state()
            except DoorRefused:
                state = {"cases": [], "doors": []}  # the locker is away a moment: look again
            waiting = {c["id"]: c for c in state["cases"] if c["state"] == "created"}
            reserved = {d["number"]: d for d in state["doors"] if d["use"] == "reserved" and d["case"] in waiting}
            if before is None:  # reserved before the watch began (open, or its unlock on the way): not hers
                before = set(reserved)
            fresh = [(number, d["case"]) for number, d in reserved.items() if d["seen"] == "open" and number not in before]
            if fresh:
                number, case = fresh[0]
                return number, case, str(waiting[case].get("size") or "M")
            time.sleep(interval)
        return None

    def scanned(self, door: int, case_id: str, size: str = "M") -> Step:
        """The door the locker opened for a booking QR at its own scanner: put the papers
        in and shut it; the rest (deposited, the receipt) as for a door asked for here."""
        if self.step in (Step.CHOOSE, Step.CODE, Step.REFUSED):
            self.typed, self.refusal, self.opening, self.item = "", None, None, None
            self.door, self.case_id, self.case, self.scanned_here = door, case_id, None, True
            self.booked_size = size
            self.set_state(Step.OPEN)
        return self.step

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
        if self.scanned_here and self.locker_prints:
            self.receipt_by_locker = True
        elif self.printing is not None:
            self.receipt = self.printing.print_certificate(RECEIPT, self.receipt_data(), lang=lang)
        self.set_state(Step.DONE)
        return self.step
