"""Faces for the identity tests, from packages the project installs (scikit-image's
sample data): never from shared/data/faces, which a fresh machine does not have.

* the astronaut (Eileen Collins, ``data.astronaut()``): the resident;
* the cameraman (``data.camera()``) and the faces of ``data.lfw_subset()`` (25 × 25,
  scaled up): other people.
"""
from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from appliance.config import IdentitySection
from tests.support import require


def _skimage_data():
    try:
        from skimage import data
    except ImportError:
        require("scikit-image", False, "pip install scikit-image (the test extra): its sample faces")
    return data


@pytest.fixture(scope="session")
def engine():
    from kiosk.identity import FaceEngine, ModelError

    try:
        return FaceEngine.load()
    except ModelError as exc:
        require("face models", False, str(exc))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    image = cv2.cvtColor(_skimage_data().astronaut(), cv2.COLOR_RGB2BGR)
    image.flags.writeable = False
    return image


@pytest.fixture(scope="session")
def cameraman() -> np.ndarray:
    image = cv2.cvtColor(_skimage_data().camera(), cv2.COLOR_GRAY2BGR)
    image.flags.writeable = False
    return image


@pytest.fixture(scope="session")
def strangers() -> list[np.ndarray]:
    """Faces of the LFW subset (its first 100 pictures), as 230 × 230 colour pictures."""
    faces = _skimage_data().lfw_subset()[:100]
    out = []
    for face in faces:
        gray = cv2.resize((face * 255).astype(np.uint8), (150, 150), interpolation=cv2.INTER_CUBIC)
        gray = cv2.copyMakeBorder(gray, 40, 40, 40, 40, cv2.BORDER_REPLICATE)
        out.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    return out


@pytest.fixture
def settings() -> IdentitySection:
    # Short limits keep a failing attempt short; they count frame time, not wall time.
    return IdentitySection(settle_timeout_ms=2000, challenge_timeout_ms=2000)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(6)


def jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def id_card_photo(image: np.ndarray, quality: int = 40) -> bytes:
    """The astronaut as an ID card shows her: head and shoulders, 102 × 126, heavy JPEG."""
    portrait = cv2.resize(image[10:250, 125:320], (102, 126), interpolation=cv2.INTER_AREA)
    return jpeg(portrait, quality)


@pytest.fixture(scope="session")
def stranger(engine, strangers) -> np.ndarray:
    """A stranger looking straight ahead (the cameraman looks aside: no baseline)."""
    for face in strangers:
        scaled, faces = engine.portrait(face)
        if len(faces) == 1 and abs(faces[0].yaw) < 0.05 and faces[0].score > 0.8:
            return face
    pytest.fail("no frontal face in the LFW subset")
