"""A home-screen tile: a big coloured button with a glyph, the journey's name and
a one-line hint. The whole tile is the target."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout

from kiosk.theme import TILE_COLOURS, Theme


class BigTile(QPushButton):
    def __init__(self, theme: Theme, title: str, hint: str, tint: int, glyph: str = "",
                 on_click: Callable[[], None] | None = None, *, name: str | None = None) -> None:
        """``tint``: which of the theme's :data:`~kiosk.theme.TILE_COLOURS` (the theme's
        style sheet gives each its colour, and the tile's height)."""
        super().__init__()
        self.setProperty("role", "tile")
        self.setProperty("tint", tint % len(TILE_COLOURS))
        if name:
            self.setObjectName(name)
        self.setMinimumWidth(theme.mm(60))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(theme.mm(5), theme.mm(4), theme.mm(5), theme.mm(4))
        layout.setSpacing(theme.mm(1.5))
        if glyph:
            mark = QLabel(glyph)
            mark.setProperty("role", "tile-glyph")
            layout.addWidget(mark)
        layout.addStretch(1)
        name_label = QLabel(title)
        name_label.setWordWrap(True)
        name_label.setProperty("role", "tile-title")
        layout.addWidget(name_label)
        hint_label = QLabel(hint)
        hint_label.setWordWrap(True)
        hint_label.setProperty("role", "tile-hint")
        layout.addWidget(hint_label)
        for child in (name_label, hint_label):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.title = title
        if on_click is not None:
            self.clicked.connect(lambda checked=False: on_click())
