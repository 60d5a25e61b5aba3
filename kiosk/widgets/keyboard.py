"""The on-screen keyboard: the kiosk is a touchscreen under cage with no keyboard, so
a text box tapped (a report's place and description, the guide's search) brings up
this panel along the bottom of the window. Three pages: 拼音 (letters typed become
Chinese candidates, most used first: :mod:`kiosk.widgets.pinyin`), ABC (letters as
they are) and 123 (digits, the words a place needs: 号 楼 单元 室, punctuation).
完成 puts it away; it goes by itself when the text box does (the screen changed).

Why not Qt Virtual Keyboard: PySide6-Essentials (6.11) carries its QML and its pinyin
plugin but its libraries come with PySide6-Addons (59 MB more on every kiosk), and for
a widgets app it shows the keyboard as a window of its own, which cage (it makes every
window fill the screen) would put over the whole app. This panel is part of the
window, sized from the theme like every other button (≥ 15 mm, larger in elderly
mode), and speaks the catalogues' languages.

Typing reaches the text box as a real input method would: letters being spelled
show in it underlined (pre-edit), a chosen candidate is committed
(``QInputMethodEvent``), a digit or a letter is a key press; so the box's
``textEdited`` fires as for a hardware keyboard. Key buttons are named ``kb-KEY``
(``kb-a``, ``kb-3``, ``kb-back``, ``kb-space``, ``kb-mode-zh`` …) and candidates
``kb-candidate-N`` for tests.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QInputMethodEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QFrame, QGridLayout, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, \
    QWidget

from kiosk.theme import Theme
from kiosk.widgets.label import label

ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
NUMBERS = ("1234567890", ("号", "楼", "单元", "室", "门口", "-", "#", "/"), ("，", "。", "？", "！", "、", "（", "）"))
PAGE = 9  # candidates shown at once


class OnScreenKeyboard(QFrame):
    def __init__(self, parent: QWidget, theme: Theme, texts: Callable[[str], str], *,
                 bottom: Callable[[], int] | None = None) -> None:
        super().__init__(parent)
        self.theme, self.t = theme, texts
        self.bottom = bottom or (lambda: parent.height())
        self.setObjectName("keyboard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.target: QLineEdit | None = None
        self.mode = "zh"  # zh | abc | 123
        self.letters = ""  # pinyin being spelled
        self.candidates: list[str] = []
        self.first = 0  # the first candidate shown
        self._pinyin = None
        parent.installEventFilter(self)
        self._build()
        self.hide()

    # -- the text box ---------------------------------------------------------------------
    def attach(self, target: QLineEdit) -> None:
        """Type into ``target`` and show the panel (the box was tapped)."""
        if target is not self.target:
            self.detach()
            self.target = target
            target.destroyed.connect(self._gone)
        self._place()
        self.raise_()
        self.show()

    def detach(self) -> None:
        """Put the panel away; letters being spelled are dropped."""
        target, self.target = self.target, None
        if target is not None:
            try:
                target.destroyed.disconnect(self._gone)
            except (RuntimeError, TypeError):  # already gone
                pass
            if self.letters:
                self._send(QInputMethodEvent("", []), target)
        self.letters, self.candidates, self.first = "", [], 0
        self._show_candidates()
        self.hide()

    def _gone(self, *_args) -> None:
        self.target = None
        self.letters, self.candidates = "", []
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # follow the parent's size
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        self.setFixedWidth(parent.width())
        self.adjustSize()
        self.move(0, max(0, self.bottom() - self.height()))

    # -- keys -------------------------------------------------------------------------------------
    def press(self, key: str) -> None:
        """A key tapped: a letter, a digit or word of the 123 page, ``back``, ``space``,
        ``done``, ``mode-zh``/``mode-abc``/``mode-123``, ``prev``/``next`` (candidates)."""
        if key == "done":
            self.commit_letters()
            self.detach()
            return
        if key.startswith("mode-"):
            self.commit_letters()
            self.mode = key[5:]
            self._build()
            self._place()
            return
        if key in ("prev", "next"):
            step = PAGE if key == "next" else -PAGE
            self.first = max(0, min(self.first + step, max(0, len(self.candidates) - 1)))
            self._show_candidates()
            return
        if key == "back":
            if self.letters:
                self.letters = self.letters[:-1]
                self._spell()
            else:
                self._key(Qt.Key.Key_Backspace)
            return
        if key == "space":
            if self.letters:
                self.choose(0) if self.candidates else self.commit_letters()
            else:
                self._key(Qt.Key.Key_Space, " ")
            return
        if self.mode == "zh" and key.isascii() and key.isalpha():
            self.letters += key
            self._spell()
            return
        self.commit_letters()
        self._commit(key)

    def choose(self, index: int) -> None:
        """A candidate tapped: it goes into the box; letters left over stay to be chosen."""
        if not 0 <= index < len(self.candidates):
            return
        chosen = self.candidates[index]
        used = self.pinyin.consumed(self.letters, chosen)
        self.letters = self.letters[used:]
        self._commit(chosen, preedit=self.letters)
        self._spell(send=False)

    def commit_letters(self) -> None:
        """Letters spelled but not turned into Chinese go in as they are."""
        if self.letters:
            letters, self.letters = self.letters, ""
            self._commit(letters)
            self._spell(send=False)

    # -- talking to the text box ---------------------------------------------------------------
    @property
    def pinyin(self):
        if self._pinyin is None:
            from kiosk.widgets.pinyin import Pinyin
            self._pinyin = Pinyin.load()
        return self._pinyin

    def _spell(self, send: bool = True) -> None:
        self.candidates = self.pinyin.candidates(self.letters) if self.letters else []
        self.first = 0
        if send and self.target is not None:
            self._send(QInputMethodEvent(self.letters, []))
        self._show_candidates()

    def _commit(self, text: str, preedit: str = "") -> None:
        event = QInputMethodEvent(preedit, [])
        event.setCommitString(text)
        self._send(event)

    def _key(self, key: Qt.Key, text: str = "") -> None:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            self._send(QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text))

    def _send(self, event: QEvent, target: QLineEdit | None = None) -> None:
        target = target or self.target
        if target is not None:
            QApplication.sendEvent(target, event)

    # -- the look -------------------------------------------------------------------------------
    def _button(self, text: str, key: str, *, role: str = "choice", width: float = 1.0) -> QPushButton:
        th = self.theme
        button = QPushButton(text)
        button.setObjectName(f"kb-{key}")
        button.setProperty("role", role)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the text box keeps the focus
        # the app's style sheet wins over setMinimumSize: the sizes go in the button's own sheet
        button.setStyleSheet(f"font-size: {th.title}px; font-weight: bold; min-width: {round(th.touch * 1.8 * width)}px;"
                             f"min-height: {round(th.touch * 1.1)}px;")
        button.clicked.connect(lambda checked=False, key=key: self.press(key))
        return button

    def _build(self) -> None:
        """The keys of the current page, at the theme's sizes. Keys made on a shown
        panel stay hidden until the next turn of the event loop (Qt shows a new child
        of a visible widget later), and a hidden key takes no room: measured then, the
        panel came out as a 22-pixel strip with its keys below the screen (the 123 page,
        and any page after the elderly or the language switch). So the panel is rebuilt
        hidden and shown again, measured."""
        shown = self.isVisible()
        if shown:
            self.hide()
        self._make_keys()
        if shown:
            self._place()
            self.show()

    def _make_keys(self) -> None:
        th = self.theme
        old = self.layout()
        if old is not None:
            QWidget().setLayout(old)  # hand the old layout and its keys to a throwaway parent
        self.setStyleSheet(f"#keyboard {{ background: #DDE3EA; border-top: 3px solid {th.palette.accent}; }}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(th.mm(6), th.mm(2), th.mm(6), th.mm(3))
        outer.setSpacing(th.mm(2))
        bar = QHBoxLayout()
        bar.setSpacing(th.mm(2))
        self.spelled = label("", "title", wrap=False)
        self.spelled.setObjectName("kb-letters")
        self.spelled.setMinimumWidth(th.mm(30))
        bar.addWidget(self.spelled)
        self.slots = []
        for index in range(PAGE):
            slot = QPushButton("")
            slot.setObjectName(f"kb-candidate-{index}")
            slot.setProperty("role", "secondary")
            slot.setFocusPolicy(Qt.FocusPolicy.NoFocus)

            slot.clicked.connect(lambda checked=False, index=index: self.choose(self.first + index))
            self.slots.append(slot)
            bar.addWidget(slot)
        bar.addStretch(1)
        self.previous = self._button("‹", "prev", role="secondary", width=0.8)
        self.following = self._button("›", "next", role="secondary", width=0.8)
        for arrow in (self.previous, self.following):
            policy = arrow.sizePolicy()
            policy.setRetainSizeWhenHidden(True)  # the bar keeps its height: the keys do not jump
            arrow.setSizePolicy(policy)
            bar.addWidget(arrow)
        outer.addLayout(bar)
        grid = QGridLayout()
        grid.setSpacing(th.mm(2))
        rows = ROWS if self.mode in ("zh", "abc") else NUMBERS
        for r, row in enumerate(rows):
            line = QHBoxLayout()
            line.setSpacing(th.mm(2))
            line.addStretch(1)
            for key in row:
                line.addWidget(self._button(key, key))
            if r == len(rows) - 1:
                line.addWidget(self._button("⌫", "back", width=1.5))
            line.addStretch(1)
            grid.addLayout(line, r, 0)
        outer.addLayout(grid)
        last = QHBoxLayout()
        last.setSpacing(th.mm(2))
        for mode in ("zh", "abc", "123"):
            button = self._button(self.t(f"common.keyboard_{mode}"), f"mode-{mode}", width=1.2)
            button.setCheckable(True)
            button.setChecked(self.mode == mode)
            last.addWidget(button)
        last.addWidget(self._button(self.t("common.keyboard_space"), "space", width=4), 1)
        last.addWidget(self._button(self.t("common.keyboard_done"), "done", role="primary", width=1.5))
        outer.addLayout(last)
        self._show_candidates()

    def _show_candidates(self) -> None:
        if not hasattr(self, "slots"):
            return
        self.spelled.setText(self.letters)
        shown = self.candidates[self.first:self.first + PAGE]
        th = self.theme
        for index, slot in enumerate(self.slots):
            text = shown[index] if index < len(shown) else ""
            slot.setText(text)
            wide = max(th.touch, th.mm(6) + round(len(text) * th.heading * 1.1))
            slot.setStyleSheet(f"font-size: {th.heading}px; min-width: {wide}px; min-height: {th.touch}px;")
            slot.setVisible(bool(text))
        self.previous.setEnabled(self.first > 0)
        self.following.setEnabled(self.first + PAGE < len(self.candidates))
        paging = len(self.candidates) > PAGE  # the arrows only when there is another page
        self.previous.setVisible(paging)
        self.following.setVisible(paging)
        if self.layout() is not None:
            self.layout().activate()  # the candidates' widths now, not at the next turn of the loop

    def restyle(self, theme: Theme) -> None:
        """Elderly mode or the language switched: the keys again, at the new sizes."""
        self.theme = theme
        self._build()
        if self.isVisible():
            self._place()


class KeyboardHook(QObject):
    """Brings the keyboard up when a text box of ``window`` takes the focus or is
    tapped (again, after 完成 put the keyboard away), and puts it away when something
    else takes the focus. The focus through ``QApplication.focusChanged``, the taps
    through :class:`kiosk.window_input.WindowInput` (:meth:`saw`)."""

    def __init__(self, window: QWidget, keyboard: OnScreenKeyboard) -> None:
        super().__init__(window)
        self.window, self.keyboard = window, keyboard
        self._watching = QApplication.instance().focusChanged.connect(self._focus)

    def saw(self, event: QEvent) -> None:
        """An event at the window: a finger lifted from an editable box brings the keyboard."""
        if event.type() != QEvent.Type.MouseButtonRelease:
            return
        under = self.window.childAt(event.position().toPoint())  # window coordinates at the QWindow
        while under is not None and not isinstance(under, QLineEdit):
            under = under.parentWidget()
        if self._editable(under):
            self.keyboard.attach(under)

    def _focus(self, _old: QWidget | None, now: QWidget | None) -> None:
        if self._editable(now):
            self.keyboard.attach(now)
        elif now is not None and now is not self.keyboard and not self.keyboard.isAncestorOf(now) \
                and self.keyboard.target is not None:
            self.keyboard.commit_letters()
            self.keyboard.detach()

    def _editable(self, widget: QWidget | None) -> bool:
        return isinstance(widget, QLineEdit) and not widget.isReadOnly() and self.window.isAncestorOf(widget)

    def stop(self) -> None:
        if self._watching is not None:
            QApplication.instance().focusChanged.disconnect(self._watching)
            self._watching = None
