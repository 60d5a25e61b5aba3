"""Lock-board wire formats (shared/protocols/lockboard.md): pure bytes ⇄ messages.

Owns, for both frame families — ``kerong`` (``STX ADDR CMD ETX SUM``, sum checksum)
and ``bcc`` (``8A``/``80`` frames, XOR checksum):

* each family's command table, as data (:class:`Command`: name, header, opcode,
  fixed fields) over one byte layout per family;
* encoding and decoding requests *and* replies: the driver encodes requests and
  decodes replies, the simulator the other way round, with this same module;
* the incremental framers ``scan_request`` / ``scan_reply`` of the
  :mod:`drivers.framing` contract: they never raise, never block, and never pass a
  frame whose header, length and checksum they have not checked; on garbage they
  drop up to the next header byte so the stream resyncs.

Reading a decoded reply as door states under a board's polarity lives in
:mod:`drivers.lockboard.status`. No I/O and no clocks here.

Numbers in this API are as printed on boards and door labels: kerong boards 0–15
with doors 1–16 (the wire's lock nibble is door − 1); bcc boards 1–64, doors 1–48.
"""
from __future__ import annotations

from dataclasses import dataclass

from drivers.framing import Scan
from drivers.lockboard.errors import LockboardConfigError, LockboardFrameError

STX, ETX = 0x02, 0x03
KERONG_REPLY = 0x35  # the CMD byte of every kerong status reply
BCC_UNLOCK, BCC_QUERY = 0x8A, 0x80  # bcc headers
BCC_SET, BCC_CLEAR = 0x11, 0x00  # bcc door status byte: "open"/"closed" under default polarity
BCC_BOARD_TRAILER = 0x33  # last byte before the XOR of a bcc "query all" reply
BCC_STATUS_BYTES = range(2, 9)  # plausible "query all" lengths; 3, 4 and 6 are known models


@dataclass(frozen=True)
class Command:
    """One request of a family's command table."""

    name: str
    header: int  # first byte of the request
    opcode: int  # the CMD byte
    summary: str
    reply: str  # "board" (one board's switches), "boards" (one per board present),
    #              "door" (one door), "address" (the only board's address)
    board: bool = True  # takes a board address
    door: bool = False  # takes a door number
    fixed: tuple[tuple[str, int], ...] = ()  # layout fields with a constant value
    safe: bool = True  # safe to resend; never true for anything that moves a lock


# -- the three kinds of reply, as on the wire (polarity not applied) ----------------
@dataclass(frozen=True, slots=True)
class Request:
    command: str  # a name from the family's command table
    board: int | None = None
    door: int | None = None


@dataclass(frozen=True, slots=True)
class SwitchReply:
    """A whole board's door switches (bit n−1 = door n), as the wire has them."""

    board: int
    switches: int
    width: int  # doors the frame covers: 16 (kerong), 8 × status bytes (bcc)
    items: int | None = None  # kerong item sensors, same layout; bcc frames have none
    lock: int = 0  # kerong: the low nibble the board put in ADDR


@dataclass(frozen=True, slots=True)
class DoorReply:
    """One door's status byte (bcc)."""

    board: int
    door: int
    status: int  # BCC_SET or BCC_CLEAR
    header: int = BCC_QUERY  # 0x8A echo-style or 0x80; both answer an unlock


@dataclass(frozen=True, slots=True)
class AddressReply:
    """The answer to bcc "find the address of the only board on the bus"."""

    board: int


Reply = SwitchReply | DoorReply | AddressReply


