"""A short look at a camera for ``doctor`` and the CLI: open, grab a few frames,
measure, close. Nothing is kept: the frames are dropped with the camera."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from drivers.camera.device import Camera
from drivers.camera.errors import CameraError
from drivers.health import DOWN, OK, Health


@dataclass(frozen=True)
class ProbeResult:
    url: str
    width: int
    height: int
    frames: int  # frames grabbed
    fps: float | None  # measured
    open_ms: float  # how long opening took
    source: dict[str, Any]  # backend, nominal size and rate as the source reports them

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        rate = f"{self.fps:.1f} frames/s" if self.fps else "rate unknown"
        return (f"{self.url}: {self.width}x{self.height}, {rate} measured over {self.frames} frames "
                f"(opened in {self.open_ms:.0f} ms, backend {self.source.get('backend')})")


def probe(url: str, *, frames: int = 10, timeout: float = 5.0, name: str = "camera") -> ProbeResult:
    """Open ``url``, grab at least ``frames`` frames (the grabber runs on: the newest
    may be a later one), report size and rate. Raises CameraError."""
    camera = Camera(url, name=name)
    started = time.monotonic()
    camera.start()
    try:
        open_ms = (time.monotonic() - started) * 1000
        deadline = time.monotonic() + timeout
        frame = camera.wait_for_next(0, timeout)
        while frame.seq < frames:
            frame = camera.wait_for_next(frame.seq, max(0.01, deadline - time.monotonic()))
        height, width = frame.image.shape[:2]
        return ProbeResult(url, width, height, frame.seq, camera.fps, open_ms, camera.source.describe())
    finally:
        camera.stop()


def health(url: str, *, frames: int = 5, timeout: float = 3.0, name: str = "camera") -> Health:
    """``doctor``'s check of a configured camera (opens it: run it while the kiosk
    is stopped, or the running kiosk holds the device and this reports busy)."""
    try:
        result = probe(url, frames=frames, timeout=timeout, name=name)
    except CameraError as exc:
        return Health(name, url, DOWN, exc.message, fix=exc.hint, data={"error": type(exc).__name__})
    rate = f" at {result.fps:.1f} frames/s" if result.fps else ""
    return Health(name, url, OK, f"{result.width}x{result.height}{rate}", data=result.as_dict())
