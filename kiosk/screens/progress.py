"""My progress (我的进度): the identified resident's cases, each with where it is, how
far along, what happens next, and stars for a finished one; and 绑定手机号: she types
her mobile number on the keypad and confirms it (her ID card and face are the proof),
so the phone pages show her cases once she signs in with it. The flows are
:class:`kiosk.flows.progress.ProgressFlow` and :class:`kiosk.flows.phonelink.PhoneLinkFlow`."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from kiosk.flows.doors import LockerDoors
from kiosk.screens._journey import (PHONE_GAPS, Keypad, LazyModule, centred, code_boxes, notice, result_panel,
                                    tall)
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import card, choice, label, primary, secondary
from sync.lifecycle import CaseState

SCRATCH = "progress"
PHONE = "progress_phone"  # the phone link's flow while its keypad shows
progress_flow = LazyModule("kiosk.flows.progress")
phonelink = LazyModule("kiosk.flows.phonelink")
cases = LazyModule("kiosk.store.cases")
PHONE_DIGITS = 11


class ProgressScreen(Screen):
    name = "progress"
    domain = "progress"
    tile = Tile("progress.title", "progress.tile_hint", order=60, glyph="进")
    needs_identity = True

    def __init__(self, app) -> None:
        super().__init__(app)
        self._typed: tuple[QVBoxLayout, QWidget] | None = None  # the phone keypad's column and boxes
        self._confirm: QWidget | None = None

    @property
    def flow(self) -> progress_flow.ProgressFlow | None:
        return self.session.scratch.get(SCRATCH)

    def enter(self, **params: Any) -> None:
        self.session.scratch.pop(SCRATCH, None)
        self.session.scratch["progress_rating"] = None  # (case id, stars) while the stars show
        self.session.scratch[PHONE] = None
        self.refresh()
        resident = self.session.resident
        if resident is None:
            return
        id_number = resident.id_number

        def load() -> progress_flow.ProgressFlow:
            key = cases.resident_key(id_number)
            doors = LockerDoors(self.app.devices.locker_socket, timeout=3)
            flow = progress_flow.ProgressFlow(self.app.devices.store, key, doors)
            flow.load()
            phonelink.PhoneLinkFlow  # loaded here, on the worker: the keypad's tap imports nothing
            return flow
        self.app.jobs.run(load, on_done=self._loaded, busy=self.t("common.working"), name="progress-load")

    def _loaded(self, flow: progress_flow.ProgressFlow) -> None:
        self.session.scratch[SCRATCH] = flow
        self.refresh()

    # -- 绑定手机号: the resident's mobile number, confirmed with her ID card ----------------------
    @property
    def phone(self) -> phonelink.PhoneLinkFlow | None:
        return self.session.scratch.get(PHONE)

    def start_phone(self) -> None:
        flow = self.flow
        if flow is None:
            return
        self.session.scratch[PHONE] = phonelink.PhoneLinkFlow(self.app.devices.store, flow.resident_key)
        self.refresh()

    def phone_key(self, key: str) -> None:
        link = self.phone
        noticed = bool(link.problem)
        link.press(key)
        if self._typed is None or noticed != bool(link.problem):
            self.refresh()
            return
        column, old = self._typed  # one key: the boxes and the button change, not the keypad
        new = code_boxes(self.theme, link.digits, PHONE_DIGITS, PHONE_GAPS)
        column.replaceWidget(old, new)
        old.hide()
        old.deleteLater()
        self._typed = (column, new)
        self._confirm.setEnabled(link.complete)

    def confirm_phone(self) -> None:
        link = self.phone
        if link is None or not link.complete:
            return

        def done(linked: bool) -> None:
            self.refresh()
            if linked:
                self.app.devices.sync_soon()  # the server links her number: push it now
        self.app.jobs.run(link.confirm, on_done=done, busy=self.t("common.working"), name="progress-phone")

    def close_phone(self) -> None:
        self.session.scratch[PHONE] = None
        self.refresh()

    # -- rating -----------------------------------------------------------------------------------
    @property
    def rating(self) -> tuple[str, int] | None:
        return self.session.scratch.get("progress_rating")

    def start_rating(self, case_id: str) -> None:
        self.session.scratch["progress_rating"] = (case_id, 0)
        self.refresh()

    def stars(self, stars: int) -> None:
        case_id, _ = self.rating or ("", 0)
        self.session.scratch["progress_rating"] = (case_id, stars)
        self.refresh()

    def send_rating(self) -> None:
        flow, (case_id, stars) = self.flow, self.rating or ("", 0)
        if flow is None or not stars:
            return

        def done(_row: progress_flow.ProgressRow) -> None:
            self.session.scratch["progress_rating"] = None
            self.refresh()
        self.app.jobs.run(flow.rate, case_id, stars, on_done=done, busy=self.t("common.working"),
                          name="progress-rate")

    # -- the look ------------------------------------------------------------------------------------
    def render(self) -> QWidget:
        th, flow = self.theme, self.flow
        self._typed = self._confirm = None  # the phone keypad's live parts (set by _phone_panel)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(4))
        top = QHBoxLayout()
        top.addWidget(label(self.t("title"), "heading"), 1)
        layout.addLayout(top)
        if flow is None:
            layout.addStretch(1)
            return body
        if self.phone is not None:
            layout.addWidget(self._phone_panel(), 1)
            return body
        if self.rating is not None:
            layout.addWidget(self._rating_panel(), 1)
            return body
        link = secondary(self.t("phone_link"), self.start_phone, name="progress-phone")
        link.setMinimumWidth(th.mm(60))
        top.addWidget(link)
        if flow.locker_unreachable:
            layout.addWidget(notice(th, self.t("locker_offline"), "", name="progress-offline"))
        if not flow.rows:
            buttons = [primary(self.t("dropoff.tile"), lambda: self.app.go("dropoff"), name="progress-dropoff"),
                       secondary(self.t("report.title"), lambda: self.app.go("report"), name="progress-report")]
            layout.addWidget(centred(result_panel(th, self.t("empty"), self.t("empty_hint"), buttons,
                                                  name="progress-empty", role="ask", mark="进")), 1)
            return body
        cards = QWidget()
        column = QVBoxLayout(cards)
        column.setContentsMargins(0, 0, th.mm(2), 0)
        column.setSpacing(th.mm(4))
        for row in flow.rows:
            column.addWidget(self._card(row))
        column.addStretch(1)
        area = QScrollArea()
        area.setWidget(cards)
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        area.setProperty("role", "list")
        layout.addWidget(area, 1)
        return body

    def _card(self, row: progress_flow.ProgressRow) -> QWidget:
        th, case = self.theme, row.case
        frame = QFrame()
        frame.setObjectName(f"progress-case-{case.id}")
        frame.setProperty("role", "card")
        outer = QHBoxLayout(frame)
        outer.setContentsMargins(th.mm(7), th.mm(5), th.mm(7), th.mm(5))
        outer.setSpacing(th.mm(6))
        text = QVBoxLayout()
        text.setSpacing(th.mm(2))
        top = QHBoxLayout()
        top.setSpacing(th.mm(3))
        top.addWidget(label(self.t(row.kind_key), "tag", wrap=False))
        top.addWidget(label(case.item, "title", wrap=False))
        top.addStretch(1)
        chip = label(self.t(row.state_key), "chip", wrap=False)
        chip.setObjectName(f"progress-state-{case.id}")
        chip.setProperty("tone", _state_tone(case.state))
        top.addWidget(chip)
        text.addLayout(top)
        text.addWidget(_stages(th, row.stage))
        next_step = label(self.t(row.next_key), "value")
        next_step.setObjectName(f"progress-next-{case.id}")
        text.addWidget(next_step)
        facts = [self.t("case_number", case=case.id), self.t("created_at", date=_when(case))]
        if case.door and case.state in (CaseState.MATERIALS_DEPOSITED, CaseState.RESULT_DEPOSITED):
            facts.append(self.t("door", door=case.door))
        text.addWidget(label("  ·  ".join(facts), "muted"))
        outer.addLayout(text, 1)
        if row.rateable:
            rate = primary(self.t("rate"), lambda c=case.id: self.start_rating(c), name=f"progress-rate-{case.id}")
            rate.setMinimumWidth(th.mm(45))
            tall(rate, th, 20)
            outer.addWidget(rate, 0, Qt.AlignmentFlag.AlignVCenter)
        elif case.rating:
            rated = label(self.t("rated", stars=case.rating) + "\n" + "★" * case.rating, "value",
                          align=Qt.AlignmentFlag.AlignCenter)
            rated.setProperty("tone", "warn")
            outer.addWidget(rated, 0, Qt.AlignmentFlag.AlignVCenter)
        return frame

    def _phone_panel(self) -> QWidget:
        th, link = self.theme, self.phone
        if link.linked:
            back = primary(self.t("phone_done_back"), self.close_phone, name="progress-phone-back")
            return centred(result_panel(th, self.t("phone_done_title"),
                                        self.t("phone_done_text", phone=link.linked), [back],
                                        name="progress-phone-done"))
        body = QWidget()
        columns = QHBoxLayout(body)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.setSpacing(th.mm(8))
        left = QVBoxLayout()
        left.setSpacing(th.mm(4))
        left.addWidget(label(self.t("phone_title"), "title"))
        left.addWidget(label(self.t("phone_hint"), "value"))
        boxes = code_boxes(th, link.digits, PHONE_DIGITS, PHONE_GAPS)
        left.addWidget(boxes)
        self._typed = (left, boxes)
        if link.problem:
            left.addWidget(notice(th, self.t("phone_refused"), self.t(link.problem), role="error",
                                  name="progress-phone-problem"))
        confirm = primary(self.t("phone_confirm"), self.confirm_phone, name="progress-phone-confirm")
        confirm.setEnabled(link.complete)
        tall(confirm, th, 18)
        left.addWidget(confirm)
        self._confirm = confirm
        left.addWidget(secondary(self.t("phone_cancel"), self.close_phone, name="progress-phone-cancel"))
        left.addStretch(1)
        columns.addLayout(left, 5)
        columns.addWidget(card(th, Keypad(th, self.phone_key, clear_text=self.t("pickup.clear"),
                                          back_text=self.t("pickup.back"), prefix="progress-key")), 4)
        return body

    def _rating_panel(self) -> QWidget:
        th = self.theme
        case_id, stars = self.rating or ("", 0)
        flow = self.flow
        case: cases.Case | None = next((r.case for r in flow.rows if r.case.id == case_id), None) if flow else None
        row = QHBoxLayout()
        row.setSpacing(th.mm(4))
        for n in range(1, 6):
            star = choice(f"{'★' * n}\n{self.t(f'stars_{n}')}", lambda n=n: self.stars(n), checked=n == stars,
                          name=f"progress-stars-{n}")
            height = tall(star, th, 30)
            row.addWidget(star)
        holder = QWidget()
        holder.setStyleSheet(f"QPushButton {{ padding: 0 {th.mm(1)}px; }}")
        holder.setLayout(row)
        holder.setMinimumHeight(height)
        send = primary(self.t("rate_send"), self.send_rating, name="progress-rate-send")
        send.setEnabled(stars > 0)
        back = secondary(self.t("common.back"), lambda: self._cancel_rating(), name="progress-rate-cancel")
        what = f"{case.item if case else ''}  ·  {self.t('case_number', case=case_id)}"
        return centred(result_panel(th, self.t("rate_question"), what, [send, back], extra=[holder],
                                    name="progress-rating", role="ask", mark=None))

    def _cancel_rating(self) -> None:
        self.session.scratch["progress_rating"] = None
        self.refresh()

    # -- screenshots -------------------------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        def demo(screen: "ProgressScreen", *, rows: bool = True, rating: tuple[str, int] | None = None,
                 offline: bool = False) -> None:
            flow = progress_flow.ProgressFlow(None, "demo")  # type: ignore[arg-type]
            flow.rows = [progress_flow.ProgressRow(c) for c in _demo_cases()] if rows else []
            flow.locker_unreachable = offline
            screen.session.scratch[SCRATCH] = flow
            screen.session.scratch["progress_rating"] = rating
            screen.session.scratch[PHONE] = None
            screen.refresh()

        def phone(screen: "ProgressScreen", digits: str = "1390013", problem: str = "",
                  linked: str = "") -> None:
            demo(screen)
            link = phonelink.PhoneLinkFlow(None, "demo")
            link.digits, link.problem, link.linked = digits, problem, linked
            screen.session.scratch[PHONE] = link
            screen.refresh()

        return [ScreenState("cases", demo, resident=True),
                ScreenState("phone", phone, resident=True),
                ScreenState("phone-refused", lambda s: phone(s, "12345678901", "progress.phone_invalid"),
                            resident=True),
                ScreenState("phone-linked", lambda s: phone(s, "", linked="139****9000"), resident=True),
                ScreenState("locker-offline", lambda s: demo(s, offline=True), resident=True),
                ScreenState("rating", lambda s: demo(s, rating=("DO-261118-4HX2M", 4)), resident=True),
                ScreenState("empty", lambda s: demo(s, rows=False), resident=True)]


def _when(case: cases.Case) -> str:
    moment = datetime.fromtimestamp(case.created_at)
    return moment.strftime("%m-%d %H:%M")


def _state_tone(state: CaseState) -> str:
    """The colour of a state's chip, a tone of the theme."""
    if state in (CaseState.RESULT_DEPOSITED, CaseState.PICKED_UP):
        return "primary"  # the resident has something to do
    if state in (CaseState.EVALUATED, CaseState.CLOSED):
        return "ok"
    if state in (CaseState.CANCELLED, CaseState.EXPIRED, CaseState.QUARANTINED, CaseState.RETURNED_WITH_REASONS):
        return "warn"
    return "accent"


