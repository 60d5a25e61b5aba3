"""Reading a QR code from a photo a phone uploads (the verify page's camera button):
decoded in memory with OpenCV's QR detectors (:func:`drivers.scanner.qr.decode_qr`:
the classic one alone misses about one generated certificate QR in fifteen), never
written to disk."""
from __future__ import annotations

import numpy as np

MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1600  # larger photos are scaled down first: faster, and the detector copes better


class PhotoUnreadable(ValueError):
    def __init__(self, zh: str, en: str) -> None:
        self.zh, self.en = zh, en
        super().__init__(en)


def qr_text(data: bytes) -> str:
    """The text of the QR code in an image file's bytes, or PhotoUnreadable saying why not."""
    import cv2

    if not data:
        raise PhotoUnreadable("没有收到照片。", "No photo arrived.")
    if len(data) > MAX_BYTES:
        raise PhotoUnreadable("照片太大（最多 8 MB）。", "The photo is too large (at most 8 MB).")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise PhotoUnreadable("无法读取这张图片，请上传 JPEG 或 PNG 照片。", "Cannot read this image: upload a JPEG or PNG photo.")
    side = max(image.shape[:2])
    if side > MAX_SIDE:
        scale = MAX_SIDE / side
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    from drivers.scanner.qr import decode_qr

    found = decode_qr(image)
    text = found[0].text if found else ""
    if not text:
        raise PhotoUnreadable("照片中没有找到可读的二维码：请让二维码占满画面、对准焦距后重拍，或直接粘贴二维码内容。",
                              "No readable QR code in the photo: fill the frame with it, in focus, and try again, "
                              "or paste its text.")
    return text
