"""Which scanner a configured URL builds, and ``doctor``'s check of it.

``[scanner] url`` is either a serial transport URL (``serial:///dev/ttyACM0``,
``sim://scanner``, ``socket://…``; see :mod:`drivers.transport`), giving a
:class:`SerialScanner`, a keyboard-wedge scanner's input device
(``evdev:///dev/input/by-id/…-event-kbd``; see :mod:`drivers.scanner.wedge`), giving a
:class:`WedgeScanner`, or a camera URL (``camera://0``, ``file://…``,
``synthetic://…``; see :mod:`drivers.camera.url`), giving a :class:`FrameScanner`.
A bare ``camera:`` means "the appliance's ``[camera]``": the caller passes that
running :class:`Camera` (a V4L2 device streams to one reader) or its URL.
All kinds have ``read_code(timeout)``, iteration, ``close()`` and ``health()``.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from drivers.camera import Camera, CameraError
from drivers.errors import DriverError
from drivers.health import DOWN, OK, Health
from drivers.link import SerialLink
from drivers.scanner.codec import LineCodec, LineFormat
from drivers.scanner.device import SerialScanner
from drivers.scanner.errors import ScannerConfigError
from drivers.scanner.frames import FrameScanner
from drivers.scanner.wedge import WedgeScanner, is_wedge_url, probe

CAMERA_SCHEMES = ("camera", "file", "synthetic")

Scanner = SerialScanner | WedgeScanner | FrameScanner


def is_camera_url(url: str) -> bool:
    return urlsplit(url).scheme in CAMERA_SCHEMES


def is_shared_camera(url: str) -> bool:
    """``camera:`` (or ``camera://``): the appliance's own [camera], not a device of its own."""
    parts = urlsplit(url)
    return parts.scheme == "camera" and not parts.netloc and not parts.path and not parts.query


def _camera_scanner(url: str, camera: Camera | None, camera_url: str | None, **options: object) -> FrameScanner:
    if camera is not None:
        return FrameScanner(camera, **options)  # type: ignore[arg-type]
    if is_shared_camera(url):
        if not camera_url:
            raise ScannerConfigError(f"{url!r} means the appliance's [camera], but none was given",
                                     hint="pass the running Camera (or [camera] url); on the command line "
                                          "give the camera's own URL, e.g. --url camera://0", port=url)
        url = camera_url
    return FrameScanner.from_url(url, **options)


def line_format(*, prefix: str | bytes = b"", suffix: str | bytes = b"", max_length: int = 4096,
                encoding: str = "utf-8") -> LineFormat:
    """A :class:`LineFormat` from config values (strings are encoded as the scanner sends them)."""
    def raw(value: str | bytes) -> bytes:
        return value.encode(encoding) if isinstance(value, str) else value
    return LineFormat(raw(prefix), raw(suffix), max_length, encoding)


def open_scanner(url: str, *, camera: Camera | None = None, camera_url: str | None = None, hold: float = 1.5,
                 baudrate: int = 9600, name: str = "scanner", **line_options: object) -> Scanner:
    """Build (not open) the scanner ``url`` names.

    For camera scanning pass ``camera`` when this process already runs that camera,
    or ``camera_url`` for ``url = "camera:"``. ``line_options`` (prefix, suffix,
    max_length, encoding) apply to serial scanners."""
    if is_camera_url(url):
        return _camera_scanner(url, camera, camera_url, hold=hold, name=name)
    if is_wedge_url(url):
        return WedgeScanner(url, name=name)
    return SerialScanner(url, fmt=line_format(**line_options), baudrate=baudrate,  # type: ignore[arg-type]
                         name=name)


def health(url: str, *, name: str = "scanner", camera_url: str | None = None, **options: object) -> Health:
    """``doctor``'s check: a serial scanner's port opens; a camera scanner grabs and
    decodes frames for about a second. Run it while the owning daemon is stopped."""
    if is_camera_url(url):
        try:
            scanner = _camera_scanner(url, None, camera_url, name=name)
        except DriverError as exc:  # ScannerConfigError, or the camera URL's own CameraConfigError
            return Health(name, url, DOWN, exc.message, fix=exc.hint)
        try:
            scanner.open()
            until = time.monotonic() + 1.0  # long enough to measure the frame rate
            while (left := until - time.monotonic()) > 0:
                scanner.read_code(timeout=left)
            return scanner.health()
        except CameraError as exc:
            return Health(name, url, DOWN, exc.message, fix=exc.hint)
        finally:
            scanner.close()
    if is_wedge_url(url):
        return probe(url, name=name)
    baudrate = options.get("baudrate", 9600)
    try:
        with SerialLink(url, LineCodec(), name=name, baudrate=int(baudrate)) as link:  # type: ignore[arg-type]
            port = link.port_name
    except DriverError as exc:
        return Health(name, url, DOWN, exc.message, fix=exc.hint)
    return Health(name, url, OK, f"port {port} opens; a scanner only talks when it scans",
                  data={"port": port, "test": f"python -m drivers.scanner --url {url} listen --count 1"})

