"""A bus of simulated lock boards: N boards × M doors speaking one frame family.

Owns the boards' side of the wire: requests are framed and decoded with the same
codec the driver uses, and answered as a real board would (an unlock opens the
door and replies its status; a door closes when told through the control channel
or ``auto_close`` seconds after it opened). Fault modes, set at start
(``--fault``) or at run time (control ``{"cmd": "fault", ...}``):

==============  ================================================================
no_reply        replies are lost; the boards still act on commands
bad_checksum    replies go out with a wrong checksum
garbage         line noise before and after every reply
jammed          an unlock is answered, but the door stays shut
late            a slow latch: the unlock is answered with the door shut (one standing
                open was just pushed shut), and it pops open DELAY seconds later
forced          the door is forced open (nobody sent an unlock); stays open
unwired         the door has no switch (nor item sensor): it reads closed and empty,
                whatever it does
offline         the board neither acts nor answers
silent_unlock   the board unlocks but does not answer the unlock (some kerong boards)
wrong_address   replies carry the next board's address (a crossed DIP switch)
==============  ================================================================

A fault may name a board and door, a delay and a count: ``jammed:1/3``,
``no_reply=1`` (the next reply only), ``offline:2``, ``late:0/3@2.5`` (pops open
2.5 s after the unlock; default 1 s). Run it as its own process::

    python -m drivers.lockboard.sim --protocol kerong --boards 2 --doors 16 --fault jammed:0/3

or in-process through ``sim://lockboard?protocol=bcc&boards=3&doors=24&fault=offline:2``.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Iterable

from drivers.framing import Deframer
from drivers.lockboard.codec import (BCC_QUERY, BCC_UNLOCK, AddressReply, DoorReply, Request, SwitchReply,
                                     family as family_named)
from drivers.lockboard.errors import LockboardConfigError, LockboardFrameError
from drivers.lockboard.status import item_bits, status_byte, switch_bits

log = logging.getLogger("drivers.lockboard.sim")

FAULTS = {
    "no_reply": "replies are lost; the boards still act on commands",
    "bad_checksum": "replies go out with a wrong checksum",
    "garbage": "line noise before and after every reply",
    "jammed": "an unlock is answered, but the door stays shut",
    "late": "the unlock is answered with the door shut; it pops open DELAY seconds later",
    "unwired": "the door has no switch nor item sensor: it reads closed and empty",
    "forced": "the door is forced open without an unlock",
    "offline": "the board neither acts nor answers",
    "silent_unlock": "the board unlocks but does not answer the unlock",
    "wrong_address": "replies carry the next board's address (a crossed DIP switch)",
}
# Noise holding a header byte, so the driver's framer must resync; chosen so that it
# cannot complete a valid frame with what follows.
NOISE = {"kerong": bytes([0xFF, 0x02, 0x13, 0x99, 0x00, 0x55]),
         "bcc": bytes([0xFF, 0x8A, 0x00, 0x80, 0x55, 0xAA, 0x07])}


@dataclass
class Fault:
    name: str
    board: int | None = None  # None: every board
    door: int | None = None  # None: every door
    count: int | None = None  # how many more times it applies; None: until cleared
    delay: float | None = None  # late: seconds from the unlock until the door pops open

    def matches(self, board: int, door: int | None = None) -> bool:
        return ((self.board is None or self.board == board)
                and (self.door is None or door is None or self.door == door))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "board": self.board, "door": self.door, "count": self.count,
                "delay": self.delay}


def parse_fault(spec: str) -> Fault:
    """``NAME[:BOARD[/DOOR]][@SECONDS][=COUNT]``, e.g. ``jammed:1/3``, ``no-reply=1``,
    ``offline:2``, ``late:0/3@2.5``."""
    text = spec.strip()
    count = delay = None
    if "=" in text:
        text, _, raw = text.partition("=")
        count = _int(raw, f"fault {spec!r} count")
    if "@" in text:
        text, _, raw = text.partition("@")
        delay = _seconds(raw, f"fault {spec!r} delay")
    name, _, target = text.partition(":")
    name = name.strip().replace("-", "_")
    if name not in FAULTS:
        raise LockboardConfigError(f"unknown simulator fault {name!r} in {spec!r}",
                                   hint=f"known: {', '.join(FAULTS)}; NAME[:BOARD[/DOOR]][@SECONDS][=COUNT]")
    board = door = None
    if target:
        b, _, d = target.partition("/")
        board = _int(b, f"fault {spec!r} board")
        door = _int(d, f"fault {spec!r} door") if d else None
    return Fault(name, board, door, count, delay)


def _seconds(raw: Any, what: str) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise LockboardConfigError(f"{what}: {raw!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise LockboardConfigError(f"{what}: {value} s is not between 0 and 3600")
    return value


def _int(raw: Any, what: str) -> int:
    try:
        return int(str(raw).strip(), 0)
    except ValueError:
        raise LockboardConfigError(f"{what}: {raw!r} is not a number") from None


@dataclass
class SimBoard:
    address: int
    doors: int
    opened: list[bool] = field(default_factory=list)
    items: list[bool] = field(default_factory=list)
    closes_at: list[float | None] = field(default_factory=list)  # auto-close deadlines (monotonic)
    opens_at: list[float | None] = field(default_factory=list)  # a late latch pops open then (monotonic)

    def __post_init__(self) -> None:
        self.opened = [False] * self.doors
        self.items = [False] * self.doors
        self.closes_at = [None] * self.doors
        self.opens_at = [None] * self.doors


class LockboardSim:
    """The boards of one bus. ``receive`` takes host bytes and returns reply bytes."""

    def __init__(self, protocol: str = "kerong", boards: int = 2, doors: int = 16, *,
                 addresses: Iterable[int] | None = None, auto_close: float | None = None,
                 faults: Iterable[Fault | str] = (), status_bytes: int = 4, inverted: bool = False,
                 items: bool = False, reply_header: int = BCC_QUERY, reply_delay: float = 0.0) -> None:
        self.family = family_named(protocol)
        first = self.family.boards[0]
        chosen = list(addresses) if addresses is not None else list(range(first, first + boards))
        if not chosen:
            raise LockboardConfigError("a simulated bus needs at least one board")
        for address in chosen:
            self.family.check_board(address)
        self.family.check_door(doors)
        if self.family.name == "bcc" and doors > 8 * status_bytes:
            raise LockboardConfigError(f"{doors} doors do not fit {status_bytes} status bytes",
                                       hint="use --status-bytes 6 for up to 48 doors")
        if reply_header not in (BCC_QUERY, BCC_UNLOCK):
            raise LockboardConfigError(f"reply header {reply_header:#04x}: bcc boards answer with 80 or 8a")
        self.boards = {a: SimBoard(a, doors) for a in sorted(set(chosen))}
        self.auto_close = auto_close if auto_close and auto_close > 0 else None
        self.status_bytes = status_bytes
        self.inverted = inverted
        self.has_items = items
        self.reply_header = reply_header
        self.reply_delay = reply_delay
        self.faults: list[Fault] = []
        self._deframer = Deframer(self.family.scan_request)
        self._outbox: deque[tuple[float, bytes]] = deque()
        self.received: Counter[str] = Counter()  # valid requests by command name
        self.invalid = 0  # frames that framed but did not decode
        self.history: deque[str] = deque(maxlen=200)  # recent request frames, hex
        for fault in faults:
            self.add_fault(parse_fault(fault) if isinstance(fault, str) else fault)

    # -- the wire --------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        now = time.monotonic()
        self._auto_close(now)
        out = bytearray()
        for frame in self._deframer.feed(data):
            self.history.append(frame.hex(" "))
            try:
                request = self.family.decode_request(frame)
            except LockboardFrameError as exc:
                self.invalid += 1
                log.debug("ignored %s", exc)
                continue
            self.received[request.command] += 1
            reply = self._answer(request, now)
            log.debug("RX %s (%s board %s door %s) TX %s", frame.hex(" "), request.command, request.board,
                      request.door, reply.hex(" ") or "nothing")
            out += reply
        if out and self.reply_delay > 0:
            self._outbox.append((now + self.reply_delay, bytes(out)))
            return b""
        return bytes(out)

    def poll(self, now: float) -> bytes:
        self._auto_close(now)
        out = b""
        while self._outbox and self._outbox[0][0] <= now:
            out += self._outbox.popleft()[1]
        return out

    def _answer(self, request: Request, now: float) -> bytes:
        name = request.command
        if name == "status_all":
            return b"".join(self._reply(b, self._switches(b)) for b in self.boards.values() if self._online(b))
        if name == "find_address":
            online = [b for b in self.boards.values() if self._online(b)]
            frames = [self.family.encode_reply(AddressReply(b.address)) for b in online]
            if len(frames) > 1:  # several boards talk at once: a collision, nothing valid
                return b"".join(f[:-1] + bytes([f[-1] ^ 0x5A]) for f in frames)
            return self._reply(online[0], frames[0]) if online else b""
        board = self.boards.get(request.board)  # type: ignore[arg-type]
        if board is None or not self._online(board):
            return b""
        door = request.door
        if name in ("unlock", "unlock_all"):
            for n in ([door] if name == "unlock" else range(1, board.doors + 1)):
                if n is None or n > board.doors or self._fault("jammed", board.address, n, use=False):
                    continue
                late = self._fault("late", board.address, n)
                if late is not None:  # shut when the reply goes out; pops open later
                    board.opened[n - 1] = False
                    board.closes_at[n - 1] = None
                    board.opens_at[n - 1] = now + (1.0 if late.delay is None else late.delay)
                    continue
                board.opened[n - 1] = True
                board.closes_at[n - 1] = now + self.auto_close if self.auto_close else None
            if name == "unlock" and self._fault("silent_unlock", board.address, door):
                return b""
        if self.family.name == "kerong":
            lock = (door - 1) if door else 0
            return self._reply(board, self._switches(board, lock))
        if name == "status_board":
            width = 8 * self.status_bytes
            bits = switch_bits(self.family, self._seen_open(board), width, inverted=self.inverted)
            return self._reply(board, self.family.encode_reply(SwitchReply(board.address, bits, width)))
        assert door is not None
        is_open = door <= board.doors and self._seen_open(board)[door - 1]
        header = self.reply_header if name == "unlock" else BCC_QUERY
        return self._reply(board, self.family.encode_reply(
            DoorReply(board.address, door, status_byte(is_open, inverted=self.inverted), header)))

    def _seen_open(self, board: SimBoard) -> list[bool]:
        """What the door switches report: an unwired door reads closed."""
        return [o and not self._fault("unwired", board.address, n, use=False)
                for n, o in enumerate(board.opened, 1)]

    def _switches(self, board: SimBoard, lock: int = 0) -> bytes:
        bits = switch_bits(self.family, self._seen_open(board), 16, inverted=self.inverted)
        items = item_bits([i and not self._fault("unwired", board.address, n, use=False)
                           for n, i in enumerate(board.items, 1)]) if self.has_items else 0
        return self.family.encode_reply(SwitchReply(board.address, bits, 16, items, lock))

    def _reply(self, board: SimBoard, frame: bytes) -> bytes:
        """A reply as the line delivers it, after this board's faults."""
        if self._fault("no_reply", board.address):
            return b""
        if self._fault("wrong_address", board.address):
            frame = self._readdress(frame)
        if self._fault("bad_checksum", board.address):
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        if self._fault("garbage", board.address):
            noise = NOISE[self.family.name]
            frame = noise + frame + noise
        return frame

    def _readdress(self, frame: bytes) -> bytes:
        wrong = bytearray(frame)
        if self.family.name == "kerong":
            wrong[1] = (wrong[1] + 0x10) & 0xFF
        else:
            wrong[1] = wrong[1] % self.family.boards[-1] + 1
        wrong[-1] = self.family.checksum(wrong[:-1])
        return bytes(wrong)

    def _online(self, board: SimBoard) -> bool:
        return self._fault("offline", board.address, use=False) is None

    def _fault(self, name: str, board: int, door: int | None = None, *, use: bool = True) -> Fault | None:
        for fault in self.faults:
            if fault.name == name and fault.matches(board, door):
                if use and fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _auto_close(self, now: float) -> None:
        """The doors' timers: late latches popping open, then auto-close."""
        for board in self.boards.values():
            for i, due in enumerate(board.opens_at):
                if due is not None and now >= due:
                    board.opened[i] = True
                    board.opens_at[i] = None
                    board.closes_at[i] = now + self.auto_close if self.auto_close else None
            for i, deadline in enumerate(board.closes_at):
                if deadline is not None and now >= deadline:
                    board.opened[i] = False
                    board.closes_at[i] = None

    # -- faults and the control channel ----------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        if fault.board is not None and fault.board not in self.boards:
            raise LockboardConfigError(f"fault {fault.name}: no simulated board {fault.board}",
                                       hint=f"boards: {', '.join(map(str, self.boards))}")
        if fault.name == "forced":  # an event, not a standing condition
            for board, n in self._doors(fault.board, fault.door):
                board.opened[n - 1] = True
                board.closes_at[n - 1] = None
            return
        self.faults.append(fault)

    def _doors(self, board: int | None, door: int | None) -> list[tuple[SimBoard, int]]:
        boards = self.boards.values() if board is None else [self._board(board)]
        return [(b, n) for b in boards for n in (range(1, b.doors + 1) if door is None else [door])
                if 1 <= n <= b.doors]

    def _board(self, address: Any) -> SimBoard:
        try:
            return self.boards[int(address)]
        except (KeyError, TypeError, ValueError):
            raise LockboardConfigError(f"no simulated board {address!r}",
                                       hint=f"boards: {', '.join(map(str, self.boards))}") from None

    def control(self, request: dict) -> dict:
        """``state``, ``fault``, ``clear``, ``open``, ``close``, ``item``, ``reset``."""
        cmd = request.get("cmd")
        board, door = request.get("board"), request.get("door")
        if cmd == "fault":  # {"name": "jammed", "board": 1, "door": 3, "count": 1} or {"spec": "jammed:1/3"}
            if "spec" in request:
                fault = parse_fault(str(request["spec"]))
            else:
                fault = parse_fault(str(request.get("name", "")))
                fault.board = None if board is None else int(board)
                fault.door = None if door is None else int(door)
                fault.count = None if request.get("count") is None else int(request["count"])
                if request.get("delay") is not None:
                    fault.delay = _seconds(request["delay"], "fault delay")
            self.add_fault(fault)
        elif cmd == "clear":
            name = request.get("name")
            self.faults = [f for f in self.faults if name is not None and f.name != str(name).replace("-", "_")]
        elif cmd in ("open", "close"):
            for b, n in self._doors(board, door):
                b.opened[n - 1] = cmd == "open"
                b.closes_at[n - 1] = b.opens_at[n - 1] = None
        elif cmd == "item":
            for b, n in self._doors(board, door):
                b.items[n - 1] = bool(request.get("present", True))
        elif cmd == "reset":
            for b in self.boards.values():
                b.__post_init__()
            self.faults.clear()
            self.received.clear()
            self.history.clear()
            self._outbox.clear()
            self.invalid = 0
            self._deframer = Deframer(self.family.scan_request)
        elif cmd != "state":
            raise LockboardConfigError(f"unknown control command {cmd!r}",
                                       hint="state, fault, clear, open, close, item, reset (or vanish)")
        return self.state()

    def state(self) -> dict[str, Any]:
        self._auto_close(time.monotonic())
        return {
            "protocol": self.family.name,
            "boards": {str(b.address): {"open": [i + 1 for i, o in enumerate(b.opened) if o],
                                        "items": [i + 1 for i, o in enumerate(b.items) if o],
                                        "online": self._online(b)} for b in self.boards.values()},
            "received": dict(self.received),
            "invalid": self.invalid,
            "garbage": self._deframer.dropped,
            "faults": [f.as_dict() for f in self.faults],
            "history": list(self.history)[-20:],
        }


