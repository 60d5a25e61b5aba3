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

    def clear(self) -> None:  # type: ignore[override]
        super().clear()
        self.setPixmap(QPixmap())
