"""Pieces the locker and case journeys' screens share (guide, drop-off, pickup,
progress, report): the numbered steps of a journey, a notice panel, the big "door 7
is open" panel and the digit keypad. Built from the theme like every widget; not a
screen (modules starting with ``_`` are not discovered as screens)."""
from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QLayout, QPushButton, QSizePolicy, QVBoxLayout,
                               QWidget)

from kiosk.theme import TALL_MM, Theme
from kiosk.widgets import label, secondary


def tall(button: QWidget, theme: Theme, millimetres: int) -> int:
    """Make ``button`` ``millimetres`` high on the glass (scaled in elderly mode, never
    under the touch size), one of :data:`~kiosk.theme.TALL_MM`. Through the theme's
    sheet, which has a rule for each: the app's ``min-height`` would beat
    setMinimumHeight and setFixedHeight when the style polishes the button, and a sheet
    of the button's own would be applied again each time the button changes parent."""
    if millimetres not in TALL_MM:
        raise ValueError(f"a tall button of {millimetres} mm: the theme's sheet has {TALL_MM} (kiosk.theme.TALL_MM)")
    height = theme.tall(millimetres)
    button.setProperty("tall", millimetres)
    button.setFixedHeight(height)  # for the layouts asking before the style polished it
    return height


def steps(theme: Theme, titles: Sequence[str], current: int) -> QWidget:
    """① 选择事项 — ② 核对材料 — ③ 投入柜门: done steps ticked, the current one filled."""
    bar = QWidget()
    row = QHBoxLayout(bar)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(theme.mm(3))
    for index, title in enumerate(titles):
        done, here = index < current, index == current
        dot = QLabel("✓" if done else str(index + 1))
        dot.setProperty("role", "dot")
        dot.setProperty("tone", "ok" if done else ("primary" if here else ""))
        dot.setFixedSize(theme.dot, theme.dot)
        dot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        name = label(title, "step", wrap=False)
        name.setProperty("tone", "here" if here else "")
        row.addWidget(dot)
        row.addWidget(name)
        if index < len(titles) - 1:
            line = QFrame()
            line.setProperty("role", "bar")
            line.setProperty("tone", "ok" if done else "")
            line.setFixedHeight(3)
            line.setMinimumWidth(theme.mm(8))
            row.addWidget(line, 1)
    return bar


def notice(theme: Theme, title: str, text: str, *, role: str = "warn", buttons: Sequence[QWidget] = (),
           name: str = "") -> QFrame:
    """A coloured panel: a bold line and what to do next (role warn, error or ok)."""
    frame = QFrame()
    frame.setProperty("role", role)
    if name:
        frame.setObjectName(name)
    layout = QVBoxLayout(frame)
    layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # never squeezed below its text
    layout.setContentsMargins(theme.mm(8), theme.mm(5), theme.mm(8), theme.mm(5))
    layout.setSpacing(theme.mm(2))
    head = label(title, "title")
    head.setProperty("tone", role if role in ("ok", "error") else "warn")
    layout.addWidget(head)
    if text:
        layout.addWidget(label(text, "value"))
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
    frame.setProperty("role", "panel")
    frame.setProperty("tone", "door")
    frame.setMinimumWidth(theme.mm(240))
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(theme.mm(16), theme.mm(12), theme.mm(16), theme.mm(12))
    layout.setSpacing(theme.mm(6))
    big = label(door, "door", align=Qt.AlignmentFlag.AlignCenter)
    big.setObjectName(f"{name}-door")
    layout.addWidget(big)
    layout.addWidget(label(line, "heading", align=Qt.AlignmentFlag.AlignCenter))
    if hint:
        layout.addWidget(label(hint, "muted", align=Qt.AlignmentFlag.AlignCenter))
    return frame


class Keypad(QWidget):
    """A big digit keypad: 1–9, clear, 0, back. ``on_key`` gets "0"…"9", "clear", "back"."""

    def __init__(self, theme: Theme, on_key: Callable[[str], None], *, clear_text: str, back_text: str,
                 enabled: bool = True, prefix: str = "key") -> None:
        super().__init__()
        # its look is the theme's (role "digitpad"): a style sheet of its own would be
        # re-applied to every key each time the pad changes parent, as a screen is built
        self.setProperty("role", "digitpad")
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


PHONE_GAPS = (2, 6)  # a mobile number reads 138 0013 8000


def code_boxes(theme: Theme, digits: str, length: int, gaps: tuple[int, ...] = (3,)) -> QWidget:
    """The code typed so far, one box a digit: 1 2 3 _ _ _ _ _, with a gap after each
    index in ``gaps`` (a code reads in fours; a phone number, :data:`PHONE_GAPS`)."""
    box = QWidget()  # the boxes' look is the theme's (role "codebox"), as the digit pad's
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(theme.mm(2))
    for index in range(length):
        cell = QLabel(digits[index] if index < len(digits) else "")
        cell.setObjectName(f"code-digit-{index}")
        cell.setProperty("role", "codebox")
        cell.setProperty("next", index == len(digits))
        cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
        cell.setFixedSize(theme.mm(17), theme.mm(22))
        row.addWidget(cell)
        if index in gaps and index < length - 1:
            row.addSpacing(theme.mm(3))
    row.addStretch(1)
    return box


