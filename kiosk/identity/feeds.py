"""Where the live frames come from: anything with ``next_frame(after, timeout)``.

:class:`CameraFeed` reads a running :class:`drivers.camera.Camera` (the only way
this package sees a real camera: opening one is the driver's job). Tests, the bench
and rehearsals use :class:`StillFeed` and :class:`kiosk.identity.sim.RehearsalFace`,
whose frames carry a made-up timeline, so every time limit of the check is measured
on frame timestamps and never depends on how busy the machine is.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from drivers.camera import Camera, CameraError, Frame
from kiosk.identity.errors import FeedError


class FrameFeed(Protocol):
    def next_frame(self, after: int, timeout: float) -> Frame:
        """A frame with ``seq`` > ``after``; raise :class:`FeedError` when none comes."""
        ...


class CameraFeed:
    def __init__(self, camera: Camera) -> None:
        self.camera = camera

    def next_frame(self, after: int, timeout: float) -> Frame:
        try:
            return self.camera.wait_for_next(after, timeout)
        except CameraError as exc:
            raise FeedError(f"camera: {exc.message}", hint=exc.hint) from exc


class StillFeed:
    """One picture, over and over, ``fps`` frames a second of made-up time: what a
    printed photo or a phone held still in front of the camera looks like."""

    def __init__(self, image: np.ndarray, *, fps: float = 15.0, start: float = 0.0) -> None:
        self.image = image.view()  # read-only like a camera's frames, without touching the caller's
        self.image.flags.writeable = False
        self.fps, self.start, self.seq = fps, start, 0

    def next_frame(self, after: int, timeout: float) -> Frame:
        self.seq = max(self.seq, after) + 1
        return Frame(self.image, self.seq, self.start + self.seq / self.fps)
