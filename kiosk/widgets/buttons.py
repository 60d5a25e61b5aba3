"""Buttons: primary (the one way forward on a screen), secondary (back, other
options), choice (one of a set: purpose, copies). All at least the theme's touch
size; the style sheet gives them their look."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QPushButton


def _button(text: str, role: str, on_click: Callable[[], None] | None, name: str | None) -> QPushButton:
    button = QPushButton(text)
    button.setProperty("role", role)
    if name:
        button.setObjectName(name)  # tests and the bench find buttons by name
    if on_click is not None:
        button.clicked.connect(lambda checked=False: on_click())
    return button


def primary(text: str, on_click: Callable[[], None] | None = None, *, name: str | None = None) -> QPushButton:
    return _button(text, "primary", on_click, name)


def secondary(text: str, on_click: Callable[[], None] | None = None, *, name: str | None = None) -> QPushButton:
    return _button(text, "secondary", on_click, name)


def choice(text: str, on_click: Callable[[], None] | None = None, *, checked: bool = False,
           name: str | None = None) -> QPushButton:
    button = _button(text, "choice", on_click, name)
    button.setCheckable(True)
    button.setChecked(checked)
    return button
