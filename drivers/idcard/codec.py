"""The SAM serial protocol as pure functions: bytes ⇄ commands and replies, no I/O.

Owns the command table, the incremental framer :func:`scan` (used by the driver for
replies and by the simulator for commands), frame encoding, reply decoding into
typed results, and the SW3 status table. Wire format (shared/protocols/idcard.md)::

    command  AA AA AA 96 69 | LEN(2, BE) | CMD PARA DATA… | CHK
    reply    AA AA AA 96 69 | LEN(2, BE) | SW1 SW2 SW3 DATA… | CHK

``LEN`` counts every byte after itself, CHK included; ``CHK`` is the XOR of the LEN
bytes and everything after them up to CHK. Nothing here trusts a length or checksum
it has not checked; everything that fails raises :class:`IdCardFrameError`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import reduce
from operator import xor

from drivers.framing import Scan
from drivers.idcard.errors import IdCardFrameError, SamError

PREAMBLE = bytes.fromhex("AAAAAA9669")
HEADER = len(PREAMBLE) + 2  # preamble + LEN
# The longest legal frame is text + photo + two fingerprints (LEN 2314); anything
# claiming more is line noise, and waiting for it would stall the stream.
MAX_LEN = 3 + 6 + 256 + 1024 + 1024 + 1
MIN_LEN = 3  # CMD PARA CHK (a reply needs at least SW1 SW2 SW3 CHK = 4)

TEXT_SIZE = 256
PHOTO_SIZE = 1024
FINGERPRINT_SIZES = (0, 512, 1024)
SAM_ID_SIZE = 16


# -- the command table ---------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    """One SAM command and the shape of its successful reply's data.

    ``reply`` is ``("fixed", n)`` for exactly ``n`` data bytes, ``("any", max)`` for
    up to ``max``, or ``("blocks", names)`` for big-endian 2-byte lengths, one per
    name, followed by the blocks in the same order."""

    name: str
    cmd: int
    para: int
    ok: int  # the SW3 that means success
    reply: tuple
    doc: str


COMMANDS: tuple[Command, ...] = (
    Command("sam_status", 0x11, 0xFF, 0x90, ("fixed", 0), "SAM status"),
    Command("sam_reset", 0x10, 0xFF, 0x90, ("fixed", 0), "reset SAM"),
    Command("sam_id", 0x12, 0xFF, 0x90, ("fixed", SAM_ID_SIZE), "read SAM id"),
    Command("find_card", 0x20, 0x01, 0x9F, ("fixed", 4), "find card"),
    Command("select_card", 0x20, 0x02, 0x90, ("fixed", 8), "select card"),
    Command("read_text_photo", 0x30, 0x01, 0x90, ("blocks", ("text", "photo")), "read text + photo"),
    Command("read_text_photo_fp", 0x30, 0x10, 0x90, ("blocks", ("text", "photo", "fingerprint")),
            "read text + photo + fingerprint"),
    Command("read_newest_address", 0x30, 0x03, 0x90, ("any", 70), "read newest address"),
)
BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
BY_CODE: dict[tuple[int, int], Command] = {(c.cmd, c.para): c for c in COMMANDS}


# -- SW3 status codes ------------------------------------------------------------------
_REPLACE = "请联系读卡器厂商 / contact the reader vendor"
_AGAIN = "请重新放置身份证 / place the card again"
_LINE = "检查串口线与波特率 / check the cable and the baud rate"
# code: (中文, English, hint)
SW3: dict[int, tuple[str, str, str]] = {
    0x90: ("操作成功", "ok", ""),
    0x91: ("证/卡中此项无内容", "item empty on card", ""),
    0x9F: ("寻找证/卡成功", "find ok", ""),
    0x10: ("接收业务终端数据的校验和错", "checksum error in the command", _LINE),
    0x11: ("接收业务终端数据的长度错", "length error in the command", _LINE),
    0x21: ("接收业务终端的命令错误", "command error", "读卡器不支持此命令 / the reader does not support this command"),
    0x23: ("越权操作", "unauthorised", _REPLACE),
    0x24: ("无法识别的错误", "unknown error", _AGAIN),
    0x31: ("证/卡认证机具失败", "card failed to authenticate SAM", _AGAIN),
    0x32: ("机具认证证/卡失败", "SAM failed to authenticate card",
           "证件可能损坏或非居民身份证 / the card may be damaged or not a resident ID card"),
    0x33: ("信息验证错误", "verification error", _AGAIN),
    0x40: ("无法识别的卡类型", "wrong card type", "请放置居民身份证 / place a resident ID card"),
    0x41: ("读证/卡操作失败", "read failed", _AGAIN),
    0x47: ("取随机数失败", "random-number failure", _AGAIN),
    0x60: ("SAM自检失败", "SAM self-test failed", _REPLACE),
    0x66: ("SAM未经授权", "SAM not authorised", _REPLACE),
    0x80: ("寻找证/卡失败", "find card failed", "请放置身份证 / place the card on the reader"),
    0x81: ("选取证/卡失败", "select card failed", _AGAIN),
}


def describe(code: int) -> tuple[str, str, str]:
    """(中文, English, hint) for an SW3 code, including ones the notes do not list."""
    return SW3.get(code, ("未知状态码", f"unknown status {code:02X}", _REPLACE))


def sam_error(code: int, *, command: str = "", port: str = "") -> SamError:
    zh, en, hint = describe(code)
    return SamError(code, zh, en, hint=hint, port=port, command=command)


# -- frames --------------------------------------------------------------------------
def checksum(body: bytes) -> int:
    """XOR of the LEN bytes and everything after them (``body`` = LEN … before CHK)."""
    return reduce(xor, body, 0)


def _frame(payload: bytes) -> bytes:
    length = len(payload) + 1
    if length > 0xFFFF:
        raise IdCardFrameError(f"帧过长 / frame too long: {length} bytes")
    body = struct.pack(">H", length) + payload
    return PREAMBLE + body + bytes([checksum(body)])


def encode_command(command: Command | str, data: bytes = b"") -> bytes:
    """The full frame for ``command`` (a :class:`Command` or its table name)."""
    if isinstance(command, str):
        try:
            command = BY_NAME[command]
        except KeyError:
            raise IdCardFrameError(f"未知命令 / unknown command {command!r}",
                                   hint=f"known: {', '.join(BY_NAME)}") from None
    return _frame(bytes([command.cmd, command.para]) + data)


def encode_reply(sw3: int, data: bytes = b"", *, sw1: int = 0, sw2: int = 0) -> bytes:
    """The full reply frame (the simulator's side)."""
    return _frame(bytes([sw1, sw2, sw3]) + data)


def encode_blocks(*blocks: bytes) -> bytes:
    """A ``("blocks", …)`` reply's data: the 2-byte lengths, then the blocks."""
    return b"".join(struct.pack(">H", len(b)) for b in blocks) + b"".join(blocks)


def scan(buf: bytes) -> Scan:
    """The incremental framer for both directions (see :mod:`drivers.framing`).

    Garbage before a preamble is dropped; a frame whose LEN is impossible or whose
    CHK fails loses only its first byte, so a real frame starting inside it is
    still found."""
    if not buf.startswith(PREAMBLE[: len(buf)]):
        at = buf.find(PREAMBLE, 1)
        if at > 0:
            return Scan.drop(at)
        # Keep a tail that may be the start of a preamble cut by the read.
        for keep in range(min(len(PREAMBLE) - 1, len(buf) - 1), 0, -1):
            if PREAMBLE.startswith(buf[-keep:]):
                return Scan.drop(len(buf) - keep)
        return Scan.drop(len(buf))
    if len(buf) < HEADER:
        return Scan.need()
    length = (buf[5] << 8) | buf[6]
    if not MIN_LEN <= length <= MAX_LEN:
        return Scan.drop(1)
    total = HEADER + length
    if len(buf) < total:
        return Scan.need()
    if checksum(buf[5:total - 1]) != buf[total - 1]:
        return Scan.drop(1)
    return Scan.frame(total)


def _payload(frame: bytes) -> bytes:
    """Validate one whole frame and return what lies between LEN and CHK."""
    if len(frame) < HEADER + MIN_LEN or not frame.startswith(PREAMBLE):
        raise IdCardFrameError(f"不是SAM帧 / not a SAM frame: {frame[:8].hex(' ')}")
    length = (frame[5] << 8) | frame[6]
    if HEADER + length != len(frame):
        raise IdCardFrameError(f"长度不符 / LEN says {length}, frame has {len(frame) - HEADER} after it")
    if checksum(frame[5:-1]) != frame[-1]:
        raise IdCardFrameError(f"校验和错误 / checksum {frame[-1]:02X}, expected {checksum(frame[5:-1]):02X}")
    return frame[HEADER:-1]


@dataclass(frozen=True)
class Request:
    """A decoded command frame (the simulator's view). ``command`` is None when the
    CMD/PARA pair is not in the table."""

    cmd: int
    para: int
    data: bytes
    command: Command | None


def decode_command(frame: bytes) -> Request:
    payload = _payload(frame)
    return Request(payload[0], payload[1], payload[2:], BY_CODE.get((payload[0], payload[1])))


# -- replies ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @property
    def zh(self) -> str:
        return describe(self.sw3)[0]

    @property
    def en(self) -> str:
        return describe(self.sw3)[1]


def decode_reply(frame: bytes) -> Reply:
    payload = _payload(frame)
    if len(payload) < 3:
        raise IdCardFrameError(f"应答过短 / reply without SW1 SW2 SW3: {frame.hex(' ')}")
    return Reply(payload[0], payload[1], payload[2], payload[3:])


@dataclass(frozen=True)
class CardBlocks:
    """The raw blocks of a text + photo (+ fingerprint) read; ``record`` types them."""

    text: bytes
    photo: bytes
    fingerprint: bytes | None = None  # None: not asked for; b"": the card has none

    def __repr__(self) -> str:  # never the bytes: they are personal data
        fp = "None" if self.fingerprint is None else f"{len(self.fingerprint)} bytes"
        return f"CardBlocks(text={len(self.text)} bytes, photo={len(self.photo)} bytes, fingerprint={fp})"


@dataclass(frozen=True)
class SamId:
    """The SAM's 16-byte identity; str() is the vendors' usual ``05.01-20101010-…`` form."""

    raw: bytes

    def __str__(self) -> str:
        a, b, c, d, e = struct.unpack("<HHIII", self.raw)
        return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"

    @classmethod
    def parse(cls, text: str) -> "SamId":
        """The inverse of str(), for simulators and tests."""
        try:
            ab, c, d, e = text.split("-")
            a, b = ab.split(".")
            return cls(struct.pack("<HHIII", int(a), int(b), int(c), int(d), int(e)))
        except (ValueError, struct.error):
            raise ValueError(f"SAM编号格式错误 / bad SAM id {text!r}: "
                             f"write it like 05.01-20101010-0012345678-1234567890") from None


def _blocks(data: bytes, names: tuple[str, ...]) -> list[bytes]:
    head = 2 * len(names)
    if len(data) < head:
        raise IdCardFrameError(f"数据过短 / {len(data)} data bytes cannot hold {len(names)} block lengths")
    sizes = struct.unpack(f">{len(names)}H", data[:head])
    if head + sum(sizes) != len(data):
        raise IdCardFrameError(f"块长度不符 / block lengths {list(sizes)} do not add up to "
                               f"{len(data) - head} data bytes")
    blocks, at = [], head
    for size in sizes:
        blocks.append(data[at:at + size])
        at += size
    return blocks


def parse_data(command: Command, reply: Reply) -> object:
    """The typed result of a successful reply: None, the select bytes, a
    :class:`SamId`, :class:`CardBlocks` or the newest address. A failure SW3 raises
    :class:`SamError` (0x91 "item empty" is ``None`` for the newest address)."""
    if reply.sw3 != command.ok:
        if reply.sw3 == 0x91 and command.name == "read_newest_address":
            return None
        raise sam_error(reply.sw3, command=command.name)
    kind, spec = command.reply
    data = reply.data
    if kind == "fixed" and len(data) != spec or kind == "any" and len(data) > spec:
        raise IdCardFrameError(f"{command.doc}: 应答数据长度 {len(data)} 不符 / reply data of "
                               f"{len(data)} bytes, expected {spec}")
    if command.name == "sam_id":
        return SamId(data)
    if command.name == "select_card":
        return data
    if kind == "blocks":
        blocks = _blocks(data, spec)
        text, photo = blocks[0], blocks[1]
        if len(text) != TEXT_SIZE or len(photo) != PHOTO_SIZE:
            raise IdCardFrameError(f"文字/照片长度错误 / text {len(text)} and photo {len(photo)} bytes, "
                                   f"expected {TEXT_SIZE} and {PHOTO_SIZE}")
        fingerprint = blocks[2] if len(blocks) > 2 else None
        if fingerprint is not None and len(fingerprint) not in FINGERPRINT_SIZES:
            raise IdCardFrameError(f"指纹长度错误 / fingerprint of {len(fingerprint)} bytes")
        return CardBlocks(text, photo, fingerprint)
    if kind == "any":
        if len(data) % 2:
            raise IdCardFrameError(f"地址长度为奇数 / address of odd length {len(data)}")
        try:
            return data.decode("utf-16-le").rstrip(" \x00") or None
        except UnicodeDecodeError as exc:
            raise IdCardFrameError(f"地址不是UCS-2 / address is not UCS-2: {exc.reason}") from None
    return None
