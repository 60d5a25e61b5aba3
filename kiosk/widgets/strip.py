"""The announcements strip along the bottom: one announcement at a time, the next
every few seconds. Text only; the store gives them (kiosk.store.announcements)."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout

from kiosk.theme import Theme
from kiosk.widgets.label import label


class AnnouncementStrip(QFrame):
    def __init__(self, theme: Theme, *, interval_ms: int = 8000) -> None:
        super().__init__()
        self.setProperty("role", "strip")
        self.setMinimumHeight(theme.mm(14))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(theme.mm(6), theme.mm(2), theme.mm(6), theme.mm(2))
        self.badge = label("", "title", wrap=False)
        self.badge.setStyleSheet(f"color: {theme.palette.primary};")
        self.text = label("")
        layout.addWidget(self.badge)
        layout.addSpacing(theme.mm(3))
        layout.addWidget(self.text, 1)
        self.items: list[str] = []
        self.index = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.next)
        self._timer.start(interval_ms)

    def show_items(self, badge: str, items: list[str]) -> None:
        self.badge.setText(badge)
        self.items = list(items)
        self.index = 0
        self.setVisible(bool(self.items))
        self._show()

    def next(self) -> None:
        if self.items:
            self.index = (self.index + 1) % len(self.items)
            self._show()

    def _show(self) -> None:
        if self.items:
            suffix = f"   ({self.index + 1}/{len(self.items)})" if len(self.items) > 1 else ""
            self.text.setText(self.items[self.index] + suffix)
