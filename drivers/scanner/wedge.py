"""The keyboard-wedge scanner a caller uses: codes from a USB HID scanner in keyboard
mode, read from its Linux input device, with the same interface as
:class:`~drivers.scanner.device.SerialScanner` (``read_code``, iteration, ``health``).

Configured by URL::

    evdev:///dev/input/by-id/usb-SCANNER-event-kbd[?grab=1&line_timeout=0.5&max_length=4096]

The device is grabbed (``EVIOCGRAB``) while open, so its keystrokes reach this reader
only, never the kiosk's screen or a console; ``grab=0`` leaves them to others too (a
desk test). Events are decoded by :mod:`drivers.scanner.wedge_codec`. A path that is
not an input device (the simulator's pseudo-terminal, a pipe) is read the same way;
there is nothing to grab, and ``health`` says so.

A vanished device (USB pulled: ``ENODEV``; the simulator gone: ``EIO`` or end of
file) raises :class:`ScannerGone` naming the path, once; later calls reopen it with a
growing back-off, raising :class:`ScannerUnavailable` while it stays away, as the
serial scanner does. Permission to read ``/dev/input/event*`` is the ``input``
group's; the ``/dev/input/by-id/`` name stays the same across replugging.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import stat
import termios
import threading
import time
from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from drivers.health import DEGRADED, DOWN, OK, Health
from drivers.scanner.errors import BadCode, ScannerConfigError, ScannerGone, ScannerUnavailable
from drivers.scanner.reader import CodeReader
from drivers.scanner.scanned import ScannedCode
from drivers.scanner.wedge_codec import EVENT, WedgeCodec

log = logging.getLogger("drivers.scanner")

SCHEME = "evdev"
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int)
INPUT_MAJOR = 13  # /dev/input/event*
_OPTIONS = ("grab", "line_timeout", "max_length")
_EXAMPLE = "write e.g. evdev:///dev/input/by-id/usb-SCANNER-event-kbd"


@dataclass(frozen=True)
class WedgeURL:
    raw: str
    path: str
    grab: bool = True
    line_timeout: float = 0.5
    max_length: int = 4096


def parse_wedge_url(url: str) -> WedgeURL:
    """Parse an ``evdev://`` URL; :class:`ScannerConfigError` naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME or not parts.path.startswith("/") or parts.netloc:
        raise ScannerConfigError(f"{url!r} is not an evdev:// URL with a device path", hint=_EXAMPLE, port=url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(params) - set(_OPTIONS))
    if unknown:
        raise ScannerConfigError(f"unknown option {unknown[0]!r} in {url}", hint=f"known: {', '.join(_OPTIONS)}",
                                 port=url)
    grab = params.get("grab", "1")
    if grab not in ("0", "1"):
        raise ScannerConfigError(f"grab={grab!r} in {url}", hint="grab=1 (keys reach this reader only) or grab=0",
                                 port=url)
    try:
        timeout = float(params.get("line_timeout", 0.5))
        length = int(params.get("max_length", 4096))
        WedgeCodec(max_length=length, line_timeout=timeout)
    except ValueError:
        raise ScannerConfigError(f"line_timeout or max_length in {url} is not a number", port=url) from None
    except ScannerConfigError as exc:
        raise ScannerConfigError(f"{exc.message} in {url}", hint=exc.hint, port=url) from None
    return WedgeURL(url, parts.path, grab == "1", timeout, length)


def is_wedge_url(url: str) -> bool:
    return urlsplit(url).scheme == SCHEME


