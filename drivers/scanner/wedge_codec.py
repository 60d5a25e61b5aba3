"""A keyboard-wedge scanner's wire format: Linux input events in, codes out. Pure, no I/O.

A USB HID scanner in keyboard mode ("keyboard wedge") types each code as key presses
and ends it with Enter. Linux hands its keystrokes to a reader of
``/dev/input/by-id/…-event-kbd`` as ``struct input_event`` records (``<linux/input.h>``)::

    struct timeval time;   /* two longs: 16 bytes on 64-bit Linux */
    __u16 type;            /* EV_SYN 0, EV_KEY 1, EV_MSC 4, ... */
    __u16 code;            /* KEY_A 30, KEY_ENTER 28, KEY_LEFTSHIFT 42, ... */
    __s32 value;           /* EV_KEY: 0 released, 1 pressed, 2 autorepeat */

:class:`WedgeCodec` turns that stream into codes with the US layout every scanner
ships with (Shift, Caps Lock, the keypad, and Ctrl+] for GS, the GS1 field separator).
Enter (or keypad Enter) ends a code. What cannot be a code is handed out as a
:class:`BadCode` (``reason``) for the device to count, never as text:

============== ===========================================================
unmapped_key   a key outside the layout (F-keys, arrows, Alt+…) in the code
overlong       more than ``max_length`` characters before Enter
unterminated   no Enter within ``line_timeout`` of the last key: a code cut
               off must not glue itself to the front of the next one
dropped_events the kernel's buffer overflowed (SYN_DROPPED): keys were lost
garbage        records no input device sends (unknown event type or value)
============== ===========================================================

:func:`keystrokes` is the other half, what a scanner sends for a code (the
simulator's side). No clocks here: the caller passes ``now`` (``time.monotonic()``).
"""
from __future__ import annotations

import struct
import time

from drivers.scanner.errors import BadCode, ScannerConfigError

EVENT = struct.Struct("@llHHi")  # struct input_event as this machine's kernel writes it
EV_SYN, EV_KEY, EV_MSC = 0x00, 0x01, 0x04
EV_MAX = 0x1F
SYN_REPORT, SYN_DROPPED = 0, 3
MSC_SCAN = 4
RELEASED, PRESSED, REPEATED = 0, 1, 2

KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_LEFTCTRL, KEY_RIGHTCTRL = 29, 97
KEY_LEFTALT, KEY_RIGHTALT = 56, 100
KEY_LEFTMETA, KEY_RIGHTMETA = 125, 126
KEY_CAPSLOCK, KEY_NUMLOCK = 58, 69
KEY_RIGHTBRACE = 27
SHIFTS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
CTRLS = frozenset({KEY_LEFTCTRL, KEY_RIGHTCTRL})
ALTS = frozenset({KEY_LEFTALT, KEY_RIGHTALT, KEY_LEFTMETA, KEY_RIGHTMETA})
ENTERS = frozenset({KEY_ENTER, KEY_KPENTER})
GS = "\x1d"  # Ctrl+]: the GS1 FNC1 separator, as scanners type it


