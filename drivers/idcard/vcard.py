"""A virtual contactless card that plugs into vsmartcard's vpcd reader over TCP.

This module owns vpcd's wire protocol (pure functions: :func:`encode_frame`,
:func:`scan`, :func:`parse_message`), the card's behaviour (:class:`VirtualCard`:
GET UID, SELECT by AID, READ BINARY), and the connection that "inserts" it into a
reader (:class:`InsertedCard`). Tests and demo mode use it in-process or as
``python -m drivers.idcard.vcard --uid 04A1B2C3 [--port 35963]``.

vpcd's protocol (the card connects to the reader's TCP port; default 35963)::

    message  = LEN(2, big-endian) PAYLOAD(LEN)
    PAYLOAD of 1 byte   = control from the reader: 00 power off, 01 power on,
                          02 reset, 04 "send your ATR" (answered with the ATR)
    PAYLOAD of 2+ bytes = a command APDU, answered with the response APDU

Closing the socket removes the card. pcscd polls presence by asking for the ATR
about every 0.4 s, so a card must answer control 04 at any time.
"""
from __future__ import annotations

import argparse
import enum
import logging
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from drivers.framing import Deframer, Scan
from drivers.idcard.pcsc_errors import ReaderNotFound, VpcdError

log = logging.getLogger("drivers.idcard.vcard")

DEFAULT_PORT = 35963
MAX_PAYLOAD = 0xFFFF
# PC/SC Part 3's ATR for a contactless storage card (MIFARE Classic 1K): what a
# CCID contactless reader reports for a typical staff card or NFC tag.
DEFAULT_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
# A small demo application: AID F0 "KIOSK" 01 holding a UTF-8 text file.
DEMO_AID = bytes.fromhex("F04B494F534B01")
DEMO_CONTENT = "社区事务一体机 demo card".encode()

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_NO_CURRENT_EF = b"\x69\x86"
SW_FILE_NOT_FOUND = b"\x6A\x82"
SW_WRONG_P1P2 = b"\x6A\x86"
SW_OFFSET_OUTSIDE = b"\x6B\x00"
SW_INS_NOT_SUPPORTED = b"\x6D\x00"


class Control(enum.IntEnum):
    """A 1-byte payload from the reader."""

    POWER_OFF = 0
    POWER_ON = 1
    RESET = 2
    GET_ATR = 4


# -- wire framing (pure) ----------------------------------------------------------

def encode_frame(payload: bytes) -> bytes:
    """``payload`` with its 2-byte big-endian length in front."""
    if not 0 < len(payload) <= MAX_PAYLOAD:
        raise VpcdError(f"vpcd payload of {len(payload)} bytes cannot be framed",
                        hint=f"a payload has 1 to {MAX_PAYLOAD} bytes")
    return len(payload).to_bytes(2, "big") + payload


def scan(buf: bytes) -> Scan:
    """The framer (see :mod:`drivers.framing`): a zero length is garbage to drop."""
    if len(buf) < 2:
        return Scan.need()
    length = int.from_bytes(buf[:2], "big")
    if length == 0:
        return Scan.drop(2)
    return Scan.frame(2 + length) if len(buf) >= 2 + length else Scan.need()


def parse_message(frame: bytes) -> Control | bytes:
    """One framed message (length included) → a :class:`Control` or an APDU's bytes."""
    if len(frame) < 3 or int.from_bytes(frame[:2], "big") != len(frame) - 2:
        raise VpcdError(f"not one vpcd message: {frame[:16].hex(' ')}",
                        hint="the length prefix must match the payload; check the framer")
    payload = frame[2:]
    if len(payload) > 1:
        return payload
    try:
        return Control(payload[0])
    except ValueError:
        raise VpcdError(f"unknown vpcd control code {payload[0]:#04x}",
                        hint="vpcd sends 00 off, 01 on, 02 reset, 04 ATR; "
                             "is something else connected to the port?") from None


def deframer() -> Deframer:
    """A :class:`Deframer` sized for vpcd's largest message."""
    return Deframer(scan, max_buffer=2 + MAX_PAYLOAD)


