import cv2
import numpy as np
import pytest

from drivers.camera import Camera


@pytest.fixture
def video(tmp_path):
    """A 12-frame 160x120 MJPEG .avi at 60 frames/s, written by the test itself;
    frame i has a white stripe at x = 10·i so frames can be told apart."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 60, (160, 120))
    assert writer.isOpened()
    for i in range(12):
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, 10 * i:10 * i + 10] = 255
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def camera():
    """Cameras made through this are stopped after the test, whatever happens."""
    made: list[Camera] = []

    def make(url: str, **options) -> Camera:
        cam = Camera(url, **options)
        made.append(cam)
        return cam

    yield make
    for cam in made:
        cam.stop()
