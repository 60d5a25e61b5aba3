"""Errors raised by the QR/barcode scanner drivers.

Each names the scanner's port or URL and says what to try next::

    ScannerError                        drivers.errors.DriverError
    ├── ScannerConfigError              also ConfigError: an option that cannot work
    ├── ScannerUnavailable              also PortUnavailable: the port cannot be opened
    ├── ScannerGone                     also DeviceGone: the port vanished (USB pulled)
    ├── BadCode                         also FrameError: a line that is not a code
    │                                   (``reason``: not_text, control, overlong, unterminated)
    └── BadFrame                        also ValueError: an "image" that is not one

Camera-based scanning raises the camera's errors (``drivers.camera.errors``) unchanged.
"""
from __future__ import annotations

from drivers.errors import ConfigError, DeviceGone, DriverError, FrameError, PortUnavailable


class ScannerError(DriverError):
    """Base of everything the scanner drivers raise."""


class ScannerConfigError(ScannerError, ConfigError):
    """A scanner option that cannot work."""


class ScannerUnavailable(ScannerError, PortUnavailable):
    """The scanner's port cannot be opened."""


class ScannerGone(ScannerError, DeviceGone):
    """The scanner's port was open and vanished."""


class BadCode(ScannerError, FrameError):
    """A line from the scanner that is not a usable code; dropped and counted."""

    def __init__(self, message: str, *, reason: str, hint: str = "", port: str = "") -> None:
        self.reason = reason  # not_text | control | overlong | unterminated
        super().__init__(message, hint=hint, port=port)


class BadFrame(ScannerError, ValueError):
    """decode_qr() was given something that is not an image array."""