def _rows() -> dict[int, tuple[str, str]]:
    """The US layout as data: key code -> (plain, with Shift)."""
    rows = [(2, "1234567890-=", "!@#$%^&*()_+"), (16, "qwertyuiop[]", "QWERTYUIOP{}"),
            (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'), (43, "\\", "|"), (44, "zxcvbnm,./", "ZXCVBNM<>?"),
            (57, " ", " ")]
    table = {first + i: (plain[i], shifted[i]) for first, plain, shifted in rows for i in range(len(plain))}
    # The keypad types the same with or without Shift (scanners in keypad mode assume Num Lock on).
    keypad = {55: "*", 71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+",
              79: "1", 80: "2", 81: "3", 82: "0", 83: ".", 98: "/"}
    table.update({code: (char, char) for code, char in keypad.items()})
    return table


US_LAYOUT: dict[int, tuple[str, str]] = _rows()
# The key a scanner presses for a character: the main block, not the keypad.
_TYPING: dict[str, tuple[int, bool]] = {}
for _code, (_plain, _shifted) in sorted(US_LAYOUT.items(), key=lambda kv: kv[0] in (55, *range(71, 84), 98)):
    _TYPING.setdefault(_plain, (_code, False))
    _TYPING.setdefault(_shifted, (_code, True))
TYPEABLE = frozenset(_TYPING) | {GS}


class WedgeCodec:
    """The incremental decoder: ``feed(bytes, now)`` → codes and :class:`BadCode`\\ s."""

    def __init__(self, *, max_length: int = 4096, line_timeout: float = 0.5) -> None:
        if not 1 <= max_length <= 65536:
            raise ScannerConfigError(f"max_length {max_length} is out of range (1–65536)")
        if not 0 < line_timeout <= 60:
            raise ScannerConfigError(f"line_timeout {line_timeout} s is out of range (0–60)")
        self.max_length = max_length
        self.line_timeout = line_timeout
        self.reset()

    def reset(self) -> None:
        """Forget everything: after a reconnect, keys held before it are not held now."""
        self._rest = b""
        self._chars: list[str] = []
        self._bad = ""  # the reason the code being typed is already lost
        self._last_key = 0.0
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._caps = False

    @property
    def pending(self) -> int:
        """Characters typed of a code that has not ended yet."""
        return len(self._chars)

    def feed(self, data: bytes, now: float) -> list[str | BadCode]:
        """Decode ``data`` (whole records or any piece of them) received at ``now``."""
        out: list[str | BadCode] = []
        self._expire(now, out)
        buf = self._rest + bytes(data)
        size = EVENT.size
        whole = len(buf) - len(buf) % size
        for _sec, _usec, kind, code, value in EVENT.iter_unpack(buf[:whole]):
            self._event(kind, code, value, now, out)
        self._rest = buf[whole:]
        return out

    def expire(self, now: float) -> list[BadCode]:
        """A code left without its Enter for ``line_timeout`` seconds, dropped."""
        out: list[str | BadCode] = []
        self._expire(now, out)
        return out  # type: ignore[return-value]

    # -- one record ---------------------------------------------------------------------
    def _expire(self, now: float, out: list) -> None:
        if (self._chars or self._bad) and now - self._last_key >= self.line_timeout:
            out.append(BadCode(f"a code of {len(self._chars)} characters without Enter for {self.line_timeout} s",
                               reason="unterminated", hint="the scanner stopped mid-code (cable, or a glitch)"))
            self._chars, self._bad = [], ""

    def _spoil(self, reason: str) -> None:
        if not self._bad:
            self._bad = reason

    def _event(self, kind: int, code: int, value: int, now: float, out: list) -> None:
        if kind == EV_SYN:
            if code == SYN_DROPPED:  # keys were lost, releases too: start over
                self._spoil("dropped_events")
                for held in (self._shift, self._ctrl, self._alt):
                    held.clear()
            return
        if kind != EV_KEY:
            if kind > EV_MAX:
                self._spoil("garbage")
            return  # EV_MSC scan codes, LEDs, autorepeat settings: not keys
        if value not in (RELEASED, PRESSED, REPEATED):
            self._spoil("garbage")
            return
        held = (self._shift if code in SHIFTS else self._ctrl if code in CTRLS
                else self._alt if code in ALTS else None)
        if held is not None:
            if value == RELEASED:
                held.discard(code)
            else:
                held.add(code)
            return
        if value == RELEASED:
            return
        if code == KEY_CAPSLOCK:
            if value == PRESSED:
                self._caps = not self._caps
            return
        if code == KEY_NUMLOCK:
            return
        self._last_key = now
        if code in ENTERS:
            self._end(out)
            return
        char = self._char(code)
        if char is None:
            self._spoil("unmapped_key")
        elif len(self._chars) >= self.max_length:
            self._spoil("overlong")
        else:
            self._chars.append(char)

    def _char(self, code: int) -> str | None:
        if self._alt:
            return None  # Alt+keypad codes and menu shortcuts are not text a scanner types
        if self._ctrl:
            return GS if code == KEY_RIGHTBRACE else None
        pair = US_LAYOUT.get(code)
        if pair is None:
            return None
        plain, shifted = pair
        upper = bool(self._shift) != (self._caps and plain.isalpha())
        return shifted if upper else plain

    def _end(self, out: list) -> None:
        chars, bad = self._chars, self._bad
        self._chars, self._bad = [], ""
        if bad:
            out.append(BadCode(f"a code of {len(chars)} characters dropped: {bad.replace('_', ' ')}", reason=bad,
                               hint=_HINTS[bad]))
        elif chars:
            out.append("".join(chars))


_HINTS = {
    "unmapped_key": "set the scanner to the US keyboard layout with Enter as the suffix (its manual's setup codes)",
    "overlong": "raise max_length for very long codes, or check the scanner's suffix is Enter",
    "dropped_events": "the reader fell behind; check the machine's load",
    "garbage": "this is not a keyboard's event stream: check [scanner] url",
}


def keystrokes(text: str, *, enter: bool = True, at: float | None = None, scan_codes: bool = True) -> bytes:
    """The input events a US-layout scanner sends for ``text`` (and Enter).

    Each key is a press and a release, each followed by SYN_REPORT and preceded by
    the MSC_SCAN record real keyboards send; Shift is held around shifted characters
    and Ctrl around GS. :class:`ScannerConfigError` for a character no key types."""
    stamp = time.time() if at is None else at
    sec, usec = int(stamp), int(stamp % 1 * 1_000_000)
    out = bytearray()

    def key(code: int, value: int) -> None:
        if scan_codes:
            out.extend(EVENT.pack(sec, usec, EV_MSC, MSC_SCAN, 0x70000 + code))
        out.extend(EVENT.pack(sec, usec, EV_KEY, code, value))
        out.extend(EVENT.pack(sec, usec, EV_SYN, SYN_REPORT, 0))

    for char in text:
        if char == GS:
            code, modifier = KEY_RIGHTBRACE, KEY_LEFTCTRL
        elif char in _TYPING:
            code, shifted = _TYPING[char]
            modifier = KEY_LEFTSHIFT if shifted else 0
        else:
            raise ScannerConfigError(f"U+{ord(char):04X} {char!r} cannot be typed on a US keyboard",
                                     hint="a keyboard-wedge scanner types ASCII; use a serial (USB-CDC) "
                                          "scanner for other text")
        if modifier:
            key(modifier, PRESSED)
        key(code, PRESSED)
        key(code, RELEASED)
        if modifier:
            key(modifier, RELEASED)
    if enter:
        key(KEY_ENTER, PRESSED)
        key(KEY_ENTER, RELEASED)
    return bytes(out)
