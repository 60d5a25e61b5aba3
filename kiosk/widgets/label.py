from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def label(text: str = "", role: str | None = None, *, wrap: bool = True,
          align: Qt.AlignmentFlag | None = None) -> QLabel:
    """A label styled by ``role``: heading, title, huge, value, muted (or None: body)."""
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    if align is not None:
        widget.setAlignment(align)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return widget
