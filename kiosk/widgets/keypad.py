"""An on-screen number pad for PINs (the kiosk has no keyboard): digits shown as
dots, 0–9, delete, and the confirm button. Buttons are named ``key-0`` … ``key-9``,
``key-del``, ``key-ok`` for tests."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.theme import Theme
from kiosk.widgets.label import label


class Keypad(QWidget):
    def __init__(self, theme: Theme, confirm_text: str, on_confirm: Callable[[str], None], *,
                 max_digits: int = 12) -> None:
        super().__init__()
        self.digits = ""
        self.max_digits = max_digits
        self.on_confirm = on_confirm
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.mm(2))
        self.shown: QLabel = label("", "heading")
        self.shown.setMinimumHeight(theme.touch)
        self.shown.setStyleSheet(f"background: {theme.palette.surface}; border: 2px solid {theme.palette.line};"
                                 f"border-radius: {theme.mm(2)}px; padding: 0 {theme.mm(3)}px;")
        layout.addWidget(self.shown)
        grid = QGridLayout()
        grid.setSpacing(theme.mm(2))
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "del", "0", "ok"]
        for index, key in enumerate(keys):
            text = {"del": "⌫", "ok": confirm_text}.get(key, key)
            button = QPushButton(text)
            button.setObjectName(f"key-{key}")
            button.setProperty("role", "primary" if key == "ok" else "choice")
            button.setMinimumSize(theme.touch * 3 // 2, theme.touch)
            button.clicked.connect(lambda checked=False, key=key: self.press(key))
            grid.addWidget(button, index // 3, index % 3)
        layout.addLayout(grid)

    def press(self, key: str) -> None:
        if key == "del":
            self.digits = self.digits[:-1]
        elif key == "ok":
            digits, self.digits = self.digits, ""
            self.shown.setText("")
            self.on_confirm(digits)
            return
        elif len(self.digits) < self.max_digits:
            self.digits += key
        self.shown.setText("●" * len(self.digits))

    def clear(self) -> None:
        self.digits = ""
        self.shown.setText("")
