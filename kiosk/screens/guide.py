"""The service guide (办事指南): popular words and categories to tap, a search box,
the items found, and one item's materials, where to go and when, with its checklist
printed. The flow is :class:`kiosk.flows.guide.GuideFlow`."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLineEdit, QPushButton, QScrollArea, QVBoxLayout, QWidget

from kiosk.flows.guide import GuideFlow
from kiosk.screens._journey import grid_of, item_button, notice, pick, tall, warm_up_printing
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.store.guide import Guide
from kiosk.widgets import card, choice, label, primary, rows, secondary

SCRATCH = "guide"


class GuideScreen(Screen):
    name = "guide"
    domain = "guide"
    tile = Tile("guide.tile", "guide.tile_hint", order=30, glyph="指")

    def __init__(self, app) -> None:
        super().__init__(app)
        self._results: QVBoxLayout | None = None
        self._box: QLineEdit | None = None
        self._hot_buttons: dict[str, QPushButton] = {}
        self._category_buttons: dict[str | None, QPushButton] = {}

    def clear(self) -> None:
        self._results = self._box = None  # its body is thrown away with the session
        self._hot_buttons, self._category_buttons = {}, {}

    @property
    def flow(self) -> GuideFlow | None:
        return self.session.scratch.get(SCRATCH)

    def enter(self, item: str | None = None, **params: Any) -> None:
        if self.flow is None:
            self.refresh()
            self.app.jobs.run(self._make, on_done=lambda flow: self._made(flow, item), busy=self.t("loading"),
                              name="guide-load")
            return
        self.flow.back()
        if item:
            self.flow.open(item)
        self.refresh()

    def _make(self) -> GuideFlow:
        config = self.app.config
        printing = self.app.devices.printing if config.printer.enabled else None
        if printing is not None:
            warm_up_printing(config)
        return GuideFlow(Guide.load(config), printing)

    def _made(self, flow: GuideFlow, item: str | None) -> None:
        self.session.scratch[SCRATCH] = flow
        if item:
            flow.open(item)
        self.refresh()

    # -- taps -----------------------------------------------------------------------------------
    def search(self, text: str) -> None:
        self.flow.search(text)
        self._fill_results()

    def hot(self, word: str) -> None:
        self.flow.search(word)
        self._narrowed()

    def category(self, category: str | None) -> None:
        self.flow.choose_category(category)
        self._narrowed()

    def _narrowed(self) -> None:
        """A popular word or a category tapped: the search box, the ticks and the list
        change in place (rebuilding the whole screen holds the UI thread ~100 ms)."""
        if self._results is None or self._box is None:
            self.refresh()
            return
        flow = self.flow
        if self._box.text() != flow.query:
            self._box.setText(flow.query)
        for word, button in self._hot_buttons.items():
            button.setChecked(flow.query == word)
        for category, button in self._category_buttons.items():
            button.setChecked(flow.category == category)
        self._fill_results()

    def open_item(self, item_id: str) -> None:
        self.flow.open(item_id)
        self.refresh()

    def back(self) -> None:
        self.flow.back()
        self.refresh()

    def print_checklist(self) -> None:
        flow = self.flow
        self.app.jobs.run(flow.print_checklist, self.app.i18n.lang, on_done=lambda _r: self.refresh(),
                          busy=self.t("printing"), name="guide-print")

    # -- the look -----------------------------------------------------------------------------------
    def render(self) -> QWidget:
        flow = self.flow
        self._results = self._box = None
        self._hot_buttons, self._category_buttons = {}, {}
        if flow is None:
            body = QWidget()
            QVBoxLayout(body).addWidget(label(self.t("title"), "heading"))
            return body
        return self._item() if flow.item is not None else self._browse()

    def _browse(self) -> QWidget:
        th, flow, lang = self.theme, self.flow, self.app.i18n.lang
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(3))
        top = QHBoxLayout()
        top.addWidget(label(self.t("title"), "heading"))
        top.addSpacing(th.mm(8))
        box = QLineEdit(flow.query)
        box.setObjectName("guide-search")
        box.setPlaceholderText(self.t("search_placeholder"))
        box.textEdited.connect(self.search)
        self._box = box
        top.addWidget(box, 1)
        top.addWidget(secondary(self.t("clear"), lambda: self.hot(""), name="guide-clear"))
        layout.addLayout(top)

        words = QHBoxLayout()
        words.setSpacing(th.mm(3))
        words.addWidget(label(self.t("hot_title"), "muted", wrap=False))
        for index, word in enumerate(self.t("hot_words").split()):
            self._hot_buttons[word] = choice(word, lambda w=word: self.hot(w), checked=flow.query == word,
                                             name=f"guide-hot-{index}")
            words.addWidget(self._hot_buttons[word])
        words.addStretch(1)
        layout.addLayout(words)

        tabs = QHBoxLayout()
        tabs.setSpacing(th.mm(3))
        self._category_buttons[None] = choice(self.t("all"), lambda: self.category(None),
                                              checked=flow.category is None, name="guide-category-all")
        tabs.addWidget(self._category_buttons[None])
        for category in flow.guide.categories:
            name = category.name_en if lang == "en" and category.name_en else category.name
            self._category_buttons[category.id] = choice(name, lambda c=category.id: self.category(c),
                                                         checked=flow.category == category.id,
                                                         name=f"guide-category-{category.id}")
            tabs.addWidget(self._category_buttons[category.id])
        tabs.addStretch(1)
        layout.addLayout(tabs)

        holder = QWidget()
        self._results = QVBoxLayout(holder)
        self._results.setContentsMargins(0, 0, 0, 0)
        self._fill_results()
        layout.addWidget(holder, 1)
        return body

    def _fill_results(self) -> None:
        """Only the list changes while the resident types: the search box keeps its focus."""
        results, th, lang, flow = self._results, self.theme, self.app.i18n.lang, self.flow
        if results is None or flow is None:
            return
        while results.count():
            old = results.takeAt(0).widget()
            if old is not None:
                old.hide()
                old.deleteLater()
        found = label(self.t("found", count=len(flow.results)), "muted")
        found.setObjectName("guide-found")
        results.addWidget(found)
        if not flow.results:
            results.addWidget(notice(th, self.t("nothing_found"), "", name="guide-nothing"))
            results.addStretch(1)
            return
        buttons = [item_button(th, i.text("name", lang), i.text("department", lang),
                               lambda i=i: self.open_item(i.id), name=f"guide-item-{i.id}") for i in flow.results]
        area = QScrollArea()
        area.setWidget(grid_of(th, buttons, 3))
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        area.setProperty("role", "list")
        results.addWidget(area, 1)

    def _item(self) -> QWidget:
        th, flow, lang = self.theme, self.flow, self.app.i18n.lang
        item = flow.item
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(4))
        layout.addWidget(label(item.text("name", lang), "heading"))
        columns = QHBoxLayout()
        columns.setSpacing(th.mm(6))
        facts = [(self.t(key), item.text(key, lang)) for key in ("department", "place", "hours", "time_limit",
                                                                  "contact") if item.text(key, lang)]
        left = card(th, rows(th, facts))
        if item.dropoff:
            hint = label(self.t("dropoff_hint"), "value")
            hint.setStyleSheet(f"color: {th.palette.ok}; font-weight: bold;")
            left.layout().addWidget(hint)
        left.layout().addStretch(1)
        columns.addWidget(left, 1)
        materials = QFrame()
        materials.setProperty("role", "card")
        listing = QVBoxLayout(materials)
        listing.setContentsMargins(th.mm(8), th.mm(6), th.mm(8), th.mm(6))
        listing.setSpacing(th.mm(3))
        listing.addWidget(label(self.t("materials"), "title"))
        for number, material in enumerate(item.materials, 1):
            line = QHBoxLayout()
            what = label(f"{number}. {material.material}", "value")
            line.addWidget(what, 1)
            side = self.t("copies", form=self.t(f"form_{material.form}"), copies=material.copies)
            how = label(side, None, wrap=False)
            how.setStyleSheet(f"color: {th.palette.muted};")
            line.addWidget(how, 0, Qt.AlignmentFlag.AlignTop)
            listing.addLayout(line)
            if material.note:
                note = label(material.note, "muted")
                note.setContentsMargins(th.mm(6), 0, 0, 0)
                listing.addWidget(note)
        listing.addStretch(1)
        columns.addWidget(materials, 1)
        layout.addLayout(columns, 1)

        printed = flow.printed
        if printed is not None:
            if printed.printed:
                layout.addWidget(notice(th, self.t("printed"), "", role="ok", name="guide-printed"))
            else:
                advice = pick(lang, printed.advice) if printed.advice else ""
                layout.addWidget(notice(th, self.t("print_failed"), advice, role="error", name="guide-print-failed"))
        buttons = QHBoxLayout()
        buttons.setSpacing(th.mm(5))
        if flow.printing is not None:
            go = primary(self.t("print"), self.print_checklist, name="guide-print")
            tall(go, th, 18)
            buttons.addWidget(go)
        if item.dropoff:
            drop = secondary(self.t("dropoff"), lambda: self.app.go("dropoff", item=item.id), name="guide-dropoff")
            tall(drop, th, 18)
            buttons.addWidget(drop)
        back = secondary(self.t("back"), self.back, name="guide-back")
        tall(back, th, 18)
        buttons.addWidget(back)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return body

    # -- screenshots ------------------------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        def at(query: str = "", category: str | None = None, item: str | None = None, printed: bool | None = None):
            def setup(screen: "GuideScreen") -> None:
                from types import SimpleNamespace

                from drivers.printer import Advice

                flow = GuideFlow(Guide.load(screen.app.config), object())  # type: ignore[arg-type]
                screen.session.scratch[SCRATCH] = flow
                flow.choose_category(category)
                flow.search(query)
                if item:
                    flow.open(item)
                if printed is not None:  # what the printing flow answers (printed, or out of paper)
                    flow.printed = SimpleNamespace(printed=printed, advice=None if printed else Advice(
                        "打印机缺纸，请联系工作人员添纸", "The printer is out of paper: ask staff to refill it"))
                screen.refresh()
            return setup
        return [ScreenState("browse", at()), ScreenState("search", at(query="补贴")),
                ScreenState("category", at(category="social")), ScreenState("nothing", at(query="量子")),
                ScreenState("item", at(item="elderly-subsidy")),
                ScreenState("printed", at(item="low-income", printed=True)),
                ScreenState("print-failed", at(item="senior-card", printed=False))]
