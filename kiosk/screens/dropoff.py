"""Drop-off (投递材料): choose the service item, tick the materials, the door that
opened, the receipt with the case number. A booking made on the phone needs no tap
here: the locker's own scanner opens a door for it, and this screen follows that door
to the receipt (a watch polls the locker while the choice shows). Without her phone
the resident types the booking's 8-character short code on the keypad. The flow is
:class:`kiosk.flows.dropoff.DropOffFlow`."""
from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from drivers.printer import Advice
from kiosk.flows.doors import DoorRefused, LockerDoors
from kiosk.screens._journey import (centred, code_boxes, door_panel, grid_of, item_button, notice, pick,
                                    result_panel, steps, tall, warm_up_printing)
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import card, label, primary, secondary

if TYPE_CHECKING:
    from kiosk.flows.dropoff import DropOffFlow, Step

# The flow, the case store and the locker codes are imported on first use, not at
# start-up: home shows without them (bench_kiosk's cold start).
SCRATCH = "dropoff"
# Step is a str enum: its members look up as their values.
STEP_INDEX = {"choose": 0, "code": 0, "confirm": 1, "opening": 2, "open": 2, "empty": 2, "refused": 1,
              "failed": 2, "deposited": 3, "done": 3}
BOOKING_KEYS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # kiosk.flows.bookings.ALPHABET (not imported at start-up)
CODE_LENGTH = 8


