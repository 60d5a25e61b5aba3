"""The synthetic picture source: the camera's simulator.

``synthetic://`` generates a moving test picture (colour bars with a sweeping bar
and a frame counter), so the camera path runs with no hardware. With
``pattern=qr&text=…``, or after :meth:`SyntheticSource.show_code` at run time, a QR
code sits still in the middle of the picture, so the whole scan path (grab →
decode → debounce) runs end to end.

Tests use its faults instead of mocking the camera: :meth:`stall` (a read that
hangs, like a wedged USB camera) and :meth:`unplug` / :meth:`replug`.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np
import qrcode

from drivers.camera.errors import CameraUnavailable
from drivers.camera.url import CameraURL

BARS = [(255, 255, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0),
        (255, 0, 255), (0, 0, 255), (255, 0, 0), (16, 16, 16)]  # BGR, the usual order


def render_qr(text: str, side: int) -> np.ndarray:
    """A black-on-white QR code of ``text`` with its quiet zone, at most ``side`` px
    square, whole pixels per module so edges stay sharp for the decoder."""
    code = qrcode.QRCode(border=4, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    modules = np.array(code.get_matrix(), dtype=bool)
    box = max(1, side // modules.shape[0])
    gray = np.where(modules, 0, 255).astype(np.uint8)
    gray = np.repeat(np.repeat(gray, box, axis=0), box, axis=1)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


class SyntheticSource:
    def __init__(self, url: CameraURL) -> None:
        self.url = url
        self.width = url.width or 640
        self.height = url.height or 480
        self.paced_fps: float | None = url.fps or 15.0
        self.ended = False
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._unplugged = False
        self._open = False
        self._count = 0
        self._background = self._bars()
        self._code: np.ndarray | None = None
        self.code_text: str | None = None
        if url.pattern == "qr" and url.params.get("text"):
            self.show_code(url.params["text"])

    # -- source protocol -----------------------------------------------------------
    def open(self) -> None:
        if self._unplugged:
            raise CameraUnavailable(f"cannot open {self.url.raw}: unplugged (simulated)",
                                    hint="call replug() on the synthetic source", port=self.url.raw)
        self._open = True

    def read(self) -> np.ndarray | None:
        self._flowing.wait()
        if self._unplugged or not self._open:
            return None
        self._count += 1
        return self._draw(self._count)

    def close(self) -> None:
        self._open = False

    def interrupt(self) -> None:
        self._flowing.set()  # stop() must not wait on a stalled test source

    def describe(self) -> dict[str, object]:
        return {"backend": "synthetic", "width": self.width, "height": self.height,
                "nominal_fps": self.paced_fps, "code": self.code_text}

    # -- run-time controls -----------------------------------------------------------
    def show_code(self, text: str | None) -> None:
        """Show ``text`` as a QR code from the next frame on; ``None`` removes it."""
        image = None if not text else render_qr(text, int(min(self.width, self.height) * 0.7))
        with self._lock:
            self._code, self.code_text = image, text or None

    def stall(self) -> None:
        """The next read hangs until :meth:`resume` (a wedged camera)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def unplug(self) -> None:
        """Reads fail and reopening fails until :meth:`replug`."""
        self._unplugged = True

    def replug(self) -> None:
        self._unplugged = False

    # -- drawing ---------------------------------------------------------------------
    def _bars(self) -> np.ndarray:
        image = np.empty((self.height, self.width, 3), np.uint8)
        edges = np.linspace(0, self.width, len(BARS) + 1).astype(int)
        for colour, left, right in zip(BARS, edges, edges[1:]):
            image[:, left:right] = colour
        return image

    def _draw(self, n: int) -> np.ndarray:
        image = self._background.copy()
        sweep = (n * 8) % self.width  # moves, so a frozen picture is visible at a glance
        image[:, sweep:sweep + max(4, self.width // 40)] = (128, 128, 128)
        cv2.putText(image, f"{n:06d}", (8, self.height - 10), cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.4, self.height / 800), (0, 0, 0), 2, cv2.LINE_AA)
        with self._lock:
            code = self._code
        if code is not None:
            h, w = code.shape[:2]
            top, left = (self.height - h) // 2, (self.width - w) // 2
            image[top:top + h, left:left + w] = code
        return image
