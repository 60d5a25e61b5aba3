"""The last log lines in memory, for admin mode's "recent logs" (ID numbers are
masked by :class:`appliance.privacy.MaskingFilter` before they get here)."""
from __future__ import annotations

import logging
from collections import deque

from appliance.privacy import mask_text


class RecentLogs(logging.Handler):
    def __init__(self, size: int = 300) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=size)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(mask_text(self.format(record)))
        except Exception:  # a log line must never break the app
            self.handleError(record)

    def last(self, n: int = 40) -> list[str]:
        return list(self.lines)[-n:]


_installed: RecentLogs | None = None


def recent_logs() -> RecentLogs:
    """The process's handler, attached to the root logger on first use."""
    global _installed
    root = logging.getLogger()
    if _installed is None:
        _installed = RecentLogs()
    # (again, after a setup_logging replaced the root's handlers or raised its level)
    if _installed not in root.handlers:
        root.addHandler(_installed)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return _installed
