"""Pickup (取件): the 8-digit code on a big keypad (or the QR at the locker's own
scanner), the door that opened, and every refusal in plain words with what to do
next. The flow is :class:`kiosk.flows.pickup.PickupFlow`; the locker does the rest."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kiosk.flows.doors import DoorRefused, LockerDoors
from kiosk.flows.pickup import CODE_LENGTH, PickupFlow, Step
from kiosk.screens._journey import Keypad, centred, code_boxes, door_panel, notice, result_panel, tall
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import card, label, primary, secondary

SCRATCH = "pickup"


class PickupScreen(Screen):
    name = "pickup"
    domain = "pickup"
    tile = Tile("pickup.tile", "pickup.tile_hint", order=50, glyph="取")

    def __init__(self, app) -> None:
        super().__init__(app)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._countdown)
        self._watching = False

    # -- the flow lives in the session's scratch: the session's end drops it ---------------
    @property
    def flow(self) -> PickupFlow:
        flow = self.session.scratch.get(SCRATCH)
        if flow is None:
            flow = PickupFlow(LockerDoors(self.app.devices.locker_socket))
            self.session.scratch[SCRATCH] = flow
        return flow

    def enter(self, **params) -> None:
        self.flow.reset()
        self.refresh()
        self._watch()

    def leave(self) -> None:
        self._tick.stop()
        self._watching = False

    def clear(self) -> None:
        self._tick.stop()
        self._watching = False

    def _watch(self) -> None:
        """Follow the locker's own scanner while the keypad waits (a worker: polls the locker)."""
        flow, number, generation = self.flow, self.session.number, self.app.jobs.generation
        self._watching = True

        def stop() -> bool:  # plain reads from the worker: no widget touched
            return (not self._watching or self.session.number != number or self.app.jobs.generation != generation
                    or flow.step not in (Step.ENTER, Step.REFUSED))

        def found(seen) -> None:
            self._watching = False  # this watch is over
            if seen is None or self.flow is not flow:
                return
            if flow.scanned(*seen) is Step.OPEN:
                self._after(Step.OPEN, scanned=True)
        self.app.jobs.run(flow.watch_scanner, stop, on_done=found, on_error=lambda exc: None,
                          name="pickup-watch-scanner")

    # -- taps ------------------------------------------------------------------------------
    def key(self, key: str) -> None:
        self.flow.press(key)
        self.refresh()

    def submit(self, scanned: str | None = None) -> None:
        flow, number = self.flow, self.session.number

        def work() -> Step:
            flow.store = self.app.devices.store  # the case, if made here, shows picked up
            step = flow.submit(scanned)
            if step is Step.OPENING:
                step = flow.wait_open(stop=lambda: self.session.number != number)
            return step
        self.app.jobs.run(work, on_done=self._after, busy=self.t("opening"), name="pickup-open")

    def _after(self, step: Step, scanned: bool = False) -> None:
        self.refresh()
        self._speak(step)
        if step is Step.OPEN:
            flow, number = self.flow, self.session.number
            wait = flow.wait_picked_up if scanned else flow.wait_closed
            self.app.jobs.run(wait, lambda: self.session.number != number, on_done=self._after,
                              name="pickup-wait-closed")
        elif step is Step.REFUSED or step is Step.ENTER:
            self._watch_again()
        elif step is Step.REFUSED and self.flow.wait_seconds():
            self._tick.start()

    def _speak(self, step: Step) -> None:
        """Elderly mode: the door, the end, or what went wrong, said aloud too."""
        refusal = self.flow.refusal
        if step is Step.OPEN:
            self.app.voice.say("pickup.door_open")
        elif step is Step.DONE:
            self.app.voice.say("pickup.done_title")
        elif refusal is not None and refusal.reason != "backing_off":  # its seconds change: shown only
            self.app.voice.say(f"doors.{refusal.reason}")

    def _watch_again(self) -> None:
        if not self._watching:
            self._watch()

    def _countdown(self) -> None:
        if not self.flow.wait_seconds():
            self._tick.stop()
            self.flow.refusal = None
            self.flow.set_state(Step.ENTER)
        self.refresh()

    # -- the look ----------------------------------------------------------------------------
    def render(self) -> QWidget:
        flow = self.flow
        if flow.step in (Step.OPEN, Step.OPENING):
            return self._open()
        if flow.step is Step.DONE:
            return self._done()
        if flow.step is Step.FAILED:
            return self._failed()
        return self._enter()

    def _enter(self) -> QWidget:
        th, flow = self.theme, self.flow
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(th.mm(4))
        outer.addWidget(label(self.t("title"), "heading"))
        outer.addWidget(label(self.t("subtitle"), "muted"))
        columns = QHBoxLayout()
        columns.setSpacing(th.mm(8))

        left = QVBoxLayout()
        left.setSpacing(th.mm(5))
        scan = card(th, label(self.t("scan_title"), "title"), label(self.t("scan_hint"), "value"))
        left.addWidget(scan)
        if flow.step is Step.REFUSED and flow.refusal is not None:
            left.addWidget(self._refusal(flow.refusal))
        tips = card(th, label(self.t("tips_title"), "title"), label(self.t("tip_days"), "value"),
                    label(self.t("tip_help"), "value"))
        left.addWidget(tips)
        left.addStretch(1)
        columns.addLayout(left, 5)

        waiting = flow.wait_seconds() > 0
        typed = QVBoxLayout()
        typed.setSpacing(th.mm(4))
        typed.addWidget(label(self.t("type_title"), "title"))
        typed.addWidget(code_boxes(th, flow.digits, CODE_LENGTH))
        typed.addWidget(Keypad(th, self.key, clear_text=self.t("clear"), back_text=self.t("back"),
                               enabled=not waiting, prefix="pickup-key"), 1)
        go = primary(self.t("open"), self.submit, name="pickup-open")
        go.setEnabled(flow.complete and not waiting)
        tall(go, th, 20)
        typed.addWidget(go)
        right = card(th)
        right.layout().addLayout(typed)
        columns.addWidget(right, 4)
        outer.addLayout(columns, 1)
        return body

    def _refusal(self, refusal: DoorRefused) -> QWidget:
        wait = self.flow.wait_seconds()
        text = self.t(f"doors.{refusal.reason}", wait=wait or round(refusal.retry_after or 60))
        return notice(self.theme, self.t("refused_title"), text, role="error", name="pickup-refusal")

    def _open(self) -> QWidget:
        flow = self.flow
        return centred(door_panel(self.theme, self.t("door", door=flow.door or "?"), self.t("door_open"),
                                  self.t("door_close")))

    def _done(self) -> QWidget:
        buttons = [primary(self.t("common.home"), self.app.home, name="pickup-home"),
                   secondary(self.t("rate"), lambda: self.app.go("progress"), name="pickup-rate")]
        return centred(result_panel(self.theme, self.t("done_title"), self.t("done_detail"), buttons,
                                    name="pickup-done"))

    def _failed(self) -> QWidget:
        refusal = self.flow.refusal
        text = self.t(f"doors.{refusal.reason if refusal else 'internal'}")
        buttons = [primary(self.t("common.home"), self.app.home, name="pickup-home")]
        return centred(result_panel(self.theme, self.t("failed_title"), text, buttons, role="error",
                                    name="pickup-failed"))

    # -- screenshots ----------------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        def typing(screen: "PickupScreen") -> None:
            screen.enter()
            for digit in "3725":
                screen.flow.press(digit)
            screen.refresh()

        def refused(reason: str, retry: float | None = None):
            def setup(screen: "PickupScreen") -> None:
                screen.enter()
                screen.flow.refusal = DoorRefused(reason, retry_after=retry)
                screen.flow.step = Step.REFUSED
                if retry:
                    screen.flow.blocked_until = screen.flow.clock() + retry
                screen.refresh()
            return setup

        def at(step: Step):
            def setup(screen: "PickupScreen") -> None:
                screen.enter()
                screen.flow.step, screen.flow.door = step, 7
                if step is Step.FAILED:
                    screen.flow.refusal = DoorRefused("jammed")
                screen.refresh()
            return setup

        return [ScreenState("enter", lambda s: s.enter()), ScreenState("typing", typing),
                ScreenState("wrong-code", refused("wrong_short_code")), ScreenState("expired", refused("expired")),
                ScreenState("used", refused("replayed")), ScreenState("short-code-expired", refused("pickup_expired")),
                ScreenState("short-code-used", refused("picked_up")),
                ScreenState("short-code-replaced", refused("pickup_replaced")),
                ScreenState("backing-off", refused("backing_off", 45)),
                ScreenState("door-open", at(Step.OPEN)), ScreenState("done", at(Step.DONE)),
                ScreenState("jammed", at(Step.FAILED))]
