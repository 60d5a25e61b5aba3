"""Report a problem (报事): what (big category buttons), where in the community, a short
description picked from common phrases or typed; sent as a case for the grid worker,
followed in My progress. The flow is :class:`kiosk.flows.report.ReportFlow`."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.screens._journey import LazyModule, centred, grid_of, notice, result_panel, steps, tall
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import card, choice, label, primary, secondary
from kiosk.theme import TINTS

SCRATCH, STEP = "report", "report_step"
# one character on a coloured disc per category (the kiosk's CJK font has no emoji), of the theme's TINTS
GLYPHS = {"street_lamp": ("灯", "#B25E00"), "manhole_cover": ("井", "#5A6270"), "litter": ("垃", "#1E7B34"),
          "noise": ("噪", "#7A4A9E"), "facilities": ("设", "#1D4E89"), "greenery": ("绿", "#2E7D32"),
          "parking": ("车", "#B3261E"), "water": ("水", "#00767A"), "other": ("他", "#4A5568")}
report_flow = LazyModule("kiosk.flows.report")
cases = LazyModule("kiosk.store.cases")


class ReportScreen(Screen):
    name = "report"
    domain = "report"
    tile = Tile("report.title", "report.tile_hint", order=70, glyph="报")
    needs_identity = True

    def __init__(self, app) -> None:
        super().__init__(app)
        self._send: QPushButton | None = None

    def clear(self) -> None:
        self._send = None  # its body is thrown away with the session

    @property
    def flow(self) -> report_flow.ReportFlow | None:
        return self.session.scratch.get(SCRATCH)

    @property
    def step(self) -> int:
        return self.session.scratch.get(STEP, 0)

    def go_step(self, step: int) -> None:
        self.session.scratch[STEP] = step
        self.refresh()

    def enter(self, **params: Any) -> None:
        self.session.scratch[STEP] = 0
        self.session.scratch.pop(SCRATCH, None)
        self.refresh()
        resident = self.session.resident
        held = (resident.id_number, resident.name) if resident else None

        def make() -> report_flow.ReportFlow:  # on a worker: the case store loads on first use
            who = cases.Resident.of(*held) if held else None
            return report_flow.ReportFlow(self.app.devices.store, who, report_flow.load_places())
        self.app.jobs.run(make, on_done=self._made, busy=self.t("common.working"), name="report-load")

    def _made(self, flow: report_flow.ReportFlow) -> None:
        self.session.scratch[SCRATCH] = flow
        self.refresh()

    # -- taps -----------------------------------------------------------------------------------
    def category(self, category: str) -> None:
        self.flow.choose_category(category)
        self.go_step(1)

    def place(self, place: report_flow.Place) -> None:
        self.flow.choose_place(place.id, self.flow.place_detail)
        self.refresh()

    def detail(self, text: str) -> None:
        if self.flow.place is not None:
            self.flow.choose_place(self.flow.place.id, text)
        else:
            self.flow.place_detail = text.strip()[:30]

    def phrase(self, index: int) -> None:
        self.flow.pick_phrase(index)
        self.refresh()

    def typed(self, text: str) -> None:
        self.flow.type_text(text)
        self._update_send()
        if self._preview is not None:
            self._preview.setText(self.flow.description or "…")

    def submit(self) -> None:
        def sent(_case) -> None:
            self.go_step(3)
            self.app.voice.say("report.sent_title")
        self.app.jobs.run(self.flow.submit, on_done=sent, busy=self.t("common.working"), name="report-submit")

    # -- the look -----------------------------------------------------------------------------------
    def render(self) -> QWidget:
        th, flow = self.theme, self.flow
        self._send = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(4))
        top = QHBoxLayout()
        top.addWidget(label(self.t("title"), "heading"))
        top.addStretch(1)
        titles = [self.t("short_category"), self.t("short_place"), self.t("short_description")]
        top.addWidget(steps(th, titles, min(self.step, 3)), 2)
        layout.addLayout(top)
        if flow is None:
            layout.addStretch(1)
            return body
        part = [self._categories, self._places, self._description, self._done][min(self.step, 3)]
        layout.addWidget(part(), 1)
        return body

    def _categories(self) -> QWidget:
        th = self.theme
        buttons = []
        for category in report_flow.CATEGORIES:
            glyph, colour = GLYPHS.get(category, ("", th.palette.accent))
            buttons.append(_glyph_button(th, glyph, colour, self.t(f"category_{category}"),
                                         lambda c=category: self.category(c), name=f"report-category-{category}"))
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label(self.t("step_category"), "title"))
        layout.addWidget(grid_of(th, buttons, 3), 1)
        return body

    def _places(self) -> QWidget:
        th, flow, lang = self.theme, self.flow, self.app.i18n.lang
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(4))
        layout.addWidget(label(self.t("step_place"), "title"))
        buttons = [choice(p.name_en if lang == "en" and p.name_en else p.name, lambda p=p: self.place(p),
                          checked=flow.place is not None and flow.place.id == p.id, name=f"report-place-{p.id}")
                   for p in flow.places]
        for button in buttons:
            tall(button, th, 20)
        layout.addWidget(grid_of(th, buttons, 5))
        box = QLineEdit(flow.place_detail)
        box.setObjectName("report-place-detail")
        box.setPlaceholderText(self.t("place_detail_placeholder"))
        box.textEdited.connect(self.detail)
        layout.addWidget(box)
        layout.addStretch(1)
        layout.addLayout(self._nav(back=0, forward=2, ready=flow.place is not None))
        return body

    def _description(self) -> QWidget:
        th, flow = self.theme, self.flow
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(4))
        place = flow.place.name if flow.place else ""
        if self.app.i18n.lang == "en" and flow.place is not None and flow.place.name_en:
            place = flow.place.name_en
        summary = label(self.t("summary", category=self.t(f"category_{flow.category}"), place=place), "title")
        summary.setObjectName("report-summary")
        layout.addWidget(summary)
        layout.addWidget(label(f"{self.t('step_description')}  ·  {self.t('phrases_hint')}", "muted"))
        phrases = [choice(self.t(key), lambda i=index: self.phrase(i), checked=key in flow.phrases,
                          name=f"report-phrase-{index}")
                   for index, key in enumerate(report_flow.phrase_keys(flow.category or ""))]
        for button in phrases:
            tall(button, th, 20)
        if phrases:
            layout.addWidget(grid_of(th, phrases, 3))
        box = QLineEdit(flow.text)
        box.setObjectName("report-text")
        box.setPlaceholderText(self.t("type_placeholder"))
        box.textEdited.connect(self.typed)
        layout.addWidget(box)
        preview = label(flow.description or "…", "value")
        preview.setObjectName("report-preview")
        where = flow.place.name + (f" {flow.place_detail}" if flow.place_detail else "") if flow.place else ""
        layout.addWidget(card(th, label(self.t("preview_title"), "muted"), preview, label(where, "muted")))
        layout.addStretch(1)
        problems = [p for p in flow.problems() if p != "report.need_description"] or flow.problems()
        if problems and flow.resident is None:
            layout.addWidget(notice(th, self.t(problems[0]), "", role="error", name="report-problem"))
        row = QHBoxLayout()
        row.setSpacing(th.mm(5))
        send = primary(self.t("submit"), self.submit, name="report-submit")
        tall(send, th, 18)
        send.setEnabled(not flow.problems())
        self._send = send
        row.addWidget(send)
        back = secondary(self.t("back"), lambda: self.go_step(1), name="report-back")
        tall(back, th, 18)
        row.addWidget(back)
        row.addStretch(1)
        layout.addLayout(row)
        return body

    @property
    def _preview(self) -> QLabel | None:
        found = [w for w in self.findChildren(QLabel, "report-preview") if w.isVisible()]
        return found[-1] if found else None

    def _update_send(self) -> None:
        if self._send is not None:
            self._send.setEnabled(not self.flow.problems())

    def _nav(self, *, back: int, forward: int, ready: bool) -> QHBoxLayout:
        th = self.theme
        row = QHBoxLayout()
        row.setSpacing(th.mm(5))
        go = primary(self.t("next"), lambda: self.go_step(forward), name="report-next")
        go.setMinimumWidth(th.mm(60))
        tall(go, th, 18)
        go.setEnabled(ready)
        row.addWidget(go)
        again = secondary(self.t("back"), lambda: self.go_step(back), name="report-back")
        tall(again, th, 18)
        row.addWidget(again)
        row.addStretch(1)
        return row

    def _done(self) -> QWidget:
        case = self.flow.case
        buttons = [primary(self.t("progress.title"), lambda: self.app.go("progress"), name="report-progress"),
                   secondary(self.t("common.home"), self.app.home, name="report-home")]
        return centred(result_panel(self.theme, self.t("sent_title"),
                                    self.t("sent_detail", case=case.id if case else ""), buttons,
                                    name="report-done"))

    # -- screenshots ------------------------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        def at(step: int, *, done: bool = False):
            def setup(screen: "ReportScreen") -> None:
                from kiosk.store.cases import Case
                from sync.lifecycle import CaseState

                demo = cases.Resident("demo", screen.session.resident.name)
                flow = report_flow.ReportFlow(None, demo)  # type: ignore[arg-type]
                screen.session.scratch[SCRATCH] = flow
                if step >= 1:
                    flow.choose_category("street_lamp")
                if step >= 2:
                    flow.choose_place("building-3", "3单元门口")
                    flow.pick_phrase(0)
                    flow.type_text("已经三天了，晚上很黑")
                if done:
                    flow.case = Case("BS-261122-9TQ4R", "report", "street_lamp", "路灯", "demo", "",
                                     CaseState.CREATED)
                screen.session.scratch[STEP] = 3 if done else step
                screen.refresh()
            return setup
        return [ScreenState("category", at(0), resident=True), ScreenState("place", at(1), resident=True),
                ScreenState("description", at(2), resident=True), ScreenState("sent", at(2, done=True), resident=True)]


def _glyph_button(theme, glyph: str, colour: str, title: str, on_click, *, name: str) -> QPushButton:
    """A big category button: a character on a coloured disc, and the category's name."""
    button = QPushButton()
    button.setProperty("role", "choice")
    button.setObjectName(name)
    tall(button, theme, 28)
    row = QHBoxLayout(button)
    row.setContentsMargins(theme.mm(6), theme.mm(2), theme.mm(6), theme.mm(2))
    row.setSpacing(theme.mm(5))
    disc = QLabel(glyph)
    disc.setProperty("role", "disc")
    disc.setProperty("tint", TINTS.index(colour))  # the theme's sheet colours it
    disc.setFixedSize(theme.disc, theme.disc)
    disc.setAlignment(Qt.AlignmentFlag.AlignCenter)
    row.addWidget(disc)
    text = QLabel(title)
    text.setProperty("role", "disc-title")
    row.addWidget(text, 1)
    for child in (disc, text):
        child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    button.clicked.connect(lambda checked=False: on_click())
    return button
