"""Scanning QR codes with a camera: :class:`FrameScanner` watches a
:class:`~drivers.camera.Camera` and yields each code once.

A person holds a code in front of the camera for a second or two, so the same
code is in dozens of frames. It is yielded when it first appears and then not
again until it has been out of view for ``hold`` seconds; a frame or two where the
decoder misses it (glare, motion blur) is shorter than ``hold`` and does not
count as leaving. Two different codes in view are each yielded once.

Decoding runs in the caller's thread on the newest frame, skipping any that came
while it was busy, so a slow decode never builds a queue.
"""
from __future__ import annotations

import collections
import logging
import time
from typing import Callable, Iterator

import numpy as np

from drivers.camera import Camera, CameraError, CameraGone, CameraTimeout, CameraUnavailable
from drivers.health import Health
from drivers.scanner.qr import QRCode, decode_qr
from drivers.scanner.scanned import ScannedCode

log = logging.getLogger("drivers.scanner")

Decoder = Callable[[np.ndarray], list[QRCode]]


class FrameScanner:
    def __init__(self, camera: Camera, *, hold: float = 1.5, decode: Decoder = decode_qr,
                 own_camera: bool = False, name: str = "scanner") -> None:
        self.camera = camera
        self.hold = hold  # seconds a code must be out of view before it counts again
        self.name = name
        self.url = camera.url
        self._decode = decode
        self._own_camera = own_camera  # built from a URL here: start and stop it too
        self._seen: dict[str, float] = {}  # code text → last time it was in a frame
        self._ready: collections.deque[ScannedCode] = collections.deque()
        self._seq = 0
        self.frames_decoded = 0
        self.decode_seconds = 0.0  # total, for the mean in health()
        self.codes_read = 0
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: object) -> "FrameScanner":
        return cls(Camera(url, name="scanner camera"), own_camera=True, **options)  # type: ignore[arg-type]

    def open(self) -> "FrameScanner":
        self._closed = False
        if self._own_camera:
            self.camera.start()  # raises CameraUnavailable naming the URL
        return self

    def close(self) -> None:
        self._closed = True
        if self._own_camera:
            self.camera.stop()

    def __enter__(self) -> "FrameScanner":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------
    def read_code(self, timeout: float | None = None) -> ScannedCode | None:
        """The next new code within ``timeout`` seconds (``None``: forever), else
        ``None``. Raises the camera's :class:`CameraGone` / :class:`CameraUnavailable`
        when it stays down for the whole timeout."""
        deadline = float("inf") if timeout is None else time.monotonic() + timeout
        down: CameraError | None = None
        while not self._ready:
            left = deadline - time.monotonic()
            if self._closed:
                return None
            if left <= 0:
                if down is not None:
                    raise down
                return None
            try:
                frame = self.camera.wait_for_next(self._seq, min(left, 1.0))
            except CameraTimeout:
                continue
            except (CameraGone, CameraUnavailable) as exc:  # may come back within the timeout
                down = exc
                continue
            down = None
            self._seq = frame.seq
            self.scan_frame(frame.image, frame.at)
        return self._ready.popleft()

    def scan_frame(self, image: np.ndarray, at: float | None = None) -> list[ScannedCode]:
        """Decode one frame and return (and queue) the codes that are new in it."""
        now = time.monotonic() if at is None else at
        started = time.perf_counter()
        found = self._decode(image)
        self.decode_seconds += time.perf_counter() - started
        self.frames_decoded += 1
        new = []
        for code in found:
            last = self._seen.get(code.text)
            self._seen[code.text] = now
            if last is None or now - last > self.hold:
                new.append(ScannedCode(code.text, "camera", now, corners=code.corners))
        for text, last in list(self._seen.items()):  # forget codes gone long enough
            if now - last > self.hold:
                del self._seen[text]
        self.codes_read += len(new)
        self._ready.extend(new)
        return new

    def __iter__(self) -> Iterator[ScannedCode]:
        return self.codes()

    def codes(self, poll: float = 0.5) -> Iterator[ScannedCode]:
        """Yield new codes until :meth:`close`; camera outages are ridden over."""
        while not self._closed:
            try:
                code = self.read_code(poll)
            except (CameraGone, CameraUnavailable) as exc:
                log.debug("%s: %s", self.name, exc)  # the camera logs the outage itself
                continue
            except CameraError:
                return  # a file ended, or the camera was stopped
            if code is not None:
                yield code

    # -- doctor ----------------------------------------------------------------------
    def health(self) -> Health:
        """The camera's health, with decoding figures added."""
        base = self.camera.health()
        mean = self.decode_seconds / self.frames_decoded * 1000 if self.frames_decoded else None
        data = {**base.data, "frames_decoded": self.frames_decoded, "codes": self.codes_read,
                "decode_ms": round(mean, 1) if mean is not None else None}
        detail = base.detail + (f"; decoding {mean:.0f} ms a frame" if mean is not None else "")
        return Health(self.name, self.url, base.state, detail, fix=base.fix, data=data)
