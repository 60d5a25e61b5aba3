"""Errors of the resident ID card reader (SAM serial protocol).

Messages are Chinese first, then English; ``hint`` says what to do next::

    drivers.errors.DriverError
    └── IdCardError                      anything the SAM reader driver raises itself
        ├── IdCardFrameError  (FrameError)   bytes that are not a valid SAM frame
        │   └── ReplyCut                     a reply started and stopped short or garbled
        ├── NoCard            (DeviceFault)  no card found within the find window
        ├── CardMoved         (DeviceFault)  the card left during the read: place it again
        ├── SamError          (DeviceFault)  the SAM answered with a failure code (``code``)
        ├── BadRecord         (DeviceFault)  the card's text block cannot be a resident's
        │   └── InvalidIdNumber              ID number fails GB 11643, or disagrees with
        │                                    the text block's birth date or sex
        └── WltError                         turning the WLT photo into an image
            ├── DecoderUnavailable (ConfigError)  no decoder, or the library cannot load
            └── WltDecodeFailed                   the decoder refused these bytes

Transport problems stay the shared ones: ``PortUnavailable``, ``DeviceGone``,
``DeviceTimeout`` from :mod:`drivers.errors`.
"""
from __future__ import annotations

from drivers.errors import ConfigError, DeviceFault, DriverError, FrameError


class IdCardError(DriverError):
    """Base of the SAM reader's own errors."""


class IdCardFrameError(IdCardError, FrameError):
    """Bytes that are not a valid SAM frame (preamble, length, checksum, layout)."""


class ReplyCut(IdCardFrameError):
    """A reply began and then stopped short, or arrived garbled (failed checksum)."""


class NoCard(IdCardError, DeviceFault):
    """No card on the reader within the find window."""

    def __init__(self, port: str = "", *, waited: float = 0.0) -> None:
        super().__init__("未检测到身份证 / no ID card on the reader",
                         hint=f"请将身份证平放在读卡区 / place the card flat on the reader (waited {waited:.1f} s)",
                         port=port)


class CardMoved(IdCardError, DeviceFault):
    """The card left the field during find → select → read; nothing of it is returned."""

    def __init__(self, port: str = "", *, stage: str = "", code: int | None = None) -> None:
        self.stage = stage
        self.code = code
        detail = f" ({stage}" + (f", SW3 {code:02X}" if code is not None else "") + ")" if stage else ""
        super().__init__(f"身份证被移动，请重新放置 / card moved, place it again{detail}",
                         hint="请将身份证放好，读卡完成前不要移动 / keep the card still until the read completes",
                         port=port)


class SamError(IdCardError, DeviceFault):
    """The SAM answered with a failure status word (SW3); ``code`` holds it."""

    def __init__(self, code: int, zh: str, en: str, *, hint: str = "", port: str = "",
                 command: str = "") -> None:
        self.code = code
        self.command = command
        where = f" [{command}]" if command else ""
        super().__init__(f"安全模块错误 {code:02X}：{zh} / SAM error {code:02X}: {en}{where}",
                         hint=hint, port=port)


class BadRecord(IdCardError, DeviceFault):
    """The text block read from the card cannot be a resident's (a reader fault)."""

    def __init__(self, message: str, *, hint: str = "", port: str = "") -> None:
        super().__init__(message, hint=hint or "请重新放置身份证；反复出现请联系工作人员 / "
                                               "place the card again; if it repeats, ask staff (reader fault)",
                         port=port)


class InvalidIdNumber(BadRecord):
    """The ID number fails its GB 11643 check, or disagrees with the text block."""


class WltError(IdCardError):
    """Turning the card's WLT photo into an image failed."""


class DecoderUnavailable(WltError, ConfigError):
    """No WLT decoder is configured, or the configured one cannot be loaded."""


class WltDecodeFailed(WltError):
    """The decoder ran and refused these WLT bytes."""