def _stages(theme, stage: int) -> QWidget:
    """The usual road as segments, filled up to where the case is."""
    bar = QWidget()
    row = QHBoxLayout(bar)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(theme.mm(1.5))
    for index in range(len(progress_flow.STAGES)):
        part = QFrame()
        part.setProperty("role", "bar")
        part.setProperty("tone", "ok" if 0 <= index <= stage else "")
        part.setFixedHeight(theme.mm(2.5))
        row.addWidget(part, 1)
    return bar


def _demo_cases() -> list[cases.Case]:
    """Fictional cases for the screenshots."""
    now = datetime(2026, 11, 22, 10, 30).timestamp()
    day = 86400
    return [
        cases.Case("BS-261122-9TQ4R", "report", "street_lamp", "路灯", "demo", "李秀兰", CaseState.CREATED,
             created_at=now - 600, updated_at=now - 600),
        cases.Case("DO-261120-2KD8W", "dropoff", "elderly-subsidy", "高龄补贴申领", "demo", "李秀兰",
             CaseState.RESULT_DEPOSITED, door=12, created_at=now - 2 * day, updated_at=now - day),
        cases.Case("DO-261118-4HX2M", "dropoff", "senior-card", "老年人优待证办理", "demo", "李秀兰", CaseState.PICKED_UP,
             created_at=now - 4 * day, updated_at=now - day),
        cases.Case("DO-261102-7MN3P", "dropoff", "medical-insurance", "城乡居民医保参保登记", "demo", "李秀兰",
             CaseState.EVALUATED, rating=5, created_at=now - 20 * day, updated_at=now - 15 * day),
    ]
