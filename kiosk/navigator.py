"""The stack of screens and which one shows: ``go(name, **params)``.

The navigator owns the screen instances (one each, built at start-up) and calls
their :meth:`~kiosk.screens.base.Screen.leave` and ``enter``. It knows nothing of
sessions or identity: :meth:`kiosk.app.KioskApp.go` decides that (a screen that
needs an identified resident sends them through ``identify`` first).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtWidgets import QStackedWidget

from kiosk.screens.base import Screen

log = logging.getLogger("kiosk.navigator")


class Navigator(QStackedWidget):
    def __init__(self) -> None:
        super().__init__()
        self.screens: dict[str, Screen] = {}
        self.current: Screen | None = None
        self.history: list[str] = []
        self.listeners: list[Callable[[str], None]] = []

    def add(self, screen: Screen) -> None:
        self.screens[screen.name] = screen
        self.addWidget(screen)

    def go(self, name: str, **params: Any) -> Screen:
        if name not in self.screens:
            raise KeyError(f"no screen {name!r}; registered: {', '.join(sorted(self.screens))}")
        target = self.screens[name]
        if self.current is not None and self.current is not target:
            self.current.leave()
            self.history.append(self.current.name)
            del self.history[:-10]
        self.current = target
        log.debug("screen %s %s", name, sorted(params))
        target.enter(**params)
        self.setCurrentWidget(target)
        for listener in list(self.listeners):
            listener(name)
        return target

    def clear_all(self) -> None:
        self.history.clear()
        for screen in self.screens.values():
            screen.clear()
            screen.discard()