class WedgeScanner(CodeReader):
    def __init__(self, url: str, *, name: str = "scanner", backoff: tuple[float, float] = (0.1, 5.0)) -> None:
        self.config = parse_wedge_url(url)
        super().__init__(url, name=name, backoff=backoff)
        self.codec = WedgeCodec(max_length=self.config.max_length, line_timeout=self.config.line_timeout)
        self.last_code_bad = False
        self.grabbed = False
        self.input_device = False  # a real /dev/input/event* (else a simulator's stream)
        self._fd = -1
        self._lock = threading.Lock()

    # -- the device --------------------------------------------------------------------
    @property
    def port_name(self) -> str:
        return self.config.path

    @property
    def is_open(self) -> bool:
        return self._fd >= 0

    def open(self) -> Self:
        """Open (and grab) the device now; otherwise the first read does. Raises ScannerUnavailable."""
        return super().open()

    def _close_port(self) -> None:
        with self._lock:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd >= 0:
            try:
                os.close(self._fd)  # closing also releases the grab
            except OSError:
                pass
            self._fd = -1
            self.grabbed = False

    def _open_fd(self) -> None:
        path = self.config.path
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as exc:
            raise ScannerUnavailable(f"cannot open {path}: {_reason(exc)}", hint=_hint(path, exc), port=path) from exc
        try:
            info = os.fstat(fd)
            self.input_device = stat.S_ISCHR(info.st_mode) and os.major(info.st_rdev) == INPUT_MAJOR
            if self.input_device and self.config.grab:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
                self.grabbed = True
            elif os.isatty(fd):
                termios.tcflush(fd, termios.TCIFLUSH)  # an input device hands out nothing typed before open
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.EBUSY:
                raise ScannerUnavailable(f"cannot grab {path}: another program holds it",
                                         hint="only one reader may own the scanner: is a second locker daemon "
                                              "running? (`fuser -v PATH`)", port=path) from exc
            raise ScannerUnavailable(f"cannot set up {path}: {_reason(exc)}", hint=_hint(path, exc), port=path) from exc
        self._fd = fd

    def _open_port(self) -> None:
        with self._lock:
            self._open_fd()
        self.codec.reset()
        log.info("%s: reading %s%s", self.name, self.port_name, " (grabbed)" if self.grabbed else "")

    # -- reading -------------------------------------------------------------------------
    def _read_slice(self, until: float) -> None:
        fd = self._fd
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, until - time.monotonic()))
            data = os.read(fd, EVENT.size * 256) if ready else None
        except BlockingIOError:
            data = None
        except (OSError, ValueError) as exc:  # ENODEV: unplugged; EIO: the simulator's pty closed
            self._gone(f"{exc}")
            return
        now = time.monotonic()
        if data == b"":  # a pipe's writer went away
            self._gone("end of file")
            return
        for item in (self.codec.feed(data, now) if data else self.codec.expire(now)):
            self._take(item, now)

    def _gone(self, why: str) -> None:
        path = self.port_name
        with self._lock:
            self._close_fd()
        raise self._vanished(ScannerGone(f"{self.name} on {path} vanished: {why}",
                                         hint="check the scanner's USB cable; the driver reconnects when it is back",
                                         port=path))

    def _take(self, item: str | BadCode, now: float) -> None:
        if isinstance(item, BadCode):
            self.errors[item.reason] += 1
            self.last_code_bad = True
            log.warning("%s on %s: dropped a code (%s): %s", self.name, self.port_name, item.reason, item.message)
            return
        self.codes_read += 1
        self.last_code_bad = False
        log.debug("%s: code of %d characters", self.name, len(item))  # codes may be secrets
        self._ready.append(ScannedCode(item, "keyboard", now, extra={"port": self.port_name,
                                                                     "grabbed": self.grabbed}))

    # -- doctor ----------------------------------------------------------------------------
    def health(self) -> Health:
        """What this scanner has seen so far (no I/O)."""
        data = {"codes": self.codes_read, "dropped": dict(self.errors), "reconnects": self.reconnects,
                "port": self.port_name, "grabbed": self.grabbed, "input_device": self.input_device}
        if not self.is_open:
            error = self.last_error
            if error is None:
                return Health(self.name, self.url, DEGRADED, "not opened yet", data=data)
            return Health(self.name, self.url, DOWN, error.message, fix=error.hint, data=data)
        how = ("grabbed: its keys reach no other program" if self.grabbed else
               "NOT grabbed (grab=0): its keys also reach the screen" if self.input_device else
               "not an input device (a simulator's stream): nothing to grab")
        detail = (f"reading {self.port_name}, {how}; {self.codes_read} codes read, "
                  f"{sum(self.errors.values())} dropped")
        if self.last_code_bad:
            return Health(self.name, self.url, DEGRADED, detail + "; the last code was dropped",
                          fix="set the scanner to the US keyboard layout with Enter as its suffix", data=data)
        if self.input_device and not self.grabbed:
            return Health(self.name, self.url, DEGRADED, detail, fix="set grab=1 in [scanner] url", data=data)
        return Health(self.name, self.url, OK, detail, data=data)


def probe(url: str, *, name: str = "scanner") -> Health:
    """``doctor``'s check: the device opens (and is grabbed), then let go."""
    try:
        scanner = WedgeScanner(url, name=name)
    except ScannerConfigError as exc:
        return Health(name, url, DOWN, exc.message, fix=exc.hint)
    try:
        scanner.open()
    except ScannerUnavailable as exc:
        return Health(name, url, DOWN, exc.message, fix=exc.hint)
    try:
        health = scanner.health()
    finally:
        scanner.close()
    return Health(health.device, url, health.state,
                  health.detail.split(";")[0] + "; a scanner only types when it scans", health.fix,
                  {**health.data, "test": f"python -m drivers.scanner --url {url} listen --count 1"})


def _reason(exc: OSError) -> str:
    return {errno.ENOENT: "no such device", errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.ENODEV: "device gone"}.get(exc.errno or 0, exc.strerror or str(exc))


def _hint(path: str, exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return ("check the cable and the name: `ls -l /dev/input/by-id/` lists keyboards as …-event-kbd "
                "(a name that stays the same across replugging)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"add this service's user to the group owning {path} (usually input), or install the udev rules"
    return "check [scanner] url"
