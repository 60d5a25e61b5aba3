"""Errors of the PC/SC reader driver (:mod:`drivers.idcard.pcsc`) and of the
virtual card (:mod:`drivers.idcard.vcard`).

Each also subclasses the matching class of :mod:`drivers.errors`, so a caller can
catch "any PC/SC problem" or "any timeout of any driver"::

    PcscError (DriverError)
    ├── PcscServiceUnavailable   + PortUnavailable   pcscd not running / socket unreachable
    ├── ReaderNotFound           + PortUnavailable   no reader, or none matches the configured name
    ├── ReaderBusy               + PortUnavailable   another program holds the card exclusively
    ├── ReaderGone               + DeviceGone        the reader vanished during an operation
    ├── CardRemoved              + DeviceGone        the card left the reader during an operation
    ├── NoCard                   + DeviceFault       an operation needs a card and there is none
    ├── CardUnresponsive         + DeviceFault       a card is there but does not answer (mute)
    ├── CardTimeout              + DeviceTimeout     no card inserted / not removed in time
    ├── PcscFailure              + DeviceFault       any other PC/SC error (its code is kept)
    └── ApduError                + DeviceFault       the card answered a status word other than 90 00
        ├── WrongLength                   67 00
        ├── SecurityNotSatisfied          69 82
        ├── CommandNotAllowed             69 86
        ├── FileNotFound                  6A 82
        ├── WrongParameters               6A 86, 6B 00
        ├── InstructionNotSupported       6D 00
        └── ClassNotSupported             6E 00
    VpcdError                    + FrameError        bytes that break vpcd's wire framing

Messages come Chinese first (a resident may see them on the kiosk), then English in
parentheses naming the reader; ``hint`` is for the maintainer.
"""
from __future__ import annotations

from drivers.errors import (DeviceFault, DeviceGone, DeviceTimeout, DriverError, FrameError,
                            PortUnavailable)


class PcscError(DriverError):
    """Base of every PC/SC driver error."""


class PcscServiceUnavailable(PcscError, PortUnavailable):
    """pcscd is not running, or its socket cannot be reached."""


class ReaderNotFound(PcscError, PortUnavailable):
    """No reader at all, or none whose name contains the configured text."""


class ReaderBusy(PcscError, PortUnavailable):
    """Another program holds the card in exclusive mode."""


class ReaderGone(PcscError, DeviceGone):
    """The reader vanished during an operation (USB pulled)."""


class CardRemoved(PcscError, DeviceGone):
    """The card was taken away during an operation."""


class NoCard(PcscError, DeviceFault):
    """An operation needs a card on the reader and there is none."""


class CardUnresponsive(PcscError, DeviceFault):
    """A card is on the reader but does not answer (mute, upside down, unsupported)."""


class CardTimeout(PcscError, DeviceTimeout):
    """No card arrived (or the card was not taken away) within the timeout."""


class PcscFailure(PcscError, DeviceFault):
    """Any other PC/SC error; ``code`` is the SCARD_* value."""

    def __init__(self, message: str, *, code: int = 0, hint: str = "", port: str = "") -> None:
        self.code = code
        super().__init__(message, hint=hint, port=port)


class ApduError(PcscError, DeviceFault):
    """The card answered a status word other than 90 00. ``sw`` is SW1SW2 as one int."""

    def __init__(self, message: str, *, sw: int, data: bytes = b"", hint: str = "",
                 port: str = "") -> None:
        self.sw = sw
        self.data = data
        super().__init__(message, hint=hint, port=port)


class WrongLength(ApduError):
    """67 00: wrong length (Lc or Le)."""


class SecurityNotSatisfied(ApduError):
    """69 82: security status not satisfied (PIN or authentication needed)."""


class CommandNotAllowed(ApduError):
    """69 86: command not allowed (e.g. READ BINARY with no file selected)."""


class FileNotFound(ApduError):
    """6A 82: file or application not found."""


class WrongParameters(ApduError):
    """6A 86 / 6B 00: wrong P1 P2 (e.g. an offset beyond the end of the file)."""


class InstructionNotSupported(ApduError):
    """6D 00: instruction code not supported."""


class ClassNotSupported(ApduError):
    """6E 00: class byte not supported."""


class VpcdError(PcscError, FrameError):
    """Bytes that break vpcd's framing (a zero length, an unknown control code)."""
