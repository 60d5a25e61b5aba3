"""Errors raised by the lock-board driver.

Each one is also the matching :mod:`drivers.errors` class, so a caller may catch
"any lock-board trouble" or "any driver timeout" alike::

    LockboardError(DriverError)              anything drivers.lockboard raises
    ├── LockboardConfigError(ConfigError)    a protocol name, address, door number or
    │                                        board description that cannot work
    ├── LockboardFrameError(FrameError)      bytes that are not a valid frame of the
    │                                        family (header, length, checksum, field)
    ├── LockBusUnavailable(PortUnavailable)  the bus's port cannot be opened
    └── LockBusGone(DeviceGone)              the bus's port vanished mid-use

Deliberately absent: an "unlock failed" error. An unlock whose reply is missing or
does not show the door open is not an exception but an :class:`UnlockResult` with
outcome ``unknown`` (see ``device.py``): the door may well be open, and the caller
must record what was asked and what was seen, separately. A board that does not
answer a status query is reported as offline in the returned status, not raised.
"""
from __future__ import annotations

from drivers.errors import ConfigError, DeviceGone, DriverError, FrameError, PortUnavailable


class LockboardError(DriverError):
    """Base of every error of :mod:`drivers.lockboard`."""


class LockboardConfigError(LockboardError, ConfigError):
    """A protocol, address, door number or board description that cannot work."""


class LockboardFrameError(LockboardError, FrameError):
    """Bytes that are not a valid frame: wrong header, length, checksum or field."""


class LockBusUnavailable(LockboardError, PortUnavailable):
    """The bus's port cannot be opened (missing, no permission, busy)."""


class LockBusGone(LockboardError, DeviceGone):
    """The bus's port was open and vanished (USB adapter pulled, simulator gone)."""
