"""Home: the greeting, "place your ID card" and a big tile for every journey.

Tiles come from the screens themselves (``tile = Tile(...)``): a new journey shows
up here without editing this file. A journey that needs the resident asks for the
card when its tile is tapped."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from kiosk.screens.base import Screen, ScreenState
from kiosk.widgets import BigTile, label, secondary


class HomeScreen(Screen):
    name = "home"
    domain = "home"

    def enter(self, **params) -> None:
        self.refresh()

    def tiles(self) -> list[type[Screen]]:
        screens = [cls for cls in Screen.registry.values() if cls.tile is not None and cls.available(self.app)]
        return sorted(screens, key=lambda cls: (cls.tile.order, cls.name))  # type: ignore[union-attr]

    def render(self) -> QWidget:
        th = self.theme
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(th.mm(5))
        top = QHBoxLayout()
        greeting = QVBoxLayout()
        greeting.setSpacing(th.mm(2))
        greeting.addWidget(label(self.t("title"), "heading"))
        greeting.addWidget(label(self.t("subtitle"), "value"))
        top.addLayout(greeting, 1)
        card_hint = label(self.t("card_hint"), "title", align=Qt.AlignmentFlag.AlignCenter)
        card_hint.setObjectName("home-card-hint")
        card_hint.setStyleSheet(f"background: {th.palette.surface}; border: 2px dashed {th.palette.accent};"
                                f"border-radius: {th.mm(3)}px; padding: {th.mm(3)}px {th.mm(6)}px;"
                                f"color: {th.palette.accent};")
        card_hint.setFixedHeight(round(th.mm(26) * th.scale))
        card_hint.setFixedWidth(round(th.mm(115) * th.scale))
        top.addWidget(card_hint)
        layout.addLayout(top)
        layout.addSpacing(th.mm(4))
        grid = QGridLayout()
        grid.setSpacing(th.mm(5))
        columns = 4
        for index, cls in enumerate(self.tiles()):
            tile = cls.tile
            assert tile is not None
            widget = BigTile(th, self.app.i18n.t(tile.title), self.app.i18n.t(tile.hint),
                             index, tile.glyph,
                             on_click=lambda name=cls.name: self.app.go(name), name=f"tile-{cls.name}")
            grid.addWidget(widget, index // columns, index % columns)
        for column in range(columns):
            grid.setColumnStretch(column, 1)
        layout.addLayout(grid)
        layout.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        staff = secondary(self.app.i18n.t("admin.staff_entry"), lambda: self.app.go("admin"), name="home-admin")
        bottom.addWidget(staff)
        layout.addLayout(bottom)
        return body

    @classmethod
    def states(cls) -> list[ScreenState]:
        return [ScreenState("tiles", lambda screen: screen.enter())]
