"""Panels: a white card, label/value rows, and the error panel that always says
what happened and what to do next (Chinese first; the screen's language)."""
from __future__ import annotations

from typing import Sequence

from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from kiosk.theme import Theme
from kiosk.widgets.label import label


def card(theme: Theme, *widgets: QWidget, role: str = "card") -> QFrame:
    frame = QFrame()
    frame.setProperty("role", role)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(theme.mm(8), theme.mm(6), theme.mm(8), theme.mm(6))
    layout.setSpacing(theme.mm(3))
    for widget in widgets:
        layout.addWidget(widget)
    return frame


def rows(theme: Theme, pairs: Sequence[tuple[str, str]]) -> QWidget:
    """Label/value pairs in two columns: 姓名  张晓明."""
    widget = QWidget()
    grid = QGridLayout(widget)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(theme.mm(8))
    grid.setVerticalSpacing(theme.mm(3))
    for row, (name, value) in enumerate(pairs):
        grid.addWidget(label(name, "muted", wrap=False), row, 0)
        grid.addWidget(label(value, "value"), row, 1)
    grid.setColumnStretch(1, 1)
    return widget


class ErrorPanel(QFrame):
    """A fault in plain words: a title, what happened, what to do next, and the
    buttons that do it (try again, staff help, home)."""

    def __init__(self, theme: Theme, title: str, what: str, next_steps: str,
                 buttons: Sequence[QPushButton] = (), *, role: str = "error") -> None:
        super().__init__()
        self.setProperty("role", role)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(theme.mm(10), theme.mm(8), theme.mm(10), theme.mm(8))
        layout.setSpacing(theme.mm(4))
        self.title = label(title, "heading")
        self.title.setStyleSheet(f"color: {theme.palette.error if role == 'error' else theme.palette.warn};")
        self.what = label(what, "value")
        self.next_steps = label(next_steps, "value")
        self.next_steps.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.title)
        layout.addWidget(self.what)
        layout.addWidget(self.next_steps)
        if buttons:
            row = QHBoxLayout()
            row.setSpacing(theme.mm(5))
            for button in buttons:
                row.addWidget(button)
            row.addStretch(1)
            layout.addSpacing(theme.mm(3))
            layout.addLayout(row)
