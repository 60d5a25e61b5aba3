"""A QR/barcode scanner simulator: the scanner's side of the line protocol.

It sends codes as a scanner in USB-CDC mode does (``[prefix] code [suffix]`` and a
CR, LF or CRLF), from a list at start and whenever told on the control channel,
plus the faults a real one shows. Control requests (one JSON object a line)::

    {"cmd": "scan", "code": "..."}            send one code (or "codes": [...])
    {"cmd": "scan", "code": "...", "chunk": 1}  ... split into 1-byte writes
    {"cmd": "garbage"}                       a line of non-UTF-8 and control bytes
    {"cmd": "garbage", "hex": "07 41"}       exactly these bytes (plus the terminator
                                             unless "terminate": false)
    {"cmd": "unterminated", "code": "..."}   a code cut off before its line end
    {"cmd": "overlong", "length": 5000}      a line too long to be a code
    {"cmd": "status"}                        {"sent": N, "queued": N}
    {"cmd": "vanish"}                        (the server's) the port disappears

In-process: ``sim://scanner?codes=A,B&terminator=cr&delay=0.3&interval=0.1``.
As a process (prints the pty path, then the control socket)::

    python -m drivers.scanner.sim [--codes A B ...] [--terminator crlf|cr|lf]
        [--prefix P] [--suffix S] [--delay 0.3] [--interval 0.1] [--link PATH]

Codes from the list start ``delay`` seconds after the server starts: opening a
serial port flushes what arrived before, as a real scanner's output before the
driver opens the port is lost too.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from typing import Any, Callable, Sequence

from drivers.errors import ConfigError
from drivers.scanner.codec import TERMINATORS

GARBAGE = b"\x00\xff\xfe\x1b[2J\x80\x9f"  # what a wrong baud rate or a glitch looks like
CHUNK_GAP = 0.002  # seconds between the pieces of a code sent in chunks


def unescape(text: str) -> bytes:
    r"""``\x02``, ``\r``, ``\n``, ``\t`` in a command-line prefix or suffix → bytes."""
    simple = {"r": "\r", "n": "\n", "t": "\t", "\\": "\\"}
    decoded = re.sub(r"\\(x[0-9a-fA-F]{2}|[rnt\\])",
                     lambda m: chr(int(m[1][1:], 16)) if m[1][0] == "x" else simple[m[1]], text)
    return decoded.encode("utf-8")


class ScannerSim:
    def __init__(self, codes: Sequence[str] = (), *, terminator: str = "crlf", prefix: bytes = b"",
                 suffix: bytes = b"", delay: float = 0.3, interval: float = 0.1,
                 encoding: str = "utf-8") -> None:
        if terminator not in TERMINATORS:
            raise ConfigError(f"terminator {terminator!r} is unknown", hint="use crlf, cr or lf")
        self.terminator = TERMINATORS[terminator]
        self.prefix, self.suffix, self.encoding = prefix, suffix, encoding
        self.delay, self.interval = delay, interval
        self._start_codes = list(codes)
        self._queue: collections.deque[tuple[float, bytes]] = collections.deque()  # (due, bytes)
        self._started = False
        self.sent = 0  # bytes written to the host
        self.received = b""  # what the host wrote (a real scanner ignores it too)
        self._commands: dict[str, Callable[[dict], dict]] = {
            "scan": self._scan, "garbage": self._garbage, "unterminated": self._unterminated,
            "overlong": self._overlong, "status": self._status}

    # -- the wire ------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        self.received = (self.received + data)[-4096:]
        return b""

    def poll(self, now: float) -> bytes:
        if not self._started:
            self._started = True
            for i, code in enumerate(self._start_codes):
                self._queue.append((now + self.delay + i * self.interval, self.line(code)))
        out = b""
        while self._queue and self._queue[0][0] <= now:
            out += self._queue.popleft()[1]
        self.sent += len(out)
        return out

    def line(self, code: str, *, terminate: bool = True) -> bytes:
        body = self.prefix + code.encode(self.encoding) + self.suffix
        return body + (self.terminator if terminate else b"")

    def _send(self, data: bytes, chunk: int = 0) -> None:
        # After anything already queued, so codes come out in the order given.
        due = max(time.monotonic(), self._queue[-1][0] if self._queue else 0.0)
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] if chunk > 0 else [data]
        for i, piece in enumerate(pieces):
            self._queue.append((due + i * CHUNK_GAP, piece))

    # -- control channel ---------------------------------------------------------------
    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        handler = self._commands.get(str(request.get("cmd")))
        if handler is None:
            return {"ok": False, "error": f"unknown cmd {request.get('cmd')!r}; known: {', '.join(self._commands)}, vanish"}
        return handler(request)

    def _scan(self, request: dict) -> dict:
        codes = request.get("codes") or [request.get("code", "")]
        for code in codes:
            self._send(self.line(str(code)), int(request.get("chunk", 0)))
        return {"queued": len(codes)}

    def _garbage(self, request: dict) -> dict:
        data = bytes.fromhex(request["hex"]) if "hex" in request else GARBAGE
        self._send(data + (self.terminator if request.get("terminate", True) else b""))
        return {}

    def _unterminated(self, request: dict) -> dict:
        self._send(self.line(str(request.get("code", "CUT-OFF")), terminate=False))
        return {}

    def _overlong(self, request: dict) -> dict:
        self._send(b"X" * int(request.get("length", 5000)) + self.terminator)
        return {}

    def _status(self, request: dict) -> dict:
        return {"sent": self.sent, "queued": len(self._queue)}


PARAMS = {"codes", "terminator", "prefix", "suffix", "delay", "interval", "encoding"}


def from_params(params: dict[str, str]) -> ScannerSim:
    """Build the simulator from ``sim://scanner?…`` options."""
    unknown = sorted(set(params) - PARAMS)
    if unknown:
        raise ConfigError(f"unknown option {', '.join(unknown)} for sim://scanner",
                          hint=f"known: {', '.join(sorted(PARAMS))}", port="sim://scanner")
    codes = [c for c in params.get("codes", "").split(",") if c]
    try:
        return ScannerSim(codes, terminator=params.get("terminator", "crlf"),
                          prefix=unescape(params.get("prefix", "")), suffix=unescape(params.get("suffix", "")),
                          delay=float(params.get("delay", 0.3)), interval=float(params.get("interval", 0.1)),
                          encoding=params.get("encoding", "utf-8"))
    except ValueError as exc:
        raise ConfigError(f"bad option for sim://scanner: {exc}", port="sim://scanner") from exc


def main(argv: list[str] | None = None) -> int:
    from drivers.simserve import serve_main

    parser = argparse.ArgumentParser(prog="python -m drivers.scanner.sim",
                                     description="QR/barcode scanner simulator on a pty")
    parser.add_argument("--codes", nargs="*", default=[], help="codes to send after --delay, --interval apart")
    parser.add_argument("--terminator", choices=sorted(TERMINATORS), default="crlf")
    parser.add_argument("--prefix", default="", help=r"sent before each code (escapes: \x02 \r \n \t)")
    parser.add_argument("--suffix", default="", help="sent after each code, before the terminator")
    parser.add_argument("--delay", type=float, default=0.3, help="seconds before the first of --codes")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between --codes")
    parser.add_argument("--encoding", default="utf-8")

    def build(args: argparse.Namespace) -> ScannerSim:
        return ScannerSim(args.codes, terminator=args.terminator, prefix=unescape(args.prefix),
                          suffix=unescape(args.suffix), delay=args.delay, interval=args.interval,
                          encoding=args.encoding)

    return serve_main(build, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
