"""Pieces the locker and case journeys' screens share (guide, drop-off, pickup,
progress, report): the numbered steps of a journey, a notice panel, the big "door 7
is open" panel and the digit keypad. Built from the theme like every widget; not a
screen (modules starting with ``_`` are not discovered as screens)."""
from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kiosk.theme import Theme
from kiosk.widgets import label, secondary


def steps(theme: Theme, titles: Sequence[str], current: int) -> QWidget:
    """① 选择事项 — ② 核对材料 — ③ 投入柜门: done steps ticked, the current one filled."""
    bar = QWidget()
    row = QHBoxLayout(bar)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(theme.mm(3))
    p = theme.palette
    size = theme.mm(11)
    for index, title in enumerate(titles):
        done, here = index < current, index == current
        dot = QLabel("✓" if done else str(index + 1))
        dot.setFixedSize(size, size)
        dot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        colour = p.ok if done else (p.primary if here else p.line)
        dot.setStyleSheet(f"background: {colour}; color: white; border-radius: {size // 2}px;"
                          f"font-size: {theme.body}px; font-weight: bold;")
        name = label(title, None, wrap=False)
        name.setStyleSheet(f"color: {p.ink if here else p.muted}; font-size: {theme.body}px;"
                           f"{'font-weight: bold;' if here else ''}")
        row.addWidget(dot)
        row.addWidget(name)
        if index < len(titles) - 1:
            line = QFrame()
            line.setFixedHeight(3)
            line.setMinimumWidth(theme.mm(8))
            line.setStyleSheet(f"background: {p.ok if done else p.line};")
            row.addWidget(line, 1)
    return bar


def notice(theme: Theme, title: str, text: str, *, role: str = "warn", buttons: Sequence[QWidget] = (),
           name: str = "") -> QFrame:
    """A coloured panel: a bold line and what to do next (role warn, error or ok)."""
    frame = QFrame()
    frame.setProperty("role", "warn" if role == "ok" else role)
    if name:
        frame.setObjectName(name)
    p = theme.palette
    if role == "ok":
        frame.setStyleSheet(f"QFrame {{ background: #E8F5EC; border: 2px solid {p.ok};"
                            f"border-radius: {theme.mm(2.5)}px; }}")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(theme.mm(8), theme.mm(5), theme.mm(8), theme.mm(5))
    layout.setSpacing(theme.mm(2))
    head = label(title, "title")
    colour = {"ok": p.ok, "error": p.error}.get(role, p.warn)
    head.setStyleSheet(f"color: {colour}; background: transparent; border: none;")
    layout.addWidget(head)
    if text:
        body = label(text, "value")
        body.setStyleSheet("background: transparent; border: none;")
        layout.addWidget(body)
    if buttons:
        row = QHBoxLayout()
        row.setSpacing(theme.mm(5))
        for button in buttons:
            row.addWidget(button)
        row.addStretch(1)
        layout.addSpacing(theme.mm(2))
        layout.addLayout(row)
    return frame


def door_panel(theme: Theme, door: str, line: str, hint: str = "", *, name: str = "door-panel") -> QFrame:
    """The huge door number the resident looks for on the locker, and what to do."""
    frame = QFrame()
    frame.setObjectName(name)
    p = theme.palette
    frame.setStyleSheet(f"QFrame#{name} {{ background: {p.surface}; border: 4px solid {p.ok};"
                        f"border-radius: {theme.mm(4)}px; }}")
    frame.setMinimumWidth(theme.mm(240))
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(theme.mm(16), theme.mm(12), theme.mm(16), theme.mm(12))
    layout.setSpacing(theme.mm(6))
    big = label(door, None, align=Qt.AlignmentFlag.AlignCenter)
    big.setObjectName(f"{name}-door")
    big.setStyleSheet(f"color: {p.ok}; font-size: {round(theme.huge * 1.6)}px; font-weight: bold;"
                      "background: transparent; border: none;")
    layout.addWidget(big)
    what = label(line, "heading", align=Qt.AlignmentFlag.AlignCenter)
    what.setStyleSheet("background: transparent; border: none;")
    layout.addWidget(what)
    if hint:
        more = label(hint, "muted", align=Qt.AlignmentFlag.AlignCenter)
        more.setStyleSheet(f"color: {p.muted}; background: transparent; border: none;")
        layout.addWidget(more)
    return frame


