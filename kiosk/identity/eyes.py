"""Are the resident's eyes open? The measure behind the blink challenge.

YuNet's five landmarks say where the eyes are but not whether they are open, so
each eye is looked at in a square crop around its landmark (``CROP`` eye distances
a side, scaled to ``SIDE`` pixels, contrast-equalised) with two independent cues:

* **OpenCV's Haar eye cascades** (``haarcascade_eye.xml``, and
  ``haarcascade_eye_tree_eyeglasses.xml`` for residents with glasses), shipped with
  opencv-python 4.x under ``cv2.data.haarcascades`` and SHA-256-checked like the
  face models. They were trained on open eyes: a hit means an open eye.
* **the dark band**: the vertical intensity profile of each column in the middle of
  the crop (where iris and pupil are), counting the pixels darker than ``DARK`` ×
  the crop's median brightness; the band is the 75th percentile of those counts, in
  eye distances. An open eye shows the iris and pupil, about 0.12–0.2 eye
  distances tall; a shut lid is skin with a thin lash line (≈ 0.04).

An eye is *open* when a cascade finds it, *closed* when no cascade finds it **and**
its dark band is below ``CLOSED_BAND`` or, when the caller knows the band of that
eye seen open moments before (the blink check does), at most ``SHUT_RATIO`` of it;
else *unknown* (half-closed, glare on
glasses, a finger or a black bar over it, an eye the cascades miss). The face counts as eyes-closed only when
both eyes are closed, eyes-open when at least one is open. The blink check
(:meth:`kiosk.identity.session._Run.blink`) wants open → closed (briefly, with the
face still detected, still and the same person) → open.

The thresholds are set on synthetic eyes (the rehearsal's painted lids) and have
not been calibrated on real residents and cameras; see the README.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from kiosk.identity.errors import ModelMissing
from kiosk.identity.models import ModelFile, checked_files

if TYPE_CHECKING:
    from kiosk.identity.faces import Face

EYE = ModelFile("eye", "haarcascade_eye.xml",
                "71cc64fc305a355dc60067880f6fbbd43dd155bd63ee3844661a1bda34b2fd8c", "Intel License (OpenCV)")
EYE_GLASSES = ModelFile("eye_glasses", "haarcascade_eye_tree_eyeglasses.xml",
                        "e32f9c67935c33e9d1331eb14fa58554ff17835c03742663bcb97a892e936a57", "Intel License (OpenCV)")
CASCADES = (EYE, EYE_GLASSES)

CASCADE_HINT = ("the Haar eye cascades come with opencv-python-headless 4.x (cv2.data.haarcascades): "
                "reinstall it, pinned below 5 (`.venv/bin/pip install --force-reinstall "
                "'opencv-python-headless<5'`; 5.0 dropped the cascades)")

CROP = 0.8  # crop side, in eye distances, centred on the eye landmark
SIDE = 64  # the crop is scaled to SIDE × SIDE pixels
DARK = 0.7  # a pixel darker than this × the crop's median is iris, pupil or lash
CLOSED_BAND = 0.07  # eye distances: a thinner dark band (and no cascade hit) is a shut eye …
SHUT_RATIO = 0.6  # … and so is one at most this × the band of the same eye seen open just before
MIN_EYE = 20  # smallest eye the cascades look for, in crop pixels


class Eye(str, Enum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class EyeReading:
    state: Eye  # of the face: OPEN if either eye is, CLOSED only if both are
    eyes: tuple[Eye, Eye]
    band: tuple[float, float]  # each eye's dark band, eye distances


def cascades_dir() -> Path | None:
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    return Path(folder) if folder else None


def check_cascades(folder: str | Path | None = None) -> dict[str, Path]:
    """Find the two eye cascades and check their SHA-256; raise :class:`ModelMissing`
    or :class:`ModelTampered` naming the file and the fix."""
    where = Path(folder) if folder else cascades_dir()
    if where is None:
        raise ModelMissing(f"this OpenCV ({cv2.__version__}) ships no Haar cascades (no cv2.data)",
                           hint=CASCADE_HINT)
    return checked_files(CASCADES, where, what="eye cascade", where=str(where), missing_hint=CASCADE_HINT,
                         tampered_hint=CASCADE_HINT)


class EyeReader:
    """Reads the eyes of a face YuNet found. Calls are serialised (one cascade object
    per process, like the face networks)."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self._lock = threading.Lock()
        self._cascades = []
        for cascade in CASCADES:
            classifier = cv2.CascadeClassifier(str(paths[cascade.role]))
            if classifier.empty():
                raise ModelMissing(f"eye cascade {paths[cascade.role]} does not load", hint=CASCADE_HINT)
            self._cascades.append(classifier)

    @classmethod
    def load(cls, folder: str | Path | None = None) -> "EyeReader":
        return cls(check_cascades(folder))

    def crop(self, gray: np.ndarray, centre: np.ndarray, eye_distance: float) -> np.ndarray | None:
        side = CROP * eye_distance
        x0, y0 = int(round(centre[0] - side / 2)), int(round(centre[1] - side / 2))
        x1, y1 = int(round(x0 + side)), int(round(y0 + side))
        height, width = gray.shape[:2]
        if side < 8 or x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            return None
        return cv2.resize(gray[y0:y1, x0:x1], (SIDE, SIDE),
                          interpolation=cv2.INTER_AREA if side > SIDE else cv2.INTER_CUBIC)

    def eye(self, crop: np.ndarray | None, opened: float | None = None) -> tuple[Eye, float]:
        if crop is None:
            return Eye.UNKNOWN, 0.0
        middle = crop[SIDE // 4:SIDE * 3 // 4, SIDE // 4:SIDE * 3 // 4]
        dark = middle < DARK * max(float(np.median(crop)), 1.0)
        band = float(np.percentile(dark.sum(axis=0), 75)) * CROP / SIDE
        equalised = cv2.equalizeHist(crop)
        with self._lock:
            for cascade in self._cascades:
                found = cascade.detectMultiScale(equalised, 1.1, 3, minSize=(MIN_EYE, MIN_EYE))
                if len(found):
                    return Eye.OPEN, band
        shut = band < CLOSED_BAND or (opened is not None and band <= SHUT_RATIO * opened)
        return (Eye.CLOSED if shut else Eye.UNKNOWN), band

    def read(self, image: np.ndarray, face: "Face",
             opened: tuple[float | None, float | None] = (None, None)) -> EyeReading:
        """The eyes of ``face``; ``opened``: each eye's dark band when last seen open."""
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        readings = [self.eye(self.crop(gray, face.landmarks[i], face.eye_distance), opened[i]) for i in (0, 1)]
        eyes = (readings[0][0], readings[1][0])
        if Eye.OPEN in eyes:
            state = Eye.OPEN
        elif eyes == (Eye.CLOSED, Eye.CLOSED):
            state = Eye.CLOSED
        else:
            state = Eye.UNKNOWN
        return EyeReading(state, eyes, (readings[0][1], readings[1][1]))
