"""The kiosk's side of a call's media: aiortc tracks from the kiosk's camera
(drivers.camera, any camera URL, ``synthetic://`` included) and microphone (an ALSA
or PulseAudio device through PyAV, or a synthetic tone), and the synthetic tracks the
tests and the bench use. Frames stay in memory; nothing is written to disk.
"""
from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import MediaStreamTrack

from kiosk.call.errors import MediaUnavailable

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000
AUDIO_PTIME = 0.02  # 20 ms frames, as Opus wants


class _Paced(MediaStreamTrack):
    """A track that hands out a frame every 1/fps seconds with its own clock."""

    def __init__(self, fps: float) -> None:
        super().__init__()
        self.period = 1.0 / fps
        self._start: float | None = None
        self._count = 0

    async def _wait(self) -> int:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._count * self.period
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:  # fell far behind (a busy machine): skip ahead, never burst
            self._count = int((time.monotonic() - self._start) / self.period)
        self._count += 1
        return self._count - 1


class SyntheticVideoTrack(_Paced):
    """Moving colour bars with a frame counter strip: a picture that changes every frame."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: float = 15) -> None:
        super().__init__(fps)
        self.width, self.height = width, height
        bars = np.array([[235, 235, 235], [16, 235, 235], [235, 235, 16], [16, 235, 16],
                         [235, 16, 235], [16, 16, 235], [235, 16, 16], [16, 16, 16]], dtype=np.uint8)
        columns = (np.arange(width) * len(bars) // width)
        self._base = np.ascontiguousarray(np.broadcast_to(bars[columns], (height, width, 3)))

    async def recv(self) -> av.VideoFrame:
        n = await self._wait()
        image = np.roll(self._base, (n * 8) % self.width, axis=1)
        image[-24:, : (n * 16) % self.width] = 255
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = int(n * self.period * VIDEO_CLOCK), fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class ToneAudioTrack(_Paced):
    """A quiet 440 Hz tone, 48 kHz mono, in 20 ms frames."""

    kind = "audio"

    def __init__(self, hz: float = 440.0) -> None:
        super().__init__(1 / AUDIO_PTIME)
        samples = int(AUDIO_RATE * AUDIO_PTIME)
        self._samples = samples
        t = np.arange(samples * 50) / AUDIO_RATE  # one second's worth, repeated
        self._wave = (np.sin(2 * math.pi * hz * t) * 3000).astype(np.int16)

    async def recv(self) -> av.AudioFrame:
        n = await self._wait()
        start = (n % 50) * self._samples
        frame = av.AudioFrame.from_ndarray(self._wave[start:start + self._samples].reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, n * self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


class CameraTrack(_Paced):
    """The kiosk's camera (a running drivers.camera.Camera) as a video track."""

    kind = "video"

    def __init__(self, camera, fps: float = 15) -> None:
        super().__init__(fps)
        self.camera = camera

    async def recv(self) -> av.VideoFrame:
        n = await self._wait()
        frame = self.camera.latest()
        if frame is None:
            frame = await asyncio.to_thread(self.camera.wait_for_next, None, 2.0)
        video = av.VideoFrame.from_ndarray(frame.image, format="bgr24")
        video.pts, video.time_base = int(n * self.period * VIDEO_CLOCK), fractions.Fraction(1, VIDEO_CLOCK)
        return video


def open_media(camera_url: str, microphone: str, fps: float = 15):
    """(video track, audio track, things to close) for the kiosk's devices.

    ``microphone``: ``synthetic`` (a tone), ``alsa:DEVICE`` or ``pulse:DEVICE`` (PyAV).
    Raises :class:`MediaUnavailable` naming the device when one cannot be opened."""
    from drivers.camera import Camera, CameraError

    camera = Camera(camera_url, name="call camera")
    try:
        camera.start()
    except CameraError as exc:
        raise MediaUnavailable("摄像头无法打开，请到窗口办理。/ The camera cannot be opened; please ask at the counter.",
                               f"camera {camera_url}: {exc}") from exc
    closers = [camera.stop]
    if microphone == "synthetic":
        audio = ToneAudioTrack()
    else:
        from aiortc.contrib.media import MediaPlayer

        fmt, _, device = microphone.partition(":")
        try:
            player = MediaPlayer(device or "default", format=fmt)
        except Exception as exc:  # PyAV raises several kinds for a missing device
            camera.stop()
            raise MediaUnavailable("麦克风无法打开，请到窗口办理。/ The microphone cannot be opened; please ask at the counter.",
                                   f"microphone {microphone}: {exc}") from exc
        audio = player.audio
    return CameraTrack(camera, fps), audio, closers
