"""What a person does to the kiosk's window (touches, clicks, keys, the wheel), seen
where Qt delivers it: at the window (its ``QWindow``), before Qt hands it to the
widget under the finger or with the focus.

The idle watch and the on-screen keyboard's hook listen here. They used to be
application-wide event filters, which also see every event Qt sends between widgets
(child added, polish, layout, move, resize, show, paint: about 2,000 for one screen
refresh), each one a call into Python that returns at once: a refresh of My progress
took 37–41 ms of the UI thread with the two filters and 19–21 ms without them,
measured back to back. At the window they are the handful a finger makes.

A window's ``QWindow`` exists once it is shown and is made again when its flags
change (admin mode leaving fullscreen): the watch follows it through the widget's own
``Show`` and ``WinIdChange`` events.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

Listener = Callable[[QEvent], None]
_FOLLOW = {QEvent.Type.Show, QEvent.Type.WinIdChange}


class WindowInput(QObject):
    """Calls each of ``listeners`` with every event that reaches ``window``'s
    ``QWindow``; never consumes one."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.listeners: list[Listener] = []
        self._handle = None
        window.installEventFilter(self)  # the widget's own events only: Show, WinIdChange
        self._follow()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.window:
            if event.type() in _FOLLOW:
                self._follow()
            return False
        for listener in self.listeners:
            listener(event)
        return False

    def _follow(self) -> None:
        handle = self.window.windowHandle()
        if handle is self._handle:
            return
        self._release()
        self._handle = handle
        if handle is not None:
            handle.installEventFilter(self)

    def _release(self) -> None:
        if self._handle is not None:
            try:
                self._handle.removeEventFilter(self)
            except RuntimeError:  # that QWindow is gone already (the window was made again)
                pass
            self._handle = None

    def stop(self) -> None:
        self.listeners.clear()
        self.window.removeEventFilter(self)
        self._release()
