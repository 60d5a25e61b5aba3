"""A rehearsal resident: a portrait turned into camera frames whose head turns when
asked. The face check's simulator, for tests, the bench and demos.

The portrait is laid on a head-shaped depth map (an ellipsoid with a nose) and
rotated about the vertical axis, so the nose moves across the face the way it does
on a real head, and YuNet's landmarks follow. A flat photo cannot do that; this is
what a live resident looks like to the check, not a way to beat it.

Frames carry a made-up timeline (``fps`` frames a second from ``start``), so a
check's time limits and the resident's time are the same on any machine. The
rehearsal obeys prompts as a resident would: a reaction time, a turn over a few
frames, a hold, and back. Misbehaviours for tests: ``obey=False`` (a still
picture), ``wrong_way=True``, and ``faces`` to show another portrait in a phase
(``{"turn": other}`` is a live impostor during the challenge; ``{"after": other}``
a photo swapped in after it). Asked to blink, it shuts its painted eyelids for a few
frames (or, for tests, hides its face instead, or never blinks).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from drivers.camera import Frame
from kiosk.identity.challenge import DIRECTION, ChallengeKind, Prompt
from kiosk.identity.errors import BadReference
from kiosk.identity.faces import FaceEngine

SIZE = (640, 480)


@dataclass
class _Head:
    canvas: np.ndarray  # the portrait on a 640 × 480 frame
    depth: np.ndarray  # float32, pixels towards the camera
    cx: float
    grid_x: np.ndarray
    grid_y: np.ndarray
    cache: dict[int, np.ndarray]
    eyes: np.ndarray  # 2 × 2: the eye landmarks on the canvas
    box: tuple[float, float, float, float]  # the face box on the canvas
    lids: dict[object, np.ndarray]

    def blinked(self, closed: float) -> np.ndarray:
        """The frontal face with its eyelids ``closed`` (0: open, 1: shut) or, for
        ``closed`` < 0, hidden behind a hand (the face "blinks" by disappearing)."""
        if closed not in self.lids:
            image = self.turned(0).copy()
            if closed < 0:
                self._hand(image)
            else:
                for eye in self.eyes:
                    self._lid(image, eye, closed)
            image.flags.writeable = False
            self.lids[closed] = image
        return self.lids[closed]

    def _lid(self, image: np.ndarray, eye: np.ndarray, closed: float) -> None:
        distance = float(np.linalg.norm(self.eyes[1] - self.eyes[0]))
        cx, cy = float(eye[0]), float(eye[1])
        a, b = 0.34 * distance, 0.17 * distance  # the eye opening's half-width and half-height
        # The lid's colour: the skin just below the eye, a little shaded.
        cheek = image[int(cy + 0.35 * distance):int(cy + 0.55 * distance),
                      int(cx - 0.12 * distance):int(cx + 0.12 * distance)]
        skin = np.median(cheek.reshape(-1, 3), axis=0) * 0.94
        height, width = image.shape[:2]
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        inside = ((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2 <= 1.0
        lid_edge = cy - b + closed * 2 * b  # the lid comes down from the top of the opening
        mask = (inside & (ys <= lid_edge)).astype(np.float32)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, distance / 60))[..., None]
        image[:] = (image * (1 - mask) + skin * mask).clip(0, 255).astype(np.uint8)
        if closed >= 1.0:  # the lashes: a thin dark curve along the shut lid's lower edge
            cv2.ellipse(image, (round(cx), round(cy)), (round(a), round(0.35 * b)), 0, 10, 170,
                        tuple(float(v) for v in skin * 0.55), max(1, round(distance / 45)), cv2.LINE_AA)

    def _hand(self, image: np.ndarray) -> None:
        x, y, w, h = self.box
        x0, y0 = max(0, int(x - 0.1 * w)), max(0, int(y - 0.1 * h))
        x1, y1 = min(image.shape[1], int(x + 1.1 * w)), min(image.shape[0], int(y + 1.1 * h))
        image[y0:y1, x0:x1] = (150, 165, 200)  # a palm held over the face

    def turned(self, degrees: int) -> np.ndarray:
        if degrees not in self.cache:
            theta = np.radians(degrees)
            cos, sin = np.cos(theta), np.sin(theta)
            xs = self.grid_x.copy()
            for _ in range(6):  # solve x_out = cx + (x_src - cx)·cos + z(x_src)·sin for x_src
                z = cv2.remap(self.depth, xs, self.grid_y, cv2.INTER_LINEAR)
                xs = ((self.grid_x - self.cx - z * sin) / cos + self.cx).astype(np.float32)
            image = cv2.remap(self.canvas, xs, self.grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            image.flags.writeable = False
            self.cache[degrees] = image
        return self.cache[degrees]


def head(engine: FaceEngine, portrait: np.ndarray, *, face_width: int = 170) -> _Head:
    """Place ``portrait`` on a camera-sized canvas with its face ``face_width`` px wide
    (a resident about half a metre away) and model its depth."""
    faces = engine.detect(portrait, detect_width=portrait.shape[1])
    if not faces:
        raise BadReference("no face in the rehearsal portrait")
    face = faces[0]
    scale = face_width / face.width
    image = cv2.resize(portrait, None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    width, height = SIZE
    fx, fy = face.centre[0] * scale, face.centre[1] * scale
    # Face centre a little above the middle, as people stand at a kiosk.
    ox, oy = int(round(width / 2 - fx)), int(round(height * 0.45 - fy))
    canvas = np.full((height, width, 3), 120, np.uint8)
    src_x0, src_y0 = max(0, -ox), max(0, -oy)
    dst_x0, dst_y0 = max(0, ox), max(0, oy)
    w = min(image.shape[1] - src_x0, width - dst_x0)
    h = min(image.shape[0] - src_y0, height - dst_y0)
    canvas[dst_y0:dst_y0 + h, dst_x0:dst_x0 + w] = image[src_y0:src_y0 + h, src_x0:src_x0 + w]
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2, height * 0.45
    bw, bh = face.box[2] * scale, face.box[3] * scale
    ax, ay = bw * 0.75, bh * 0.8
    r2 = ((grid_x - cx) / ax) ** 2 + ((grid_y - cy) / ay) ** 2
    depth = ax * np.sqrt(np.clip(1 - r2, 0, 1))
    nose = face.landmarks[2] * scale + (ox, oy)
    eyes = face.eye_distance * scale
    depth += 0.5 * eyes * np.exp(-((grid_x - nose[0]) ** 2 / (2 * (0.25 * eyes) ** 2)
                                   + (grid_y - nose[1] + 0.2 * eyes) ** 2 / (2 * (0.45 * eyes) ** 2)))
    depth = cv2.GaussianBlur(depth.astype(np.float32), (0, 0), 6)
    eyes_at = face.landmarks[:2] * scale + (ox, oy)
    x, y, w, h = face.box
    box = (x * scale + ox, y * scale + oy, w * scale, h * scale)
    return _Head(canvas, depth, cx, grid_x, grid_y, {}, eyes_at, box, {})


class RehearsalFace:
    """A :class:`~kiosk.identity.feeds.FrameFeed` that reacts to prompts (pass
    :meth:`hear` as the check's ``on_prompt``).

    Asked to blink, it keeps its head still and lowers its lids over a frame,
    keeps them shut for ``blink_frames`` frames and raises them over a frame.
    ``blink="occlude"`` hides the whole face behind a hand for those frames instead
    (a face that "blinks" by disappearing); ``blink="none"`` never blinks. In
    ``faces``, ``"blink"`` shows another portrait on the shut-eye frames only."""

    def __init__(self, engine: FaceEngine, portrait: np.ndarray, *, fps: float = 15.0, start: float = 100.0,
                 degrees: int = 30, react_frames: int = 3, turn_frames: int = 4, hold_frames: int = 3,
                 back_frames: int = 4, blink_frames: int = 2, blink: str = "lids", obey: bool = True,
                 wrong_way: bool = False, faces: dict[str, np.ndarray] | None = None) -> None:
        if blink not in {"lids", "occlude", "none"}:
            raise ValueError(f"blink must be lids, occlude or none, not {blink!r}")
        self.fps, self.start = fps, start
        self.degrees, self.obey, self.wrong_way = degrees, obey, wrong_way
        self.react, self.turn, self.hold, self.back = react_frames, turn_frames, hold_frames, back_frames
        self.blink_frames, self.blink = blink_frames, blink
        self.heads = {"settle": head(engine, portrait)}
        for phase, other in (faces or {}).items():
            self.heads[phase] = head(engine, other)
        self.seq = 0
        self.phase = "settle"
        # The frames to come: (degrees, lids closed, head shown for this frame only or
        # None), or "after" (the challenge is done); empty: frontal, eyes open.
        self.script: list[tuple[int, float, str | None] | str] = []
        self.prompts: list[Prompt] = []

    def hear(self, prompt: Prompt) -> None:
        self.prompts.append(prompt)
        if prompt.kind == "look_ahead":  # a new attempt: face the screen again, as shown first
            self.phase, self.script = "settle", []
            return
        if prompt.kind not in {k.value for k in ChallengeKind}:
            return
        self.phase = "turn"  # the challenge's phase, whichever it is
        if not self.obey:
            return
        kind = ChallengeKind(prompt.kind)
        if kind is ChallengeKind.BLINK:
            self.script = [(0, 0.0, None)] * self.react + self._blink() + ["after"]
            return
        sign = DIRECTION[kind] * (-1 if self.wrong_way else 1)
        peak = sign * self.degrees
        ramp_out = [round(peak * (i + 1) / self.turn) for i in range(self.turn)]
        ramp_back = [round(peak * (self.back - 1 - i) / self.back) for i in range(self.back)]
        self.script = ([(d, 0.0, None) for d in [0] * self.react + ramp_out + [peak] * self.hold] + ["after"]
                       + [(d, 0.0, None) for d in ramp_back])

    def _blink(self) -> list[tuple[int, float, str | None]]:
        if self.blink == "none":
            return []
        if self.blink == "occlude":
            return [(0, -1.0, None)] * (self.blink_frames + 2)
        shut = "blink" if "blink" in self.heads else None
        return [(0, 0.5, None)] + [(0, 1.0, shut)] * self.blink_frames + [(0, 0.5, None)]

    def next_frame(self, after: int, timeout: float) -> Frame:
        self.seq = max(self.seq, after) + 1
        degrees, closed, shown_phase = 0, 0.0, None
        while self.script:
            step = self.script.pop(0)
            if step == "after":
                self.phase = "after"
                continue
            degrees, closed, shown_phase = step  # type: ignore[misc]
            break
        shown = self.heads.get(shown_phase or self.phase, self.heads["settle"])
        image = shown.blinked(closed) if closed else shown.turned(degrees)
        return Frame(image, self.seq, self.start + self.seq / self.fps)