# -- building one: from sim:// parameters or the command line ----------------------------
PARAMS = ("protocol", "boards", "doors", "addresses", "auto_close", "fault", "status_bytes", "inverted",
          "items", "reply_header", "reply_delay")


def from_params(params: dict[str, str]) -> LockboardSim:
    """For ``sim://lockboard?protocol=kerong&boards=2&doors=16&auto_close=8&fault=jammed:0/3``
    (several faults: comma-separated)."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise LockboardConfigError(f"unknown sim://lockboard parameter(s) {', '.join(unknown)}",
                                   hint=f"known: {', '.join(PARAMS)}")

    def flag(key: str) -> bool:
        return params.get(key, "").strip().lower() in ("1", "true", "yes", "on")

    addresses = params.get("addresses")
    return LockboardSim(
        params.get("protocol", "kerong"),
        _int(params.get("boards", "2"), "boards"),
        _int(params.get("doors", "16"), "doors"),
        addresses=[_int(a, "addresses") for a in addresses.split(",") if a.strip()] if addresses else None,
        auto_close=float(params["auto_close"]) if params.get("auto_close") else None,
        faults=[f for f in params.get("fault", "").split(",") if f.strip()],
        status_bytes=_int(params.get("status_bytes", "4"), "status_bytes"),
        inverted=flag("inverted"),
        items=flag("items"),
        reply_header=int(params.get("reply_header", "80"), 16),
        reply_delay=float(params.get("reply_delay", "0") or 0),
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m drivers.lockboard.sim",
                                description="Simulated lock boards on a pseudo-terminal. Prints the pty path, "
                                            "then the control socket.")
    p.add_argument("--protocol", choices=["kerong", "bcc"], default="kerong", metavar="kerong|bcc",
                   help="frame family (default kerong)")
    p.add_argument("--boards", type=int, default=2, metavar="N",
                   help="number of boards (default 2; addresses from 0 for kerong, from 1 for bcc)")
    p.add_argument("--addresses", metavar="A,B,...",
                   help="explicit board addresses, comma-separated (overrides --boards)")
    p.add_argument("--doors", type=int, default=16, metavar="M", help="doors per board (default 16)")
    p.add_argument("--auto-close", type=float, metavar="SECONDS",
                   help="a door opened by an unlock closes by itself after this long")
    p.add_argument("--fault", action="append", default=[], metavar="NAME[:BOARD[/DOOR]][@SECONDS][=COUNT]",
                   help="start with a fault (repeatable): " + ", ".join(n.replace("_", "-") for n in FAULTS))
    p.add_argument("--status-bytes", type=int, default=4, choices=[3, 4, 6], metavar="N",
                   help="bcc: status bytes in the query-all reply (default 4)")
    p.add_argument("--inverted", action="store_true", help="boards report door switches with inverted polarity")
    p.add_argument("--items", action="store_true", help="boards have item sensors (kerong)")
    p.add_argument("--reply-header", choices=["80", "8a"], default="80", metavar="80|8a",
                   help="bcc: header of the reply to an unlock (default 80; 8a is the echo style)")
    p.add_argument("--reply-delay", type=float, default=0.0, metavar="SECONDS",
                   help="how long a board takes to answer (default 0)")
    return p


def build(args: argparse.Namespace) -> LockboardSim:
    return LockboardSim(
        args.protocol, args.boards, args.doors,
        addresses=[_int(a, "--addresses") for a in args.addresses.split(",") if a.strip()] if args.addresses else None,
        auto_close=args.auto_close, faults=args.fault, status_bytes=args.status_bytes, inverted=args.inverted,
        items=args.items, reply_header=int(args.reply_header, 16), reply_delay=args.reply_delay)


def main(argv: list[str] | None = None) -> int:
    from drivers.simserve import serve_main

    p = parser()
    try:
        return serve_main(build, p, argv)
    except LockboardConfigError as exc:
        print(f"lockboard simulator: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
