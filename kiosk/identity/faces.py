"""Faces in a picture: YuNet finds them with five landmarks, SFace turns one into
a 128-number embedding, and two embeddings compare by cosine similarity.

Detection runs on a copy scaled down to ``detect_width`` (a kiosk face fills a good
part of the frame, and YuNet's time grows with the pixel count); the landmarks are
scaled back, and the embedding is cut from the full-size picture, so resolution is
spent where recognition needs it. Small pictures (an ID-card photo is 102 × 126)
are scaled up first: SFace's aligned crop is 112 × 112.

Pictures are BGR arrays in memory; nothing here writes one anywhere.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.identity.eyes import EyeReader
from kiosk.identity.models import ModelPaths, check_models

MIN_SIDE = 224  # pictures smaller than this are scaled up before detection and alignment
MAX_SIDE = 640  # … and larger ones down
SCORE_THRESHOLD = 0.6  # YuNet's face confidence
NMS_THRESHOLD = 0.3


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height in the picture's pixels
    landmarks: np.ndarray  # 5 × 2: right eye, left eye (as seen), nose tip, mouth corners
    score: float
    row: np.ndarray  # YuNet's 15 numbers, for SFace's alignment

    @property
    def width(self) -> float:
        return self.box[2]

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def yaw(self) -> float:
        """How far the nose tip sits right (+) or left (−) of the point between the
        eyes, in eye distances. Turning the head moves the nose, which stands out
        of the face, more than the eyes; a flat photo turned or tilted moves them
        together, so this barely changes (an affine warp keeps the ratio)."""
        eyes = self.landmarks[:2]
        middle = eyes.mean(axis=0)
        return float((self.landmarks[2][0] - middle[0]) / max(self.eye_distance, 1e-6))


class FaceEngine:
    """YuNet + SFace on the CPU. One instance per process is enough: calls are
    serialised by a lock (OpenCV's networks are not safe to share between threads)."""

    def __init__(self, models: ModelPaths, *, detect_width: int = 320, eyes: EyeReader | None = None) -> None:
        self.models = models
        self.detect_width = detect_width
        self.eyes = eyes  # the blink challenge's eye reader (Haar cascades); None: no blinks
        self._lock = threading.Lock()
        self._detector = cv2.FaceDetectorYN.create(str(models.detector), "", (320, 320), SCORE_THRESHOLD,
                                                   NMS_THRESHOLD, 5000)
        self._recognizer = cv2.FaceRecognizerSF.create(str(models.recognizer), "")

    @classmethod
    def load(cls, models_dir: str = "", *, detect_width: int = 320) -> "FaceEngine":
        """Check the models' and the eye cascades' SHA-256 (raising
        :class:`~kiosk.identity.errors.ModelError`) and load them."""
        return cls(check_models(models_dir), detect_width=detect_width, eyes=EyeReader.load())

    @classmethod
    def from_settings(cls, settings) -> "FaceEngine":
        return cls.load(settings.models_dir, detect_width=settings.detect_width)

    def detect(self, image: np.ndarray, *, detect_width: int | None = None) -> list[Face]:
        """Every face in a BGR picture, largest first."""
        height, width = image.shape[:2]
        scale = min(1.0, (detect_width or self.detect_width) / width)
        small = image if scale == 1.0 else cv2.resize(image, (round(width * scale), round(height * scale)),
                                                      interpolation=cv2.INTER_AREA)
        with self._lock:
            self._detector.setInputSize((small.shape[1], small.shape[0]))
            _, rows = self._detector.detect(small)
        if rows is None:
            return []
        faces = []
        for row in rows:
            full = row.astype(np.float32).copy()
            full[:14] /= scale
            x, y, w, h = (float(v) for v in full[:4])
            faces.append(Face((x, y, w, h), full[4:14].reshape(5, 2), float(full[14]), full))
        faces.sort(key=lambda face: face.box[2] * face.box[3], reverse=True)
        return faces

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The face's unit-length 128-number embedding."""
        with self._lock:
            aligned = self._recognizer.alignCrop(image, face.row)
            feature = self._recognizer.feature(aligned)
        vector = feature.reshape(-1).astype(np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        """Cosine similarity of two unit embeddings: about 0.7–0.9 for one person,
        near 0.1 for two (SFace)."""
        return float(np.dot(a, b))

    def portrait(self, image: np.ndarray) -> tuple[np.ndarray, list[Face]]:
        """A still portrait (reference or ``--live`` photo) brought to camera scale
        (up if small, down if large), with its faces."""
        height, width = image.shape[:2]
        if max(height, width) > MAX_SIDE:
            # YuNet finds false faces in a big photo's texture, and SFace's alignment
            # aliases when it shrinks a face ten times: bring it to camera scale first.
            factor = MAX_SIDE / max(height, width)
            image = cv2.resize(image, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)
        elif min(height, width) < MIN_SIDE:
            factor = MIN_SIDE / min(height, width)
            image = cv2.resize(image, (round(width * factor), round(height * factor)),
                               interpolation=cv2.INTER_CUBIC)
        # A portrait is detected at full size: its face may be small in a group shot,
        # and it is done once, not per frame.
        return image, self.detect(image, detect_width=image.shape[1])