class DropOffScreen(Screen):
    name = "dropoff"
    domain = "dropoff"
    tile = Tile("dropoff.tile", "dropoff.tile_hint", order=40, glyph="投")
    needs_identity = True

    def __init__(self, app) -> None:
        super().__init__(app)
        from locker.throttle import Throttle  # light: the codes' crypto is elsewhere

        # wrong booking codes typed here back the keypad off as the locker's own keypad
        # does ([locker] wrong_tries, backoff_seconds); kept as long as the app runs
        settings = app.config.locker
        self.throttle = Throttle(settings.wrong_tries, float(settings.backoff_seconds))
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._countdown)
        self._watching = False
        self._typed: tuple[QVBoxLayout, QWidget] | None = None  # the code's column and its boxes
        self._code_go: QWidget | None = None

    @property
    def flow(self) -> DropOffFlow | None:
        return self.session.scratch.get(SCRATCH)

    def enter(self, item: str | None = None, **params: Any) -> None:
        if self.flow is None:
            self.refresh()
            self.app.jobs.run(self._make, on_done=lambda flow: self._made(flow, item), busy=self.t("loading"),
                              name="dropoff-load")
            return
        self.flow.reset()
        if item:
            self.flow.choose(item)
        self.refresh()
        self._watch()

    def leave(self) -> None:
        self._tick.stop()
        self._watching = False

    def clear(self) -> None:
        self._tick.stop()
        self._watching = False

    def _make(self) -> DropOffFlow:
        """On a worker: the guide and the store are files."""
        from kiosk.flows.dropoff import DropOffFlow
        from kiosk.store.cases import Resident
        from kiosk.store.guide import Guide

        devices, config = self.app.devices, self.app.config
        resident = self.session.resident
        printing = devices.printing if config.printer.enabled else None
        if printing is not None:
            warm_up_printing(config)
        desk = None
        if config.sync.enabled and config.sync.server_url:
            from kiosk.flows.bookings import BookingDesk
            desk = BookingDesk.from_config(config)
        return DropOffFlow(LockerDoors(devices.locker_socket), devices.store, Guide.load(config),
                           printing, resident=Resident.of(resident.id_number, resident.name) if resident else None,
                           locker_name=config.appliance.name, progress_url=progress_url(config),
                           desk=desk, throttle=self.throttle,
                           locker_prints=config.locker.receipt and config.printer.enabled)

    def _made(self, flow: DropOffFlow, item: str | None) -> None:
        self.session.scratch[SCRATCH] = flow
        if item:
            flow.choose(item)
        self.refresh()
        self._watch()

    # -- a booking QR shown to the locker's own scanner ----------------------------------------
    def _watch(self) -> None:
        """Follow the locker's scanner while the choice or the keypad shows (a worker polls
        the locker); a door it opens for a booking is this resident's drop-off."""
        from kiosk.flows.dropoff import Step

        flow, number, generation = self.flow, self.session.number, self.app.jobs.generation
        if flow is None or self._watching or flow.step not in (Step.CHOOSE, Step.CODE, Step.REFUSED):
            return
        self._watching = True

        def stop() -> bool:  # plain reads from the worker: no widget touched
            return (not self._watching or self.session.number != number or self.app.jobs.generation != generation
                    or flow.step not in (Step.CHOOSE, Step.CODE, Step.REFUSED))

        def found(seen) -> None:
            self._watching = False  # this watch is over
            if seen is None or self.flow is not flow or flow.step not in (Step.CHOOSE, Step.CODE, Step.REFUSED):
                return  # gone, or the door is one this kiosk asked for itself (its own code just went in)
            if flow.scanned(*seen) is Step.OPEN:
                self._tick.stop()
                self._after(Step.OPEN)
        self.app.jobs.run(flow.watch_scanner, stop, on_done=found, on_error=lambda exc: None,
                          name="dropoff-watch-scanner")

    # -- taps ----------------------------------------------------------------------------------
    def choose(self, item_id: str) -> None:
        self.flow.choose(item_id)
        self.refresh()

    def tick(self, index: int) -> None:
        self.flow.tick(index)
        self.refresh()

    def again(self) -> None:
        self.flow.reset()
        self.refresh()
        self._watch()

    # -- the booking's short code ---------------------------------------------------------------
    def type_code(self) -> None:
        self.flow.type_code()
        self.refresh()
        self._watch()
        if self.flow.wait_seconds():
            self._tick.start()

    def back_to_choice(self) -> None:
        self._tick.stop()
        self.flow.back_to_choice()
        self.refresh()
        self._watch()

    def key(self, key: str) -> None:
        flow = self.flow
        noticed = flow.refusal is not None
        flow.press(key)
        if self._typed is None or noticed != (flow.refusal is not None):
            self.refresh()
            return
        # one key: the boxes and the button change, not the 33 keys (a whole keypad costs
        # ~60 ms to build and ~30 ms to paint: a finger feels that on every key)
        column, old = self._typed
        new = code_boxes(self.theme, flow.typed, CODE_LENGTH)
        column.replaceWidget(old, new)
        old.hide()
        old.deleteLater()
        self._typed = (column, new)
        self._code_go.setEnabled(flow.code_complete and not flow.wait_seconds())

    def submit_code(self) -> None:
        from kiosk.flows.dropoff import Step

        flow, number = self.flow, self.session.number

        def work() -> Step:
            step = flow.submit_code()
            if step is Step.OPENING:
                step = flow.wait_open(stop=lambda: self.session.number != number)
            return step
        self.app.jobs.run(work, on_done=self._after, busy=self.t("code_finding"), name="dropoff-code")

    def _countdown(self) -> None:
        flow = self.flow
        if flow is None or not flow.wait_seconds():
            self._tick.stop()
            if flow is not None and flow.refusal is not None and flow.refusal.reason == "backing_off":
                flow.refusal = None
        self.refresh()

    def open_door(self) -> None:
        from kiosk.flows.dropoff import Step

        flow, number = self.flow, self.session.number

        def work() -> Step:
            step = flow.open_door()
            if step is Step.OPENING:
                step = flow.wait_open(stop=lambda: self.session.number != number)
            return step
        self.app.jobs.run(work, on_done=self._after, busy=self.t("opening"), name="dropoff-open")

    def _after(self, step: Step) -> None:
        from kiosk.flows.dropoff import Step

        self.refresh()
        if step is Step.OPEN:
            self.app.voice.say("dropoff.door_open")
        elif step is Step.DONE:
            self.app.voice.say("dropoff.done_title")
        elif step in (Step.REFUSED, Step.FAILED, Step.EMPTY) and self.flow.refusal is not None:
            self.app.voice.say(f"doors.{self.flow.refusal.reason}")
        flow, number = self.flow, self.session.number
        if step is Step.CODE:  # the short code was refused: the keypad again (maybe backing off)
            if flow.wait_seconds():
                self._tick.start()
            self._watch()
        elif step is Step.REFUSED:
            self._watch()
        if step is Step.OPEN:
            self.app.jobs.run(flow.wait_deposited, lambda: self.session.number != number, on_done=self._after,
                              name="dropoff-wait-closed")
        elif step is Step.DEPOSITED:
            self.app.jobs.run(flow.print_receipt, self.app.i18n.lang, on_done=self._after,
                              busy=self.t("printing"), name="dropoff-receipt")

    # -- the look ----------------------------------------------------------------------------------
    def render(self) -> QWidget:
        flow = self.flow
        self._typed = self._code_go = None  # the keypad step's live parts (set by _code)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(self.theme.mm(4))
        top = QHBoxLayout()
        top.addWidget(label(self.t("title"), "heading"))
        top.addStretch(1)
        titles = [self.t("step_choose"), self.t("step_confirm"), self.t("step_door"), self.t("step_receipt")]
        top.addWidget(steps(self.theme, titles, STEP_INDEX[flow.step] if flow else 0), 2)
        layout.addLayout(top)
        if flow is None:
            layout.addStretch(1)
            return body
        from kiosk.flows.dropoff import Step

        part = {Step.CHOOSE: self._choose, Step.CODE: self._code, Step.CONFIRM: self._confirm,
                Step.OPENING: self._open, Step.OPEN: self._open, Step.DEPOSITED: self._open,
                Step.DONE: self._done}.get(flow.step, self._failed)
        layout.addWidget(part(), 1)
        return body

    def _choose(self) -> QWidget:
        th, lang = self.theme, self.app.i18n.lang
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(th.mm(8))
        items = [item_button(th, i.text("name", lang), i.text("department", lang), lambda i=i: self.choose(i.id),
                             name=f"dropoff-item-{i.id}") for i in self.flow.items()]
        left = QVBoxLayout()
        left.addWidget(label(self.t("choose_hint"), "title"))
        left.addWidget(_scrolling(grid_of(th, items, 2)), 1)
        row.addLayout(left, 3)
        side = QVBoxLayout()
        side.setSpacing(th.mm(4))
        side.addWidget(card(th, label(self.t("booked_title"), "title"), label(self.t("booked_hint"), "value")))
        no_phone = card(th, label(self.t("code_title"), "title"), label(self.t("code_hint"), "value"))
        typed = secondary(self.t("code_open"), self.type_code, name="dropoff-type-code")
        tall(typed, th, 18)
        no_phone.layout().addWidget(typed)
        side.addWidget(no_phone)
        side.addStretch(1)
        row.addLayout(side, 1)
        return body

    def _code(self) -> QWidget:
        """The booking's short code on a keypad of its characters (no 0, 1, I, L, O)."""
        th, flow = self.theme, self.flow
        waiting = flow.wait_seconds() > 0
        body = QWidget()
        columns = QHBoxLayout(body)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.setSpacing(th.mm(8))
        left = QVBoxLayout()
        left.setSpacing(th.mm(4))
        left.addWidget(label(self.t("code_title"), "title"))
        left.addWidget(label(self.t("code_typing_hint"), "value"))
        boxes = code_boxes(th, flow.typed, CODE_LENGTH)
        left.addWidget(boxes)
        self._typed = (left, boxes)
        if flow.refusal is not None:
            text = self.t(f"doors.{flow.refusal.reason}",
                          wait=flow.wait_seconds() or round(flow.refusal.retry_after or 60))
            left.addWidget(notice(th, self.t("code_refused"), text, role="error", name="dropoff-code-refusal"))
        go = primary(self.t("open"), self.submit_code, name="dropoff-code-open")
        go.setEnabled(flow.code_complete and not waiting)
        tall(go, th, 18)
        left.addWidget(go)
        self._code_go = go
        left.addWidget(secondary(self.t("code_back"), self.back_to_choice, name="dropoff-code-back"))
        left.addStretch(1)
        columns.addLayout(left, 4)
        columns.addWidget(card(th, _booking_keypad(th, self.key, clear_text=self.t("pickup.clear"),
                                                   back_text=self.t("pickup.back"), enabled=not waiting)), 5)
        return body

    def _confirm(self) -> QWidget:
        th, lang, flow = self.theme, self.app.i18n.lang, self.flow
        item = flow.item
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(3))
        layout.addWidget(label(f"{item.text('name', lang)} · {self.t('confirm_hint')}", "title"))
        rows = []
        for index, material in enumerate(item.materials):
            side = self.t("copies", form=self.t(f"form_{material.form}"), copies=material.copies)
            rows.append(item_button(th, material.material, material.note, lambda i=index: self.tick(i),
                                    name=f"dropoff-material-{index}", checked=index in flow.ticked, side=side))
        layout.addWidget(_scrolling(grid_of(th, rows, 1)), 1)
        missing = len(flow.missing)
        status = label(self.t("missing", count=missing) if missing else self.t("all_ready"), "value")
        status.setObjectName("dropoff-missing")
        status.setStyleSheet(f"color: {th.palette.warn if missing else th.palette.ok}; font-weight: bold;")
        layout.addWidget(status)
        buttons = QHBoxLayout()
        go = primary(self.t("open"), self.open_door, name="dropoff-open")
        go.setMinimumWidth(th.mm(90))
        tall(go, th, 18)
        buttons.addWidget(go)
        buttons.addWidget(secondary(self.t("choose_again"), self.again, name="dropoff-again"))
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return body

    def _open(self) -> QWidget:
        door = self.flow.door or "?"
        return centred(door_panel(self.theme, self.t("door", door=door), self.t("door_open"), self.t("door_close")))

    def _done(self) -> QWidget:
        th, flow = self.theme, self.flow
        case = label(self.t("case_number", case=flow.case_id, door=flow.door), "title",
                     align=Qt.AlignmentFlag.AlignCenter)
        case.setObjectName("dropoff-case")
        case.setStyleSheet("border: none; background: transparent;")
        extra = [case]
        receipt = flow.receipt
        detail = self.t("done_detail_locker_receipt" if flow.receipt_by_locker else "done_detail")
        if receipt is not None and not receipt.printed:
            detail = ""  # the notice says what matters: the papers are in, the receipt is not
            advice = pick(self.app.i18n.lang, receipt.advice) if receipt.advice else ""
            extra.append(notice(th, self.t("receipt_failed"), "\n".join(filter(None, [advice, self.t("receipt_failed_next")])),
                                name="dropoff-receipt-failed"))
        buttons = [primary(self.t("progress"), lambda: self.app.go("progress"), name="dropoff-progress"),
                   secondary(self.t("common.home"), self.app.home, name="dropoff-home")]
        return centred(result_panel(th, self.t("done_title"), detail, buttons, extra=extra,
                                    name="dropoff-done"))

    def _failed(self) -> QWidget:
        from kiosk.flows.dropoff import Step

        flow = self.flow
        refusal = flow.refusal or DoorRefused("internal")
        title = self.t("empty_title") if flow.step is Step.EMPTY else self.t("failed_title")
        buttons = []
        if flow.step in (Step.EMPTY, Step.REFUSED) and flow.item is not None and refusal.reason not in ("unreachable",):
            buttons.append(primary(self.t("common.try_again"), self.open_door, name="dropoff-retry"))
        buttons.append(secondary(self.t("common.home"), self.app.home, name="dropoff-home"))
        return centred(result_panel(self.theme, title, self.t(f"doors.{refusal.reason}"), buttons, role="error",
                                    name="dropoff-failed"))

    # -- screenshots ----------------------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        from kiosk.flows.dropoff import DropOffFlow, Step
        from kiosk.store.cases import Resident
        from kiosk.store.guide import Guide

        def at(step: Step, item: str | None = "elderly-subsidy", ticked: int = 3, reason: str = "",
               paper_out: bool = False):
            def setup(screen: "DropOffScreen") -> None:
                flow = DropOffFlow(LockerDoors("/nonexistent"), None, Guide.load(screen.app.config), None,  # type: ignore[arg-type]
                                   resident=Resident("demo", screen.session.resident.name))
                screen.session.scratch[SCRATCH] = flow
                if item:
                    flow.item = flow.guide.item(item)
                    flow.ticked = set(range(ticked))
                flow.step, flow.door, flow.case_id = step, 7, "DO-261122-7KQ3P"
                if reason:
                    flow.refusal = DoorRefused(reason)
                if paper_out:  # what the printing flow answers when the printer is out of paper
                    flow.receipt = SimpleNamespace(printed=False, advice=Advice(
                        "打印机缺纸，请联系工作人员添纸", "The printer is out of paper: ask staff to refill it"))
                screen.refresh()
            return setup

        def code(typed: str, reason: str = "", wait: float = 0):
            def setup(screen: "DropOffScreen") -> None:
                at(Step.CHOOSE, None)(screen)
                flow = screen.flow
                flow.step, flow.typed = Step.CODE, typed
                if reason:
                    flow.refusal = DoorRefused(reason, retry_after=wait or None)
                if wait:
                    for _ in range(flow.throttle.tries):  # a fictional guesser's tries, on a throttle of its own
                        flow.throttle.wrong("keypad", short=True)
                screen.refresh()
            return setup

        return [ScreenState("choose", at(Step.CHOOSE, None), resident=True),
                ScreenState("code", code("7KQ3P"), resident=True),
                ScreenState("code-wrong", code("", "wrong_booking_code"), resident=True),
                ScreenState("code-backing-off", code("", "backing_off", 60), resident=True),
                ScreenState("confirm", at(Step.CONFIRM), resident=True),
                ScreenState("door-open", at(Step.OPEN), resident=True),
                ScreenState("done", at(Step.DONE), resident=True),
                ScreenState("receipt-not-printed", at(Step.DONE, paper_out=True), resident=True),
                ScreenState("no-free-door", at(Step.REFUSED, reason="no_free_door"), resident=True),
                ScreenState("nothing-inside", at(Step.EMPTY, reason="dropoff_empty"), resident=True)]


