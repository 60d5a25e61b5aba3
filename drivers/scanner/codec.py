"""The serial scanner's wire format: one code per line. Pure, no I/O.

A USB-CDC (or RS-232) scanner, like a keyboard-wedge scanner's output, sends each
code as a line ending in CR, LF or CRLF, sometimes wrapped in a configured prefix
and suffix (an AIM identifier such as ``]Q1``, or STX … ETX). Bytes::

    [prefix] code [suffix] (CR | LF | CRLF)

:class:`LineCodec` has the two halves of the framer contract
(:mod:`drivers.framing`):

* ``scan(buf)`` frames a line at the first CR or LF (taking an LF right after a CR
  with it). It does not wait to see whether an LF follows a CR at the end of the
  buffer: a scanner that ends lines with CR alone would otherwise deliver each
  code one scan late. The LF that arrives later is an empty line, ignored.
* ``decode(frame)`` turns one framed line into text, ``None`` for an empty line, or
  raises :class:`BadCode` (not text in the configured encoding, control characters,
  overlong) so the device can drop and count it.

An overlong line is the one thing ``scan`` remembers: it frames the first
``max_length + 1`` bytes (which ``decode`` rejects) and then drops everything up to
the next terminator. Dropping only the head would let the tail of a garbled line
through as a short, wrong, valid-looking code.
"""
from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

from drivers.framing import Scan
from drivers.scanner.errors import BadCode, ScannerConfigError

CR, LF = 0x0D, 0x0A
# GS is the FNC1 field separator inside GS1 barcodes (GS1 DataMatrix, GS1-128):
# scanners transmit it, and rejecting it would drop every GS1 code.
ALLOWED_CONTROLS = frozenset("\x1d")
TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


@dataclass(frozen=True)
class LineFormat:
    prefix: bytes = b""  # stripped from the start of a line when present
    suffix: bytes = b""  # stripped from the end (before the terminator) when present
    max_length: int = 4096  # bytes before the terminator; a QR code holds at most 2953
    encoding: str = "utf-8"  # some scanners send GB18030 for Chinese text

    def __post_init__(self) -> None:
        if not 1 <= self.max_length <= 65536:
            raise ScannerConfigError(f"max_length {self.max_length} is out of range (1–65536)")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ScannerConfigError(f"unknown encoding {self.encoding!r}",
                                     hint="use utf-8, gb18030 or latin-1") from None
        if any(b in (CR, LF) for b in self.prefix + self.suffix):
            raise ScannerConfigError("a prefix or suffix cannot contain CR or LF: those end the line")


def _line_end(buf: bytes, cr_or_lf: int) -> int:
    """Length of the line at the start of ``buf`` with its terminator."""
    if buf[cr_or_lf] == CR and cr_or_lf + 1 < len(buf) and buf[cr_or_lf + 1] == LF:
        return cr_or_lf + 2
    return cr_or_lf + 1


def _find_terminator(buf: bytes) -> int:
    cr, lf = buf.find(b"\r"), buf.find(b"\n")
    if cr < 0:
        return lf
    return cr if lf < 0 else min(cr, lf)


class LineCodec:
    def __init__(self, fmt: LineFormat | None = None) -> None:
        self.format = fmt or LineFormat()
        self._skipping = False  # inside an overlong line, dropping to its end

    def reset(self) -> None:
        """Forget a half-dropped overlong line (after a reconnect)."""
        self._skipping = False

    def scan(self, buf: bytes) -> Scan:
        if not buf:
            return Scan.need()
        end = _find_terminator(buf)
        if self._skipping:
            if end < 0:
                return Scan.drop(len(buf))
            self._skipping = False
            return Scan.drop(_line_end(buf, end))
        if end < 0:
            if len(buf) > self.format.max_length:
                self._skipping = True
                return Scan.frame(self.format.max_length + 1)
            return Scan.need()
        return Scan.frame(_line_end(buf, end))

    __call__ = scan  # a LineCodec is itself the Deframer's scanner

    def decode(self, frame: bytes) -> str | None:
        return decode_line(frame, self.format)


def decode_line(frame: bytes, fmt: LineFormat = LineFormat()) -> str | None:
    """One framed line → its code; ``None`` for an empty line; :class:`BadCode` otherwise."""
    line = frame.rstrip(b"\r\n")
    if len(line) == len(frame) or len(line) > fmt.max_length:
        raise BadCode(f"line longer than {fmt.max_length} bytes dropped", reason="overlong",
                      hint="check the baud rate, or raise max_length for very long codes")
    if fmt.prefix and line.startswith(fmt.prefix):
        line = line[len(fmt.prefix):]
    if fmt.suffix and line.endswith(fmt.suffix):
        line = line[:-len(fmt.suffix)]
    if not line:
        return None
    try:
        text = line.decode(fmt.encoding)
    except UnicodeDecodeError:
        raise BadCode(f"line is not {fmt.encoding} text: {line[:32].hex(' ')}", reason="not_text",
                      hint="check the baud rate and the scanner's character set") from None
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS:
            raise BadCode(f"line has control character U+{ord(char):04X}: {line[:32].hex(' ')}",
                          reason="control", hint="check the baud rate, or set the scanner's prefix/suffix")
    return text


def encode_line(text: str, fmt: LineFormat = LineFormat(), terminator: bytes = b"\r\n") -> bytes:
    """What a scanner configured with ``fmt`` sends for ``text`` (the simulator's half)."""
    return fmt.prefix + text.encode(fmt.encoding) + fmt.suffix + terminator