# -- command APDUs (pure) ------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    """A parsed ISO 7816-4 command APDU. ``le`` is None when absent, else 1..65536."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None


def parse_command(apdu: bytes) -> Command | None:
    """Parse a short or extended command APDU; ``None`` when malformed."""
    if len(apdu) < 4:
        return None
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if not body:
        return Command(cla, ins, p1, p2)
    if len(body) == 1:
        return Command(cla, ins, p1, p2, le=body[0] or 256)
    if body[0]:  # short Lc
        lc = body[0]
        if len(body) == 1 + lc:
            return Command(cla, ins, p1, p2, body[1:])
        if len(body) == 2 + lc:
            return Command(cla, ins, p1, p2, body[1:-1], body[-1] or 256)
        return None
    if len(body) == 3:  # extended Le only
        return Command(cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or 65536)
    if len(body) < 4:
        return None
    lc = int.from_bytes(body[1:3], "big")
    if lc and len(body) == 3 + lc:
        return Command(cla, ins, p1, p2, body[3:])
    if lc and len(body) == 5 + lc:
        return Command(cla, ins, p1, p2, body[3:-2], int.from_bytes(body[-2:], "big") or 65536)
    return None


# -- the card ---------------------------------------------------------------------

@dataclass
class VirtualCard:
    """The card's side: answers vpcd controls and command APDUs. Never raises."""

    uid: bytes
    atr: bytes = DEFAULT_ATR
    files: dict[bytes, bytes] = field(default_factory=lambda: {DEMO_AID: DEMO_CONTENT})
    powered: bool = False
    selected: bytes | None = None
    history: deque[tuple[bytes, bytes]] = field(default_factory=lambda: deque(maxlen=100))

    def handle(self, message: Control | bytes) -> bytes | None:
        """The reply payload to one parsed message, or None when none is due."""
        if isinstance(message, Control):
            if message is Control.GET_ATR:
                return self.atr
            self.powered = message is Control.POWER_ON or (message is Control.RESET)
            if message is not Control.POWER_ON:
                self.selected = None  # off and reset forget the selected application
            return None
        response = self.respond(message)
        self.history.append((bytes(message), response))
        return response

    def respond(self, apdu: bytes) -> bytes:
        """The response APDU (data + SW1 SW2) to a command APDU."""
        command = parse_command(apdu)
        if command is None:
            return SW_WRONG_LENGTH
        cla = 0xFF if command.cla == 0xFF else command.cla & 0xF0  # drop channel/SM bits
        method = _COMMANDS.get((cla, command.ins))
        return method(self, command) if method else SW_INS_NOT_SUPPORTED

    def _get_uid(self, command: Command) -> bytes:
        if (command.p1, command.p2) != (0, 0):
            return SW_WRONG_P1P2
        if command.le is not None and command.le != 256 and command.le < len(self.uid):
            return bytes([0x6C, len(self.uid)])  # wrong Le: the exact length to use
        return self.uid + SW_OK

    def _select(self, command: Command) -> bytes:
        if command.p1 != 0x04:  # only "select by DF name" (AID)
            return SW_WRONG_P1P2
        if command.data not in self.files:
            return SW_FILE_NOT_FOUND
        self.selected = command.data
        return SW_OK

    def _read_binary(self, command: Command) -> bytes:
        if self.selected is None:
            return SW_NO_CURRENT_EF
        if command.p1 & 0x80:  # short EF identifier: not implemented on this card
            return SW_WRONG_P1P2
        content = self.files[self.selected]
        offset = (command.p1 << 8) | command.p2
        if offset > len(content):
            return SW_OFFSET_OUTSIDE
        return content[offset:offset + (command.le or 256)] + SW_OK


_COMMANDS: dict[tuple[int, int], Callable[[VirtualCard, Command], bytes]] = {
    (0xFF, 0xCA): VirtualCard._get_uid,  # PC/SC Part 3 GET DATA: UID
    (0x00, 0xA4): VirtualCard._select,
    (0x00, 0xB0): VirtualCard._read_binary,
}


# -- the connection: a card sitting in a vpcd reader -----------------------------