def _booking_keypad(theme, on_key, *, clear_text: str, back_text: str, enabled: bool = True) -> QWidget:
    """The booking alphabet on big keys, eight a row, then clear and back."""
    pad = QWidget()
    pad.setProperty("role", "letterpad")  # its look is the theme's
    grid = QGridLayout(pad)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setSpacing(theme.mm(2))
    columns = 8
    for index, char in enumerate(BOOKING_KEYS):
        button = secondary(char, lambda c=char: on_key(c), name=f"dropoff-key-{char}")
        button.setProperty("key", True)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        button.setEnabled(enabled)
        grid.addWidget(button, index // columns, index % columns)
    last = (len(BOOKING_KEYS) - 1) // columns + 1
    for col, (key, text) in enumerate((("clear", clear_text), ("back", back_text))):
        button = secondary(text, lambda k=key: on_key(k), name=f"dropoff-key-{key}")
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        button.setEnabled(enabled)
        grid.addWidget(button, last, col * (columns // 2), 1, columns // 2)
    return pad


def progress_url(config) -> str:
    """What the receipt's QR code holds before the case number: the server's phone page of
    a case (``/phone/cases/ID``, where the resident follows and rates it); with sync off,
    nothing (the bare case number, which staff look up)."""
    if not config.sync.enabled:
        return ""
    return f"{config.sync.server_url.rstrip('/')}/phone/cases/"


def _scrolling(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setProperty("role", "list")
    return area
