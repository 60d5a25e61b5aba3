"""A certificate preview on screen: a sheet of paper (A4 proportions) with the
title, the paragraphs, the facts and the issuer, from :mod:`kiosk.flows.preview`."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QVBoxLayout

from kiosk.theme import Theme
from kiosk.widgets.label import label


class PaperPreview(QFrame):
    def __init__(self, theme: Theme, preview, *, height_mm: float = 150) -> None:
        super().__init__()
        self.setObjectName("paper-preview")
        height = theme.mm(height_mm)
        self.setFixedSize(round(height / 1.414), height)
        self.setStyleSheet(f"QFrame#paper-preview {{ background: white; border: 1px solid {theme.palette.line};"
                           f"border-radius: 4px; }} QLabel {{ background: transparent; color: #222; }}")
        size = max(11, round(height / 48))
        layout = QVBoxLayout(self)
        margin = round(height * 0.07)
        layout.setContentsMargins(margin, margin, margin, margin)
        layout.setSpacing(round(size * 0.8))
        title = label(preview.title, align=Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet(f"font-size: {round(size * 1.9)}px; font-weight: bold; letter-spacing: 4px;")
        layout.addWidget(title)
        layout.addSpacing(size)
        for text in preview.paragraphs:
            paragraph = label("\u3000\u3000" + text)
            paragraph.setStyleSheet(f"font-size: {size}px;")
            layout.addWidget(paragraph)
        for name, value in preview.facts:
            fact = label(f"{name}：{value}")
            fact.setStyleSheet(f"font-size: {size}px;")
            layout.addWidget(fact)
        layout.addStretch(1)
        issuer = label(preview.issuer, align=Qt.AlignmentFlag.AlignRight)
        issuer.setStyleSheet(f"font-size: {size}px; font-weight: bold;")
        layout.addWidget(issuer)
        for text in preview.notes:
            note = label(text)
            note.setStyleSheet(f"font-size: {round(size * 0.8)}px; color: #666;")
            layout.addWidget(note)
