"""Picture sources behind a :class:`~drivers.camera.device.Camera`: the only place
in the project that calls ``cv2.VideoCapture``.

A source opens, reads one BGR frame at a time, and closes. It does no threading
and keeps no frames: the camera's grabber thread owns the loop, pacing and
reconnecting. ``read()`` returns ``None`` for a failed read; the grabber decides
when repeated failures mean the camera is gone.
"""
from __future__ import annotations

import logging
import os
from typing import Protocol

import cv2
import numpy as np

from drivers.camera.errors import DEVICE_HINT, CameraUnavailable
from drivers.camera.url import CameraURL, parse_camera_url

log = logging.getLogger("drivers.camera")

# A stalled V4L2 read otherwise waits OpenCV's default 10 s, which is also how long
# stop() would wait to join the grabber. Two seconds is many frame times.
READ_TIMEOUT_MS = 2000


class FrameSource(Protocol):
    url: CameraURL
    paced_fps: float | None  # the grabber paces reads to this; None: read() waits on the device
    ended: bool  # a file without loop=1 has played to its end

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...

    def interrupt(self) -> None: ...

    def describe(self) -> dict[str, object]: ...


def open_source(url: str | CameraURL) -> FrameSource:
    """Build (not open) the source a camera URL names."""
    parsed = url if isinstance(url, CameraURL) else parse_camera_url(url)
    if parsed.kind == "device":
        return DeviceSource(parsed)
    if parsed.kind == "file":
        return FileSource(parsed)
    from drivers.camera.synthetic import SyntheticSource

    return SyntheticSource(parsed)


def _check_node(url: CameraURL, path: str, *, what: str) -> None:
    """Say why a path cannot be opened before OpenCV does: it only answers "failed"."""
    if not os.path.exists(path):
        hint = DEVICE_HINT if url.is_real_camera else "check the path in the config"
        raise CameraUnavailable(f"cannot open {url.raw}: no such {what} {path}", hint=hint, port=url.raw)
    if not os.access(path, os.R_OK | (os.W_OK if url.is_real_camera else 0)):
        hint = ("add this service's user to group video (or install the udev rules)"
                if url.is_real_camera else f"make {path} readable by this service's user")
        raise CameraUnavailable(f"cannot open {url.raw}: permission denied on {path}", hint=hint, port=url.raw)


class _CaptureSource:
    """What device and file sources share: one ``cv2.VideoCapture``."""

    paced_fps: float | None = None

    def __init__(self, url: CameraURL) -> None:
        self.url = url
        self.ended = False
        self._cap: cv2.VideoCapture | None = None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def interrupt(self) -> None:
        """Nothing to do: a capture read returns within READ_TIMEOUT_MS."""

    def _read_once(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        try:
            ok, frame = self._cap.read()
        except cv2.error as exc:  # a driver hiccup is a failed read, not a crash
            log.debug("%s: read raised %s", self.url.raw, exc)
            return None
        return frame if ok and frame is not None and frame.size else None

    def describe(self) -> dict[str, object]:
        cap = self._cap
        if cap is None:
            return {"backend": None}
        return {"backend": cap.getBackendName(),
                "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                "nominal_fps": round(float(cap.get(cv2.CAP_PROP_FPS)), 2)}


class DeviceSource(_CaptureSource):
    """A V4L2 camera: ``camera://N`` or ``camera:///dev/...``."""

    def open(self) -> None:
        url = self.url
        _check_node(url, url.device_path, what="device")
        target: int | str = url.index if url.index is not None else url.device_path
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable(f"cannot open {url.raw} ({url.device_path}): busy or not a capture device",
                                    hint=DEVICE_HINT, port=url.raw)
        # Requests, not guarantees: the camera picks its nearest mode; describe() reports it.
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, url.width), (cv2.CAP_PROP_FRAME_HEIGHT, url.height),
                            (cv2.CAP_PROP_FPS, url.fps), (cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS)):
            if value is not None:
                cap.set(prop, float(value))
        self._cap = cap
        self.ended = False

    def read(self) -> np.ndarray | None:
        return self._read_once()


class FileSource(_CaptureSource):
    """A video file played at its own frame rate (or ``fps=``), looped with ``loop=1``."""

    def open(self) -> None:
        url = self.url
        _check_node(url, url.path, what="file")
        cap = cv2.VideoCapture(url.path, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable(f"cannot open {url.raw}: not a video OpenCV can read",
                                    hint="use an .mp4 (H.264/MPEG-4) or .avi (MJPEG) file", port=url.raw)
        self._cap = cap
        self.ended = False
        nominal = float(cap.get(cv2.CAP_PROP_FPS) or 0)
        self.paced_fps = url.fps or (nominal if 0 < nominal <= 240 else 25.0)

    def read(self) -> np.ndarray | None:
        frame = self._read_once()
        if frame is not None or self._cap is None:
            return frame
        if not self.url.loop:
            self.ended = True
            return None
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        return self._read_once()  # None again: a broken file, counted as a failed read
