"""A keyboard-wedge scanner simulator: real ``struct input_event`` records on a pty.

It types codes as a US-layout HID scanner does (MSC_SCAN, key press, SYN_REPORT, key
release, SYN_REPORT; Shift held around shifted characters; Enter at the end), into a
pseudo-terminal whose path :class:`~drivers.scanner.wedge.WedgeScanner` opens as
``evdev://PATH``: the driver reads the same bytes it reads from ``/dev/input/event*``.
Control requests (one JSON object a line)::

    {"cmd": "scan", "code": "..."}          type one code (or "codes": [...])
    {"cmd": "scan", "code": "...", "gap": 0.01}   ... a key every 10 ms
    {"cmd": "unterminated", "code": "..."}  a code without its Enter
    {"cmd": "unmapped", "code": "..."}      a code with an F5 in the middle
    {"cmd": "dropped", "code": "..."}       a code during which the kernel dropped events
    {"cmd": "status"}                       {"sent": N, "queued": N}
    {"cmd": "vanish"}                       (the server's) the device is unplugged

As a process (prints the pty path, then the control socket)::

    python -m drivers.scanner.wedge_sim [--codes A B ...] [--delay 0.3] [--interval 0.1] [--link PATH]
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from typing import Any, Callable, Sequence

from drivers.scanner.errors import ScannerConfigError
from drivers.scanner.wedge_codec import (EV_KEY, EV_SYN, EVENT, PRESSED, RELEASED, SYN_DROPPED, SYN_REPORT,
                                         keystrokes)

KEY_F5 = 63


class WedgeSim:
    def __init__(self, codes: Sequence[str] = (), *, delay: float = 0.3, interval: float = 0.1) -> None:
        for code in codes:
            keystrokes(code)  # a code no key types is refused here, not mid-run
        self.delay, self.interval = delay, interval
        self._start_codes = list(codes)
        self._queue: collections.deque[tuple[float, bytes]] = collections.deque()  # (due, bytes)
        self._started = False
        self.sent = 0
        self._commands: dict[str, Callable[[dict], dict]] = {
            "scan": self._scan, "unterminated": self._unterminated, "unmapped": self._unmapped,
            "dropped": self._dropped, "status": self._status}

    # -- the wire --------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        return b""  # nothing is written to an input device's event node

    def poll(self, now: float) -> bytes:
        if not self._started:
            self._started = True
            for i, code in enumerate(self._start_codes):
                self._queue.append((now + self.delay + i * self.interval, keystrokes(code)))
        out = b""
        while self._queue and self._queue[0][0] <= now:
            out += self._queue.popleft()[1]
        self.sent += len(out)
        return out

    def _send(self, pieces: list[bytes], gap: float = 0.0) -> None:
        due = max(time.monotonic(), self._queue[-1][0] if self._queue else 0.0)
        for i, piece in enumerate(pieces):
            self._queue.append((due + i * gap, piece))

    # -- control channel -------------------------------------------------------------------
    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        handler = self._commands.get(str(request.get("cmd")))
        if handler is None:
            return {"ok": False, "error": f"unknown cmd {request.get('cmd')!r}; known: {', '.join(self._commands)}, vanish"}
        try:
            return handler(request)
        except ScannerConfigError as exc:
            return {"ok": False, "error": exc.message}

    def _scan(self, request: dict) -> dict:
        codes = [str(c) for c in request.get("codes") or [request.get("code", "")]]
        gap = float(request.get("gap", 0))
        for code in codes:
            if gap > 0:  # one key at a time: the driver sees the code arrive over several reads
                self._send([keystrokes(ch, enter=False) for ch in code] + [keystrokes("")], gap)
            else:
                self._send([keystrokes(code)])
        return {"queued": len(codes)}

    def _unterminated(self, request: dict) -> dict:
        self._send([keystrokes(str(request.get("code", "CUT-OFF")), enter=False)])
        return {}

    def _unmapped(self, request: dict) -> dict:
        code = str(request.get("code", "F5-IN-IT"))
        half = len(code) // 2
        f5 = b"".join(EVENT.pack(0, 0, kind, key, value) for kind, key, value in
                      ((EV_KEY, KEY_F5, PRESSED), (EV_SYN, SYN_REPORT, 0), (EV_KEY, KEY_F5, RELEASED),
                       (EV_SYN, SYN_REPORT, 0)))
        self._send([keystrokes(code[:half], enter=False) + f5 + keystrokes(code[half:])])
        return {}

    def _dropped(self, request: dict) -> dict:
        code = str(request.get("code", "LOST-KEYS"))
        half = len(code) // 2
        self._send([keystrokes(code[:half], enter=False) + EVENT.pack(0, 0, EV_SYN, SYN_DROPPED, 0)
                    + keystrokes(code[half:])])
        return {}

    def _status(self, request: dict) -> dict:
        return {"sent": self.sent, "queued": len(self._queue)}


def main(argv: list[str] | None = None) -> int:
    from drivers.simserve import serve_main

    parser = argparse.ArgumentParser(prog="python -m drivers.scanner.wedge_sim",
                                     description="keyboard-wedge scanner simulator: input events on a pty")
    parser.add_argument("--codes", nargs="*", default=[], help="codes to type after --delay, --interval apart")
    parser.add_argument("--delay", type=float, default=0.3, help="seconds before the first of --codes")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between --codes")

    def build(args: argparse.Namespace) -> WedgeSim:
        try:
            return WedgeSim(args.codes, delay=args.delay, interval=args.interval)
        except ScannerConfigError as exc:
            parser.error(exc.message)

    return serve_main(build, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
