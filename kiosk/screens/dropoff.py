"""Drop-off (投递材料): choose the service item, tick the materials, the door that
opened, the receipt with the case number. A booking made on the phone needs no tap
here: the locker's own scanner opens a door for it. The flow is
:class:`kiosk.flows.dropoff.DropOffFlow`."""
from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from drivers.printer import Advice
from kiosk.flows.doors import DoorRefused, LockerDoors
from kiosk.screens._journey import (centred, door_panel, grid_of, item_button, notice, pick, result_panel,
                                    steps, tall, warm_up_printing)
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import card, label, primary, secondary

if TYPE_CHECKING:
    from kiosk.flows.dropoff import DropOffFlow, Step

# The flow, the case store and the locker codes are imported on first use, not at
# start-up: home shows without them (bench_kiosk's cold start).
SCRATCH = "dropoff"
# Step is a str enum: its members look up as their values.
STEP_INDEX = {"choose": 0, "confirm": 1, "opening": 2, "open": 2, "empty": 2, "refused": 1,
              "failed": 2, "deposited": 3, "done": 3}


class DropOffScreen(Screen):
    name = "dropoff"
    domain = "dropoff"
    tile = Tile("dropoff.tile", "dropoff.tile_hint", order=40, glyph="投")
    needs_identity = True

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
        return DropOffFlow(LockerDoors(devices.locker_socket), devices.store, Guide.load(config),
                           printing, resident=Resident.of(resident.id_number, resident.name) if resident else None,
                           locker_name=config.appliance.name, progress_url=progress_url(config))

    def _made(self, flow: DropOffFlow, item: str | None) -> None:
        self.session.scratch[SCRATCH] = flow
        if item:
            flow.choose(item)
        self.refresh()

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
        if step is Step.OPEN:
            self.app.jobs.run(flow.wait_deposited, lambda: self.session.number != number, on_done=self._after,
                              name="dropoff-wait-closed")
        elif step is Step.DEPOSITED:
            self.app.jobs.run(flow.print_receipt, self.app.i18n.lang, on_done=self._after,
                              busy=self.t("printing"), name="dropoff-receipt")

    # -- the look ----------------------------------------------------------------------------------
    def render(self) -> QWidget:
        flow = self.flow
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

        part = {Step.CHOOSE: self._choose, Step.CONFIRM: self._confirm, Step.OPENING: self._open,
                Step.OPEN: self._open, Step.DEPOSITED: self._open, Step.DONE: self._done}.get(flow.step, self._failed)
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
        side.addWidget(card(th, label(self.t("booked_title"), "title"), label(self.t("booked_hint"), "value")))
        side.addStretch(1)
        row.addLayout(side, 1)
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
        detail = self.t("done_detail")
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

        return [ScreenState("choose", at(Step.CHOOSE, None), resident=True),
                ScreenState("confirm", at(Step.CONFIRM), resident=True),
                ScreenState("door-open", at(Step.OPEN), resident=True),
                ScreenState("done", at(Step.DONE), resident=True),
                ScreenState("receipt-not-printed", at(Step.DONE, paper_out=True), resident=True),
                ScreenState("no-free-door", at(Step.REFUSED, reason="no_free_door"), resident=True),
                ScreenState("nothing-inside", at(Step.EMPTY, reason="dropoff_empty"), resident=True)]


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
    area.setStyleSheet("QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }")
    return area
