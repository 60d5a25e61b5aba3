"""The locker's alerts over any screen: a band across the top of the screen area
(under the header, over the screen and the progress indicator) (a door left open: 请关好3号柜门; a door forced; a code refused at the
locker's own scanner), one row each, gone when the locker says they are resolved.
A refusal can be dismissed (知道了); a door alert stays until the door is shut.

The app gives it the rows (:meth:`AlertBanner.show_rows`): a title, a line of what
to do, the colour role (``warn`` or ``error``) and whether it can be dismissed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from kiosk.theme import Theme
from kiosk.widgets.buttons import secondary
from kiosk.widgets.label import label


@dataclass(frozen=True)
class AlertRow:
    key: str  # what it is about (door:3, refusal): names its widgets for tests
    title: str
    detail: str
    role: str = "warn"  # warn | error
    dismiss: str = ""  # the dismiss button's text; "" = it cannot be dismissed


class AlertBanner(QFrame):
    def __init__(self, parent: QWidget, theme: Theme, *, on_dismiss: Callable[[str], None],
                 top: Callable[[], int] = lambda: 0) -> None:
        super().__init__(parent)
        self.theme, self.on_dismiss, self.top = theme, on_dismiss, top
        self.setObjectName("locker-alerts")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#locker-alerts { background: transparent; }")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(theme.mm(12), theme.mm(3), theme.mm(12), 0)
        self._layout.setSpacing(theme.mm(2))
        self.rows: list[AlertRow] = []
        parent.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # follow the parent's width
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def show_rows(self, rows: list[AlertRow]) -> None:
        self.rows = list(rows)
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for row in self.rows:
            self._layout.addWidget(self._row(row))
        if self.rows:
            self._place()
            self.raise_()
            self.show()
        else:
            self.hide()

    def _place(self) -> None:
        parent = self.parentWidget()
        self.setFixedWidth(parent.width())
        self.adjustSize()
        self.move(0, self.top())
        self.raise_()

    def _row(self, row: AlertRow) -> QFrame:
        th = self.theme
        colour = th.palette.error if row.role == "error" else th.palette.warn
        surface = th.palette.error_surface if row.role == "error" else th.palette.warn_surface
        frame = QFrame()
        frame.setStyleSheet(f"#alert-{row.key.replace(':', '-')} {{ background: {surface};"
                            f" border: 3px solid {colour}; border-radius: {th.mm(3)}px; }}")
        frame.setObjectName(f"alert-{row.key.replace(':', '-')}")
        layout = QHBoxLayout(frame)
        layout.setContentsMargins(th.mm(6), th.mm(3), th.mm(6), th.mm(3))
        layout.setSpacing(th.mm(5))
        size = round(th.mm(14) * th.scale)
        sign = QLabel("!")
        sign.setFixedSize(size, size)
        sign.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sign.setStyleSheet(f"background: {colour}; color: white; border-radius: {size // 2}px;"
                           f"font-size: {th.heading}px; font-weight: bold;")
        layout.addWidget(sign)
        words = QVBoxLayout()
        words.setSpacing(th.mm(1))
        title = label(row.title, "heading")
        title.setObjectName(f"alert-title-{row.key.replace(':', '-')}")
        title.setStyleSheet(f"color: {colour}; background: transparent;")
        words.addWidget(title)
        if row.detail:
            detail = label(row.detail, "value")
            detail.setStyleSheet("background: transparent;")
            words.addWidget(detail)
        layout.addLayout(words, 1)
        if row.dismiss:
            layout.addWidget(secondary(row.dismiss, lambda key=row.key: self.on_dismiss(key),
                                       name=f"alert-dismiss-{row.key.replace(':', '-')}"))
        return frame
