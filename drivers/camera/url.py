"""Camera URLs: which picture source a configured URL names, and its options.

======================================================  =====================================
``camera://0?width=1280&height=720&fps=15``             V4L2 device by index (/dev/video0)
``camera:///dev/v4l/by-id/usb-…-video-index0``          V4L2 device by path (stable across
                                                        replugging, unlike an index)
``file:///srv/demo/video.mp4?loop=1&fps=15``            a video file, optionally looped, paced
                                                        at its own frame rate or ``fps``
``synthetic://?width=640&height=480&fps=15&pattern=qr   a generated moving test picture;
&text=HELLO``                                           ``pattern=qr`` shows ``text`` as a QR
======================================================  =====================================

An unknown option is an error, not ignored, so a typo in the config stops start-up
with a message naming it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from drivers.camera.errors import CameraConfigError

KINDS = {"camera": "device", "file": "file", "synthetic": "synthetic"}
OPTIONS = {
    "device": {"width", "height", "fps"},
    "file": {"loop", "fps"},
    "synthetic": {"width", "height", "fps", "pattern", "text"},
}
PATTERNS = ("bars", "qr")


@dataclass(frozen=True)
class CameraURL:
    raw: str
    kind: str  # "device" | "file" | "synthetic"
    index: int | None = None  # camera://N
    path: str = ""  # camera:///dev/… or file:///…
    params: dict[str, str] = field(default_factory=dict)

    @property
    def is_real_camera(self) -> bool:
        """True for a physical camera: its frames are personal data."""
        return self.kind == "device"

    @property
    def device_path(self) -> str:
        """The /dev node a device URL names (for messages and permission checks)."""
        return self.path or f"/dev/video{self.index}"

    def _number(self, key: str, kind: type, low: float, high: float) -> float | int | None:
        value = self.params.get(key)
        if value is None or value == "":
            return None
        try:
            number = kind(value)
        except ValueError:
            raise CameraConfigError(f"{key}={value!r} in {self.raw} is not a number",
                                    hint=f"write e.g. {key}={kind(high) // 4 or 1}", port=self.raw) from None
        if not low <= number <= high:
            raise CameraConfigError(f"{key}={value} in {self.raw} is out of range ({low:g}–{high:g})",
                                    port=self.raw)
        return number

    @property
    def width(self) -> int | None:
        return self._number("width", int, 16, 7680)  # type: ignore[return-value]

    @property
    def height(self) -> int | None:
        return self._number("height", int, 16, 4320)  # type: ignore[return-value]

    @property
    def fps(self) -> float | None:
        return self._number("fps", float, 0.1, 240)  # type: ignore[return-value]

    @property
    def loop(self) -> bool:
        value = self.params.get("loop", "0").lower()
        if value not in ("0", "1", "true", "false", "yes", "no", ""):
            raise CameraConfigError(f"loop={value!r} in {self.raw} is not a yes/no", hint="write loop=1",
                                    port=self.raw)
        return value in ("1", "true", "yes")

    @property
    def pattern(self) -> str:
        pattern = self.params.get("pattern", "bars")
        if pattern not in PATTERNS:
            raise CameraConfigError(f"pattern={pattern!r} in {self.raw} is unknown",
                                    hint=f"use one of: {', '.join(PATTERNS)}", port=self.raw)
        return pattern

    def validate(self) -> "CameraURL":
        """Touch every option so a bad value fails now, not in the grabber thread."""
        for name in ("width", "height", "fps", "loop", "pattern"):
            getattr(self, name)
        return self


def parse_camera_url(url: str) -> CameraURL:
    """Parse and validate a camera URL; raise :class:`CameraConfigError` naming the problem."""
    if not url or not isinstance(url, str):
        raise CameraConfigError("empty camera URL", hint="set e.g. camera://0 or synthetic://")
    parts = urlsplit(url)
    kind = KINDS.get(parts.scheme)
    if kind is None:
        raise CameraConfigError(f"unknown camera source {parts.scheme!r} in {url}",
                                hint="use camera://0, file:///path/video.mp4 or synthetic://", port=url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(params) - OPTIONS[kind])
    if unknown:
        raise CameraConfigError(f"unknown option {', '.join(unknown)} in {url}",
                                hint=f"{parts.scheme}:// understands {', '.join(sorted(OPTIONS[kind]))}", port=url)
    if kind == "device":
        if parts.netloc:
            if not parts.netloc.isdigit():
                raise CameraConfigError(f"camera index {parts.netloc!r} in {url} is not a number",
                                        hint="write camera://0 or camera:///dev/video0", port=url)
            parsed = CameraURL(url, kind, index=int(parts.netloc), params=params)
        elif parts.path.startswith("/dev/"):
            parsed = CameraURL(url, kind, path=unquote(parts.path), params=params)
        else:
            raise CameraConfigError(f"no camera index or device path in {url}",
                                    hint="write camera://0 or camera:///dev/video0", port=url)
    elif kind == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise CameraConfigError(f"{url} is not an absolute file URL",
                                    hint="write file:///absolute/path/video.mp4 (three slashes)", port=url)
        parsed = CameraURL(url, kind, path=unquote(parts.path), params=params)
    else:
        parsed = CameraURL(url, kind, params=params)
    return parsed.validate()
