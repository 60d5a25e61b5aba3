"""Test pictures: generated QR codes as a camera might see them."""
import cv2
import numpy as np
import qrcode


def qr_picture(text: str, box: int, *, angle: float = 0, noise: float = 0, size=(480, 640),
               seed: int = 1) -> np.ndarray:
    """A BGR frame with ``text`` as a QR code: ``box`` pixels a module, rotated by
    ``angle`` degrees, with Gaussian sensor noise of standard deviation ``noise``."""
    code = qrcode.QRCode(border=4, box_size=box)
    code.add_data(text)
    code.make(fit=True)
    image = np.asarray(code.make_image().convert("L"), dtype=np.uint8)
    frame = np.full(size, 235, np.uint8)  # a light grey desk, not paper white
    h, w = image.shape
    top, left = (size[0] - h) // 2, (size[1] - w) // 2
    frame[top:top + h, left:left + w] = image
    if angle:
        turn = cv2.getRotationMatrix2D((size[1] / 2, size[0] / 2), angle, 1.0)
        frame = cv2.warpAffine(frame, turn, (size[1], size[0]), borderValue=235)
    if noise:
        rng = np.random.default_rng(seed)
        frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