class InsertedCard:
    """A :class:`VirtualCard` connected to vpcd: :meth:`insert`, then :meth:`remove`.

    The connection runs in a daemon thread. ``closed`` is set when it ends, and
    ``reader_closed`` tells whether the reader side ended it (pcscd stopped).
    """

    def __init__(self, card: VirtualCard, *, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.closed = threading.Event()
        self.reader_closed = False
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._removing = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def insert(self, timeout: float = 5.0) -> "InsertedCard":
        """Connect to vpcd, retrying until ``timeout`` (pcscd may still be starting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise ReaderNotFound(
                        f"虚拟读卡器未就绪 (no vpcd reader listens on {self.address}: {exc})",
                        hint="start pcscd with vsmartcard-vpcd (python -m drivers.idcard.pcscd) "
                             "and use its port", port=self.address) from exc
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.closed.clear()
        self.reader_closed = False
        self._removing = False
        self._thread = threading.Thread(target=self._serve, name=f"vcard:{self.address}",
                                        daemon=True)
        self._thread.start()
        log.info("card %s inserted into %s", self.card.uid.hex(), self.address)
        return self

    def remove(self) -> None:
        """Take the card away: close the connection and wait for the thread."""
        self._removing = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already disconnected
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.closed.set()

    def __enter__(self) -> "InsertedCard":
        return self if self._sock is not None else self.insert()  # `with x.insert():` too

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        frames = deframer()
        try:
            while True:
                try:
                    data = sock.recv(4096)
                    # vpcd writes the length and the payload separately; with Nagle on its
                    # side and delayed ACKs on ours each message would wait ~40 ms.
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                except OSError:
                    data = b""
                if not data:
                    self.reader_closed = not self._removing
                    return
                for frame in frames.feed(data):
                    try:
                        message = parse_message(frame)
                    except VpcdError as exc:
                        log.warning("%s: %s", self.address, exc)
                        continue
                    reply = self.card.handle(message)
                    log.debug("%s > %s < %s", self.address,
                              message.name if isinstance(message, Control) else message.hex(" "),
                              reply.hex(" ") if reply is not None else "-")
                    if reply is not None:
                        sock.sendall(encode_frame(reply))
        except OSError as exc:
            self.reader_closed = not self._removing
            log.info("%s: connection ended: %s", self.address, exc)
        finally:
            self.closed.set()


# -- CLI ------------------------------------------------------------------------------

def _hex(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.replace(":", " "))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None
    if not value:
        raise argparse.ArgumentTypeError("empty")
    return value


def _file(text: str) -> tuple[bytes, bytes]:
    aid, sep, content = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"write AID=CONTENT in hex, not {text!r}")
    return _hex(aid), bytes.fromhex(content) if content else b""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.idcard.vcard",
        description="Insert a virtual card into a vpcd reader until SIGTERM/Ctrl-C. "
                    "Exit 0 when stopped, 1 when no reader listens, 3 when the reader went away.")
    parser.add_argument("--uid", type=_hex, required=True, help="the card's UID in hex, e.g. 04A1B2C3")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="vpcd's TCP port (default 35963)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--atr", type=_hex, default=DEFAULT_ATR, help="ATR in hex")
    parser.add_argument("--file", type=_file, action="append", default=[], metavar="AID=HEX",
                        help="an application the card can SELECT and READ BINARY (repeatable); "
                             "default: the demo file")
    parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the reader")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every APDU")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(message)s", stream=sys.stderr)
    card = VirtualCard(uid=args.uid, atr=args.atr,
                       files=dict(args.file) if args.file else {DEMO_AID: DEMO_CONTENT})
    inserted = InsertedCard(card, host=args.host, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        inserted.insert(timeout=args.wait)
    except ReaderNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"inserted uid={card.uid.hex().upper()} atr={card.atr.hex().upper()} "
          f"reader={inserted.address}", flush=True)
    while not stop.is_set() and not inserted.closed.is_set():
        stop.wait(0.1)
    gone = inserted.reader_closed
    inserted.remove()
    if gone:
        print(f"error: 读卡器已断开 (vpcd at {inserted.address} closed the connection)",
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
