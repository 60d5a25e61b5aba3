"""Errors the kiosk raises, and how any error is told to a resident.

::

    KioskError                    a kiosk problem with a message for the resident
    ├── NotIdentified             a journey needs an identified resident
    └── AdminRefused              a wrong PIN or an unknown staff card

:func:`explain` turns any exception into an :class:`Explanation`: a title, what
happened and what to do next, Chinese and English. Driver errors carry their own
"中文 / English" message and hint; anything unexpected gets the general advice (ask
staff) and its details go to the log only.
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.i18n import catalogue


class KioskError(Exception):
    def __init__(self, zh: str, en: str, *, next_zh: str = "", next_en: str = "") -> None:
        super().__init__(en)
        self.zh, self.en, self.next_zh, self.next_en = zh, en, next_zh, next_en


class NotIdentified(KioskError):
    pass


class AdminRefused(KioskError):
    pass


@dataclass(frozen=True)
class Explanation:
    title: tuple[str, str]  # (zh, en)
    what: tuple[str, str]
    next: tuple[str, str]
    log: str

    def text(self, part: str, lang: str) -> str:
        zh, en = getattr(self, part)
        return zh if lang == "zh" else en


def _split(text: str) -> tuple[str, str]:
    """``"打印机缺纸 / The printer is out of paper"`` → both halves."""
    if " / " in text:
        zh, en = text.split(" / ", 1)
        return zh.strip(), en.strip()
    return text, text


def explain(exc: BaseException) -> Explanation:
    c = catalogue()
    title = c.both("common.error_title")
    default_next = c.both("common.error_next")
    if isinstance(exc, KioskError):
        return Explanation(title, (exc.zh, exc.en), (exc.next_zh or default_next[0], exc.next_en or default_next[1]),
                           f"{type(exc).__name__}: {exc.en}")
    message = getattr(exc, "message", None)
    hint = getattr(exc, "hint", None)
    if isinstance(message, str) and any("\u4e00" <= ch <= "\u9fff" for ch in message):
        what = _split(message)
        # hints are for maintainers; the resident is told to ask staff
        return Explanation(title, what, default_next, f"{type(exc).__name__}: {message} ({hint or ''})")
    return Explanation(title, c.both("common.error_what"), default_next, f"{type(exc).__name__}: {exc}")
