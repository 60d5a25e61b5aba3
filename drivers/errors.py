"""Errors raised by drivers.

Every driver error names the device and the port, and says what to try next::

    DriverError                      base of everything a driver raises
    ├── ConfigError                  a device URL or option that cannot work
    ├── TransportError               the port cannot be used
    │   ├── PortUnavailable          cannot open (missing, no permission, busy)
    │   └── DeviceGone               was open, then vanished (USB pulled, pty closed)
    ├── DeviceTimeout                no (complete) reply in time
    ├── FrameError                   a frame that fails validation (checksum, length, header)
    └── DeviceFault                  the device answered and reported a fault

Device packages subclass these (``drivers.lockboard.errors`` and so on) so a caller
can catch one device kind or all drivers at once.
"""
from __future__ import annotations


class DriverError(Exception):
    """Base of every driver error. ``hint`` tells a person what to do next."""

    def __init__(self, message: str, *, hint: str = "", port: str = "") -> None:
        self.message = message
        self.hint = hint
        self.port = port
        super().__init__(message + (f" — {hint}" if hint else ""))


class ConfigError(DriverError):
    """A device URL or option that cannot work."""


class TransportError(DriverError):
    """The port cannot be used."""


class PortUnavailable(TransportError):
    """The port cannot be opened: missing, no permission, or busy."""


class DeviceGone(TransportError):
    """The port was open and vanished (USB pulled, simulator closed)."""


class DeviceTimeout(DriverError):
    """No complete reply within the timeout."""


class FrameError(DriverError):
    """A frame failed validation: header, length, checksum or address."""


class DeviceFault(DriverError):
    """The device answered and reported a fault."""