class Keypad(QWidget):
    """A big digit keypad: 1–9, clear, 0, back. ``on_key`` gets "0"…"9", "clear", "back"."""

    def __init__(self, theme: Theme, on_key: Callable[[str], None], *, clear_text: str, back_text: str,
                 enabled: bool = True, prefix: str = "key") -> None:
        super().__init__()
        p = theme.palette
        # one style sheet for the pad, not one a button: each sheet costs a style pass
        self.setStyleSheet(f"QPushButton[digit=\"true\"] {{ font-size: {theme.heading}px; font-weight: bold; }}"
                           f"QPushButton:disabled {{ color: {p.line}; border-color: {p.line}; }}")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(theme.mm(3))
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back"]
        height = max(theme.touch, theme.mm(22))
        for index, key in enumerate(keys):
            text = {"clear": clear_text, "back": back_text}.get(key, key)
            button = secondary(text, lambda k=key: on_key(k), name=f"{prefix}-{key}")
            button.setProperty("digit", key.isdigit())
            button.setMinimumHeight(height)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setEnabled(enabled)
            grid.addWidget(button, index // 3, index % 3)


def code_boxes(theme: Theme, digits: str, length: int) -> QWidget:
    """The code typed so far, one box a digit: 1 2 3 _ _ _ _ _."""
    box = QWidget()
    p = theme.palette
    box.setStyleSheet(f"QLabel {{ background: {p.surface}; border: 3px solid {p.line}; border-radius: {theme.mm(2)}px;"
                      f"font-size: {theme.huge}px; font-weight: bold; color: {p.ink}; }}"
                      f"QLabel[next=\"true\"] {{ border-color: {p.accent}; }}")
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(theme.mm(2))
    for index in range(length):
        cell = QLabel(digits[index] if index < len(digits) else "")
        cell.setObjectName(f"code-digit-{index}")
        cell.setProperty("next", index == len(digits))
        cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
        cell.setFixedSize(theme.mm(17), theme.mm(22))
        row.addWidget(cell)
        if index == 3:
            row.addSpacing(theme.mm(3))
    row.addStretch(1)
    return box


def pick(lang: str, advice) -> str:
    """The resident's language of a flow's Advice (zh, en)."""
    return advice.zh if lang == "zh" else advice.en


def result_panel(theme: Theme, title: str, text: str, buttons: Sequence[QWidget] = (), *, role: str = "ok",
                 extra: Sequence[QWidget] = (), name: str = "result-panel") -> QFrame:
    """The end of a journey, centred: a big ✓ (or !), the heading, what to do next,
    anything else to show (a case number), and big buttons."""
    frame = QFrame()
    frame.setObjectName(name)
    p = theme.palette
    colour = p.ok if role == "ok" else p.error
    frame.setStyleSheet(f"QFrame#{name} {{ background: {p.surface}; border: 3px solid {colour};"
                        f"border-radius: {theme.mm(4)}px; }}")
    frame.setMinimumWidth(theme.mm(240))
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(theme.mm(16), theme.mm(10), theme.mm(16), theme.mm(10))
    layout.setSpacing(theme.mm(5))
    size = theme.mm(26)
    mark = QLabel("✓" if role == "ok" else "!")
    mark.setFixedSize(size, size)
    mark.setAlignment(Qt.AlignmentFlag.AlignCenter)
    mark.setStyleSheet(f"background: {colour}; color: white; border-radius: {size // 2}px;"
                       f"font-size: {theme.huge}px; font-weight: bold; border: none;")
    layout.addWidget(mark, 0, Qt.AlignmentFlag.AlignHCenter)
    head = label(title, "heading", align=Qt.AlignmentFlag.AlignCenter)
    head.setStyleSheet(f"color: {colour}; border: none; background: transparent;")
    layout.addWidget(head)
    if text:
        what = label(text, "value", align=Qt.AlignmentFlag.AlignCenter)
        what.setStyleSheet("border: none; background: transparent;")
        layout.addWidget(what)
    for widget in extra:
        layout.addWidget(widget)
    if buttons:
        row = QHBoxLayout()
        row.setSpacing(theme.mm(6))
        row.addStretch(1)
        for button in buttons:
            button.setMinimumWidth(theme.mm(60))
            button.setMinimumHeight(max(theme.touch, theme.mm(18)))
            row.addWidget(button)
        row.addStretch(1)
        layout.addSpacing(theme.mm(3))
        layout.addLayout(row)
    return frame


def centred(panel: QWidget) -> QWidget:
    """``panel`` in the middle of the screen's body."""
    body = QWidget()
    layout = QVBoxLayout(body)
    layout.addStretch(1)
    layout.addWidget(panel, 0, Qt.AlignmentFlag.AlignHCenter)
    layout.addStretch(2)
    return body
