"""What the scanner tests share: reading codes off a scanner until enough came."""
from __future__ import annotations

import time

from drivers.scanner.errors import ScannerUnavailable


def read_all(scanner, n: int, timeout: float = 5.0) -> list[str]:
    """The texts of up to ``n`` codes, as many as came within ``timeout`` seconds."""
    got, deadline = [], time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        code = scanner.read_code(0.2)
        if code is not None:
            got.append(code.text)
    return got


def reconnected(scanner, timeout: float = 5.0) -> None:
    """Read until the scanner has its port open again (a code sent before that is lost)."""
    deadline = time.monotonic() + timeout
    while not scanner.is_open and time.monotonic() < deadline:
        try:
            scanner.read_code(0.05)
        except ScannerUnavailable:
            pass
    assert scanner.is_open, "the scanner did not reconnect"
