"""A home-screen tile: a big coloured button with a glyph, the journey's name and
a one-line hint. The whole tile is the target."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout

from kiosk.theme import Theme


class BigTile(QPushButton):
    def __init__(self, theme: Theme, title: str, hint: str, colour: str, glyph: str = "",
                 on_click: Callable[[], None] | None = None, *, name: str | None = None) -> None:
        super().__init__()
        self.setProperty("role", "tile")
        if name:
            self.setObjectName(name)
        # min-height here: the application's style sheet sets every button's, and wins over setMinimumSize
        self.setStyleSheet(f"QPushButton {{ background: {colour}; min-height: {theme.mm(44)}px; }}"
                           f"QPushButton:pressed {{ background: #333; }}")
        self.setMinimumWidth(theme.mm(60))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(theme.mm(5), theme.mm(4), theme.mm(5), theme.mm(4))
        layout.setSpacing(theme.mm(1.5))
        if glyph:
            mark = QLabel(glyph)
            mark.setStyleSheet(f"color: rgba(255,255,255,0.9); font-size: {theme.huge}px; font-weight: bold;"
                               f"background: transparent;")
            layout.addWidget(mark)
        layout.addStretch(1)
        name_label = QLabel(title)
        name_label.setWordWrap(True)
        name_label.setStyleSheet(f"color: white; font-size: {theme.title}px; font-weight: bold;"
                                 f"background: transparent;")
        layout.addWidget(name_label)
        hint_label = QLabel(hint)
        hint_label.setWordWrap(True)
        hint_label.setStyleSheet(f"color: rgba(255,255,255,0.92); font-size: {theme.small}px;"
                                 f"background: transparent;")
        layout.addWidget(hint_label)
        for child in (name_label, hint_label):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.title = title
        if on_click is not None:
            self.clicked.connect(lambda checked=False: on_click())
