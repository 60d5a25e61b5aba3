"""Overlays over the whole window: the progress indicator while a background job
runs, and the idle countdown. Each covers its parent and follows its size."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QProgressBar, QVBoxLayout, QWidget

from kiosk.theme import Theme
from kiosk.widgets.buttons import primary
from kiosk.widgets.label import label


class _Overlay(QWidget):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("_Overlay, BusyOverlay, CountdownOverlay { background: rgba(20, 28, 40, 150); }")
        parent.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # follow the parent's size
        if event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

    def pop(self) -> None:
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()


class BusyOverlay(_Overlay):
    """"正在读取…" with an indeterminate bar. Taps are swallowed while it shows."""

    def __init__(self, parent: QWidget, theme: Theme) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        box = QFrame()
        box.setProperty("role", "card")
        box.setFixedWidth(theme.mm(150))
        inner = QVBoxLayout(box)
        inner.setContentsMargins(theme.mm(10), theme.mm(8), theme.mm(10), theme.mm(8))
        self.text = label("", "title", align=Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        inner.addWidget(self.text)
        inner.addSpacing(theme.mm(4))
        inner.addWidget(self.bar)
        layout.addWidget(box, 0, Qt.AlignmentFlag.AlignCenter)

    def set_text(self, text: str) -> None:
        if text:
            self.text.setText(text)
            self.pop()
        else:
            self.hide()


class CountdownOverlay(_Overlay):
    """"还在吗？10 秒后返回首页" and a big 继续使用 button."""

    def __init__(self, parent: QWidget, theme: Theme, on_stay: Callable[[], None]) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        box = QFrame()
        box.setProperty("role", "card")
        box.setFixedWidth(theme.mm(170))
        inner = QVBoxLayout(box)
        inner.setContentsMargins(theme.mm(10), theme.mm(8), theme.mm(10), theme.mm(8))
        inner.setSpacing(theme.mm(4))
        self.question = label("", "heading", align=Qt.AlignmentFlag.AlignCenter)
        self.seconds = label("", "huge", align=Qt.AlignmentFlag.AlignCenter)
        self.seconds.setStyleSheet(f"color: {theme.palette.primary}; font-size: {theme.pt(72)}px;")
        self.detail = label("", align=Qt.AlignmentFlag.AlignCenter)
        self.stay = primary("", on_stay, name="idle-stay")
        for widget in (self.question, self.seconds, self.detail, self.stay):
            inner.addWidget(widget)
        layout.addWidget(box, 0, Qt.AlignmentFlag.AlignCenter)

    def set_texts(self, question: str, detail: str, stay: str) -> None:
        self.question.setText(question)
        self.detail.setText(detail)
        self.stay.setText(stay)

    def set_seconds(self, seconds: int) -> None:
        self.seconds.setText(str(max(0, seconds)))