def pick(lang: str, advice) -> str:
    """The resident's language of a flow's Advice (zh, en)."""
    return advice.zh if lang == "zh" else advice.en


def result_panel(theme: Theme, title: str, text: str, buttons: Sequence[QWidget] = (), *, role: str = "ok",
                 extra: Sequence[QWidget] = (), name: str = "result-panel", mark: str | None = "") -> QFrame:
    """The end of a journey, centred: a big ✓ (or !), the heading, what to do next,
    anything else to show (a case number), and big buttons."""
    frame = QFrame()
    frame.setObjectName(name)
    tone = {"ok": "ok", "ask": "accent"}.get(role, "error")
    frame.setProperty("role", "panel")
    frame.setProperty("tone", tone)
    frame.setFixedWidth(theme.mm(290))  # fixed: wrapped text then knows its height
    layout = QVBoxLayout(frame)
    layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
    layout.setContentsMargins(theme.mm(16), theme.mm(10), theme.mm(16), theme.mm(10))
    layout.setSpacing(theme.mm(5))
    if mark is not None:  # None: no badge (room for more below)
        badge = QLabel(mark or ("✓" if role == "ok" else "!"))
        badge.setProperty("role", "badge")
        badge.setProperty("tone", tone)
        badge.setFixedSize(theme.badge, theme.badge)
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(badge, 0, Qt.AlignmentFlag.AlignHCenter)
    head = label(title, "heading", align=Qt.AlignmentFlag.AlignCenter)
    head.setProperty("tone", tone)
    layout.addWidget(head)
    if text:
        layout.addWidget(label(text, "value", align=Qt.AlignmentFlag.AlignCenter))
    for widget in extra:
        layout.addWidget(widget)
    if buttons:
        row = QHBoxLayout()
        row.setSpacing(theme.mm(6))
        row.addStretch(1)
        for button in buttons:
            button.setMinimumWidth(theme.mm(60))
            tall(button, theme, 18)
            row.addWidget(button)
        row.addStretch(1)
        layout.addSpacing(theme.mm(3))
        layout.addLayout(row)
    return frame


def centred(panel: QWidget) -> QWidget:
    """``panel`` in the middle of the screen's body."""
    body = QWidget()
    layout = QVBoxLayout(body)
    row = QHBoxLayout()  # stretches, not an alignment: aligned, a widget gets its (stale) size hint
    row.addStretch(1)
    row.addWidget(panel)
    row.addStretch(1)
    layout.addStretch(1)
    layout.addLayout(row)
    layout.addStretch(2)
    return body


def item_button(theme: Theme, title: str, hint: str = "", on_click: Callable[[], None] | None = None, *,
                name: str = "", checked: bool | None = None, side: str = "") -> QPushButton:
    """A big white button with a bold title and a muted line under it (a service item, a
    material to tick: ``checked`` True/False shows ☑/☐; ``side`` is text at the right)."""
    button = QPushButton()
    button.setProperty("role", "choice")
    if name:
        button.setObjectName(name)
    if checked is not None:
        button.setCheckable(True)
        button.setChecked(checked)
    # a style sheet's min-height beats setMinimumHeight: fix the height from the text sizes
    lines = round(theme.title * 1.5) + (round(theme.small * 1.6) if hint else 0)
    button.setFixedHeight(max(theme.touch, lines + theme.mm(7)))
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    row = QHBoxLayout(button)
    row.setContentsMargins(theme.mm(5), theme.mm(2), theme.mm(5), theme.mm(2))
    row.setSpacing(theme.mm(4))

    def part(text: str, role: str) -> QLabel:  # white on the blue of a ticked one
        piece = QLabel(text)
        piece.setProperty("role", role)
        piece.setProperty("on", bool(checked))
        piece.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        return piece

    if checked is not None:
        row.addWidget(part("☑" if checked else "☐", "item-mark"))
    texts = QVBoxLayout()
    texts.setSpacing(theme.mm(1))
    texts.addWidget(part(title, "item-title"))
    if hint:
        more = part(hint, "item-hint")
        more.setWordWrap(True)
        texts.addWidget(more)
    row.addLayout(texts, 1)
    if side:
        row.addWidget(part(side, "item-side"))
    if on_click is not None:
        button.clicked.connect(lambda checked=False: on_click())
    return button


def grid_of(theme: Theme, widgets: Sequence[QWidget], columns: int) -> QWidget:
    box = QWidget()
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setSpacing(theme.mm(4))
    for index, widget in enumerate(widgets):
        grid.addWidget(widget, index // columns, index % columns)
    for column in range(columns):
        grid.setColumnStretch(column, 1)
    grid.setRowStretch((len(widgets) + columns - 1) // columns, 1)  # rows packed at the top
    return box


def warm_up_printing(config) -> None:
    """On a worker, before the resident reaches a print: the PDF code's imports and the
    CJK font (parsed once per process, ~0.5 s of Python holding the GIL in long stretches)
    would otherwise stall the UI thread in the middle of the journey."""
    from forms.render import load_font

    load_font(config.forms.font)


class LazyModule:
    """A module imported on first attribute use: a screen's flow and store (sqlite_utils,
    the case store, the locker codes) load when the journey starts, not at start-up,
    so home shows without them."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import importlib
        return getattr(importlib.import_module(self._name), attr)
