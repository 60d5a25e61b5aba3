"""Idle: no touch for ``idle_s`` → a visible countdown of ``countdown_s`` → the
session ends and the kiosk goes home. Any touch, click or key resets it; the
countdown's 继续使用 button too. It watches only while there is something to lose
(a session, or a screen other than home)."""
from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer

from kiosk.session import Timeouts

_TOUCHES = {QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress, QEvent.Type.Wheel}


class IdleWatch(QObject):
    def __init__(self, *, timeouts: Callable[[], Timeouts], armed: Callable[[], bool],
                 on_countdown: Callable[[int], None], on_cancel: Callable[[], None],
                 on_timeout: Callable[[], None], tick_ms: int = 250) -> None:
        super().__init__()
        self.timeouts, self.armed = timeouts, armed
        self.on_countdown, self.on_cancel, self.on_timeout = on_countdown, on_cancel, on_timeout
        self.last_touch = time.monotonic()
        self.counting = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)
        self._timer.start(tick_ms)

    def saw(self, event: QEvent) -> None:
        """An event at the window (:class:`kiosk.window_input.WindowInput`)."""
        if event.type() in _TOUCHES:
            self.touch()

    def touch(self) -> None:
        self.last_touch = time.monotonic()
        if self.counting:
            self.counting = False
            self.on_cancel()

    def tick(self) -> None:
        if not self.armed():
            self.last_touch = time.monotonic()
            if self.counting:
                self.counting = False
                self.on_cancel()
            return
        limits = self.timeouts()
        idle = time.monotonic() - self.last_touch
        if idle < limits.idle_s:
            return
        left = limits.idle_s + limits.countdown_s - idle
        if left <= 0:
            self.counting = False
            self.last_touch = time.monotonic()
            self.on_timeout()
            return
        self.counting = True
        self.on_countdown(int(left + 0.999))

    def stop(self) -> None:
        self._timer.stop()
