"""Errors raised by the camera driver.

Each names the camera URL (``port``) and says what to try next::

    CameraError                         drivers.errors.DriverError
    ├── CameraConfigError               also ConfigError: a camera URL that cannot work
    ├── CameraUnavailable               also PortUnavailable: cannot open (no device, no file,
    │                                   no permission, busy)
    ├── CameraGone                      also DeviceGone: was streaming, then reads kept failing
    ├── CameraTimeout                   also DeviceTimeout: no new frame in time
    ├── CameraEnded                     a file source reached its end (``loop=0``)
    └── CameraNotRunning                ``start()`` was not called (or ``stop()`` was)
"""
from __future__ import annotations

from drivers.errors import ConfigError, DeviceGone, DeviceTimeout, DriverError, PortUnavailable

# What a person should check when a real camera cannot be read. Shared by the
# "cannot open" and "vanished" errors because the causes overlap.
DEVICE_HINT = ("check the USB cable and that the camera shows up (ls /dev/video*); "
               "the service's user must be in group video (or install the udev rules); "
               "only one program may stream from a camera at a time")


class CameraError(DriverError):
    """Base of everything the camera driver raises."""


class CameraConfigError(CameraError, ConfigError):
    """A camera URL or option that cannot work."""


class CameraUnavailable(CameraError, PortUnavailable):
    """The camera or video file cannot be opened."""


class CameraGone(CameraError, DeviceGone):
    """The camera was streaming and reads kept failing (unplugged, driver reset)."""


class CameraTimeout(CameraError, DeviceTimeout):
    """No new frame arrived within the timeout."""


class CameraEnded(CameraError):
    """A video file without ``loop=1`` played to its end."""


class CameraNotRunning(CameraError):
    """Frames were asked for while the grabber is not running."""