def _sum8(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def _xor(data: bytes | bytearray) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


# Scan results are immutable: hand out shared ones instead of building one per frame.
_FRAME = {n: Scan.frame(n) for n in range(5, 4 + max(BCC_STATUS_BYTES) + 1)}
_NEED = Scan.need()


def _skip(buf: bytes, headers: bytes) -> Scan:
    """Drop everything before the next possible header byte (resync)."""
    cut = len(buf)
    for h in headers:
        i = buf.find(h, 1)
        if 0 < i < cut:
            cut = i
    return Scan.drop(cut)


class Family:
    """A frame family: its layout, command table, framers and codecs."""

    name: str
    baudrate: int  # the line speed boards of this family ship with
    headers: bytes  # bytes a frame may start with (where the framer resyncs)
    layout: tuple[str, ...]  # request bytes in order; the last one is the checksum
    boards: range  # valid addresses, as printed
    doors: range  # valid door numbers, as on the labels
    commands: tuple[Command, ...]
    set_bit_open: bool  # in a switch bitmap, a set bit means "open" under default polarity
    item_sensors: bool  # whether replies can carry item sensors
    broadcast: str  # the command that finds boards without knowing their address
    reply_length: int  # length of the usual reply (whole-board bcc replies are longer)

    def __init__(self) -> None:
        self._encoded: dict[tuple[str, int | None, int | None], bytes] = {}

    def checksum(self, data: bytes | bytearray) -> int:
        raise NotImplementedError

    # -- command table ---------------------------------------------------------------
    def command(self, name: str) -> Command:
        for cmd in self.commands:
            if cmd.name == name:
                return cmd
        raise LockboardConfigError(f"{self.name} boards have no command {name!r}",
                                   hint=f"known: {', '.join(c.name for c in self.commands)}")

    def check_board(self, board: int) -> int:
        if not isinstance(board, int) or board not in self.boards:
            raise LockboardConfigError(
                f"board address {board!r} is not a {self.name} address",
                hint=f"{self.name} boards have addresses {self.boards[0]}–{self.boards[-1]}, "
                     "as set on their DIP switches")
        return board

    def check_door(self, door: int) -> int:
        if not isinstance(door, int) or door not in self.doors:
            raise LockboardConfigError(
                f"door {door!r} is not a {self.name} door number",
                hint=f"{self.name} doors are numbered {self.doors[0]}–{self.doors[-1]} as on the door labels")
        return door

    # -- requests --------------------------------------------------------------------
    def encode(self, command: str, board: int | None = None, door: int | None = None) -> bytes:
        """The request frame for ``command`` (numbers as printed)."""
        key = (command, board, door)
        frame = self._encoded.get(key)
        if frame is None:
            frame = self._encode(command, board, door)
            if len(self._encoded) < 8192:  # every request a bus can send fits easily
                self._encoded[key] = frame
        return frame

    def _encode(self, command: str, board: int | None, door: int | None) -> bytes:
        cmd = self.command(command)
        if cmd.board:
            self.check_board(board)  # type: ignore[arg-type]
        if cmd.door:
            self.check_door(door)  # type: ignore[arg-type]
        values = {**self._fields(cmd, board if cmd.board else None, door if cmd.door else None), **dict(cmd.fixed)}
        out = bytearray()
        for field in self.layout[:-1]:
            out.append(values[field])
        out.append(self.checksum(out))
        return bytes(out)

    def decode_request(self, frame: bytes) -> Request:
        """The request in ``frame``; :class:`LockboardFrameError` when it is not one."""
        if not frame or self.scan_request(bytes(frame)) != Scan.frame(len(frame)):
            raise LockboardFrameError(f"not a valid {self.name} request: {bytes(frame).hex(' ')}")
        fields = dict(zip(self.layout, frame))
        for cmd in self.commands:
            if self._matches(cmd, fields) and all(fields[k] == v for k, v in cmd.fixed):
                board, door = self._unpack(cmd, fields)
                if board is not None and board not in self.boards:
                    raise LockboardFrameError(f"{self.name} request for board {board}, which cannot exist")
                if door is not None and door not in self.doors:
                    raise LockboardFrameError(f"{self.name} request for door {door}, which cannot exist")
                return Request(cmd.name, board, door)
        raise LockboardFrameError(f"{self.name} request with unknown command: {bytes(frame).hex(' ')}")

    def _fields(self, cmd: Command, board: int | None, door: int | None) -> dict[str, int]:
        raise NotImplementedError

    def _matches(self, cmd: Command, fields: dict[str, int]) -> bool:
        raise NotImplementedError

    def _unpack(self, cmd: Command, fields: dict[str, int]) -> tuple[int | None, int | None]:
        raise NotImplementedError

    # -- framers ---------------------------------------------------------------------
    def scan_request(self, buf: bytes) -> Scan:
        raise NotImplementedError

    def scan_reply(self, buf: bytes, board_reply_length: int = 0) -> Scan:
        """Frame one reply. ``board_reply_length`` is the length of a whole-board reply
        now expected (bcc "query all", whose length the bytes alone do not tell;
        see :meth:`board_reply_length`); 0 when none is."""
        raise NotImplementedError

    def board_reply_length(self, status_bytes: int) -> int:
        """Length of a whole-board status reply of a board with ``status_bytes``."""
        raise NotImplementedError

    # -- replies ---------------------------------------------------------------------
    def encode_reply(self, reply: Reply) -> bytes:
        raise NotImplementedError

    def decode_reply(self, frame: bytes) -> Reply:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<lock-board family {self.name}>"


class Kerong(Family):
    """``STX ADDR CMD ETX SUM``; ADDR = board << 4 | (door − 1); 9-byte status replies."""

    name = "kerong"
    baudrate = 19200
    headers = bytes([STX])
    layout = ("STX", "ADDR", "CMD", "ETX", "SUM")
    boards = range(0, 16)
    doors = range(1, 17)
    set_bit_open = False  # H1/H2: bit set = door closed and latched
    item_sensors = True
    broadcast = "status_all"
    commands = (
        Command("status", STX, 0x30, "status of one board (lock nibble ignored)", "board"),
        Command("unlock", STX, 0x31, "unlock one lock; replies status (some boards stay silent)",
                "board", door=True, safe=False),
        Command("status_all", STX, 0x32, "status of every board: one reply per board present",
                "boards", board=False, fixed=(("ADDR", 0xF0),)),
        Command("unlock_all", STX, 0x33, "unlock every lock of one board; replies status",
                "board", safe=False),
    )
    reply_length = 9
    _REQUEST_CODES = frozenset(c.opcode for c in commands)

    def checksum(self, data: bytes | bytearray) -> int:
        return _sum8(data)

    def _fields(self, cmd: Command, board: int | None, door: int | None) -> dict[str, int]:
        addr = ((board or 0) << 4) | ((door - 1) if door else 0)
        return {"STX": STX, "ADDR": addr, "CMD": cmd.opcode, "ETX": ETX}

    def _matches(self, cmd: Command, fields: dict[str, int]) -> bool:
        return fields["CMD"] == cmd.opcode

    def _unpack(self, cmd: Command, fields: dict[str, int]) -> tuple[int | None, int | None]:
        addr = fields["ADDR"]
        return (addr >> 4 if cmd.board else None), ((addr & 0x0F) + 1 if cmd.door else None)

    def scan_request(self, buf: bytes) -> Scan:
        if not buf:
            return _NEED
        if buf[0] != STX:
            return _skip(buf, self.headers)
        if len(buf) < 3:
            return _NEED
        if buf[2] not in self._REQUEST_CODES:
            return _skip(buf, self.headers)
        if len(buf) < 5:
            return _NEED
        if buf[3] != ETX or _sum8(buf[:4]) != buf[4]:
            return _skip(buf, self.headers)
        return _FRAME[5]

    def scan_reply(self, buf: bytes, board_reply_length: int = 0) -> Scan:
        if not buf:
            return _NEED
        if buf[0] != STX:
            return _skip(buf, self.headers)
        if len(buf) < 3:
            return _NEED
        if buf[2] != KERONG_REPLY:
            return _skip(buf, self.headers)
        if len(buf) < 9:
            return _NEED
        if buf[7] != ETX or _sum8(buf[:8]) != buf[8]:
            return _skip(buf, self.headers)
        return _FRAME[9]

    def board_reply_length(self, status_bytes: int) -> int:
        return self.reply_length

    def encode_reply(self, reply: Reply) -> bytes:
        if not isinstance(reply, SwitchReply) or reply.width != 16:
            raise LockboardFrameError(f"kerong boards only send 16-door status replies, not {reply!r}")
        self.check_board(reply.board)
        items = reply.items or 0
        body = bytes([STX, (reply.board << 4) | (reply.lock & 0x0F), KERONG_REPLY,
                      reply.switches & 0xFF, (reply.switches >> 8) & 0xFF,
                      items & 0xFF, (items >> 8) & 0xFF, ETX])
        return body + bytes([_sum8(body)])

    def decode_reply(self, frame: bytes) -> Reply:
        if (len(frame) != 9 or frame[0] != STX or frame[2] != KERONG_REPLY or frame[7] != ETX
                or _sum8(frame[:8]) != frame[8]):
            raise LockboardFrameError(f"not a valid kerong status reply: {bytes(frame).hex(' ')}")
        return SwitchReply(board=frame[1] >> 4, switches=frame[3] | frame[4] << 8, width=16,
                           items=frame[5] | frame[6] << 8, lock=frame[1] & 0x0F)


class Bcc(Family):
    """``8A``/``80`` 5-byte frames with an XOR; the "query all" reply is longer."""

    name = "bcc"
    baudrate = 9600
    headers = bytes([BCC_QUERY, BCC_UNLOCK])
    layout = ("HDR", "BOARD", "LOCK", "CMD", "BCC")
    boards = range(1, 65)
    doors = range(1, 49)
    set_bit_open = True  # query-all bits and the status byte: set = open
    item_sensors = False
    broadcast = "find_address"
    reply_length = 5
    commands = (
        Command("unlock", BCC_UNLOCK, 0x11, "unlock one lock; replies its status (80 or 8A header)",
                "door", door=True, safe=False),
        Command("status_board", BCC_QUERY, 0x33, "status of every door of one board",
                "board", fixed=(("LOCK", 0),)),
        Command("status", BCC_QUERY, 0x33, "status of one door", "door", door=True),
        Command("find_address", BCC_QUERY, 0x99, "address of the only board on the bus",
                "address", board=False, fixed=(("BOARD", 1), ("LOCK", 0))),
    )
    _REQUEST_KEYS = frozenset((c.header, c.opcode) for c in commands)

    def checksum(self, data: bytes | bytearray) -> int:
        return _xor(data)

    def _fields(self, cmd: Command, board: int | None, door: int | None) -> dict[str, int]:
        return {"HDR": cmd.header, "BOARD": board or 0, "LOCK": door or 0, "CMD": cmd.opcode}

    def _matches(self, cmd: Command, fields: dict[str, int]) -> bool:
        return fields["HDR"] == cmd.header and fields["CMD"] == cmd.opcode

    def _unpack(self, cmd: Command, fields: dict[str, int]) -> tuple[int | None, int | None]:
        return (fields["BOARD"] if cmd.board else None), (fields["LOCK"] if cmd.door else None)

    def scan_request(self, buf: bytes) -> Scan:
        if not buf:
            return _NEED
        if buf[0] not in self.headers:
            return _skip(buf, self.headers)
        if len(buf) < 5:
            return _NEED
        if (buf[0], buf[3]) not in self._REQUEST_KEYS or _xor(buf[:4]) != buf[4]:
            return _skip(buf, self.headers)
        return _FRAME[5]

    def scan_reply(self, buf: bytes, board_reply_length: int = 0) -> Scan:
        if not buf:
            return _NEED
        head = buf[0]
        if head not in self.headers:
            return _skip(buf, self.headers)
        # A whole-board reply and a one-door reply can both start "80 BB" and either
        # could pass the other's checks by chance, so the caller says which it awaits.
        n = board_reply_length if head == BCC_QUERY and board_reply_length > 5 else 5
        if len(buf) < n:
            return _NEED
        if n > 5 and buf[n - 2] != BCC_BOARD_TRAILER:
            return _skip(buf, self.headers)
        if _xor(buf[:n - 1]) != buf[n - 1]:
            return _skip(buf, self.headers)
        return _FRAME[n] if n in _FRAME else Scan.frame(n)

    def board_reply_length(self, status_bytes: int) -> int:
        return 4 + status_bytes

    def encode_reply(self, reply: Reply) -> bytes:
        if isinstance(reply, DoorReply):
            self.check_board(reply.board)
            self.check_door(reply.door)
            if reply.header not in self.headers or reply.status not in (BCC_SET, BCC_CLEAR):
                raise LockboardFrameError(f"not a bcc door reply: {reply!r}")
            body = bytes([reply.header, reply.board, reply.door, reply.status])
        elif isinstance(reply, AddressReply):
            body = bytes([BCC_QUERY, 0x01, self.check_board(reply.board), 0x99])
        elif isinstance(reply, SwitchReply):
            self.check_board(reply.board)
            count, rest = divmod(reply.width, 8)
            if rest or count not in BCC_STATUS_BYTES:
                raise LockboardFrameError(f"a bcc board reports 8 × 2–8 channels, not {reply.width}")
            body = (bytes([BCC_QUERY, reply.board])
                    + (reply.switches & ((1 << reply.width) - 1)).to_bytes(count, "big")
                    + bytes([BCC_BOARD_TRAILER]))
        else:
            raise LockboardFrameError(f"bcc boards do not send {reply!r}")
        return body + bytes([_xor(body)])

    def decode_reply(self, frame: bytes) -> Reply:
        frame = bytes(frame)
        if (len(frame) < 5 or frame[0] not in self.headers or _xor(frame[:-1]) != frame[-1]
                or frame[1] not in self.boards):
            raise LockboardFrameError(f"not a valid bcc reply: {frame.hex(' ')}")
        head, board, third, fourth = frame[0], frame[1], frame[2], frame[3]
        if len(frame) == 5:
            if head == BCC_QUERY and fourth == 0x99 and board == 1 and third in self.boards:
                return AddressReply(third)
            if fourth in (BCC_SET, BCC_CLEAR) and third in self.doors:
                return DoorReply(board, third, fourth, head)
            raise LockboardFrameError(f"bcc frame is not a reply (a request echoed?): {frame.hex(' ')}")
        count = len(frame) - 4
        if head != BCC_QUERY or frame[-2] != BCC_BOARD_TRAILER or count not in BCC_STATUS_BYTES:
            raise LockboardFrameError(f"not a valid bcc query-all reply: {frame.hex(' ')}")
        return SwitchReply(board, int.from_bytes(frame[2:-2], "big"), 8 * count)


KERONG = Kerong()
BCC = Bcc()
FAMILIES: dict[str, Family] = {f.name: f for f in (KERONG, BCC)}


def family(name: str | Family) -> Family:
    """The family called ``name`` ("kerong" or "bcc")."""
    if isinstance(name, Family):
        return name
    try:
        return FAMILIES[str(name).strip().lower()]
    except KeyError:
        raise LockboardConfigError(
            f"unknown lock-board protocol {name!r}",
            hint="use kerong (STX…ETX, sum) or bcc (8A/80, XOR); "
                 "`python -m drivers.lockboard --port PORT detect` tells which one answers") from None
