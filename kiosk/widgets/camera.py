"""The camera preview: frames (BGR numpy arrays) shown in a QLabel as a QImage
(QVideoWidget grabs blank offscreen). Mirrored, as people expect of a mirror.
The label keeps only the scaled pixmap; :meth:`clear` drops it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel

if TYPE_CHECKING:  # numpy loads with the face check, not at start-up
    import numpy as np


class CameraView(QLabel):
    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.setFixedSize(width, height)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background: #20262E; border-radius: 12px; color: white;")

    def show_frame(self, image: "np.ndarray") -> None:
        import numpy as np

        rgb = np.ascontiguousarray(image[:, ::-1, ::-1])  # mirror, BGR → RGB
        height, width = rgb.shape[:2]
        qimage = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        pixmap = QPixmap.fromImage(qimage).scaled(self.width(), self.height(),
                                                  Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pixmap)

    @staticmethod
    def prepare(image: "np.ndarray", width: int, height: int) -> QImage:
        """Off the UI thread: mirror, convert and scale a frame to the view's size
        (a QImage may be made on any thread; the UI thread then only shows it)."""
        import cv2
        import numpy as np

        h, w = image.shape[:2]
        scale = min(width / w, height / h)
        small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(small[:, ::-1, ::-1])
        return QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format.Format_RGB888).copy()

    def show_image(self, image: QImage) -> None:
        self.setPixmap(QPixmap.fromImage(image))

    def clear(self) -> None:  # type: ignore[override]
        super().clear()
        self.setPixmap(QPixmap())
