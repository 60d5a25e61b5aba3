"""forms.qr against the qrcode package (same matrix for every mask, same mask chosen)
and against zbarimg, an independent decoder."""
from __future__ import annotations

import numpy as np
import pytest
import qrcode
from PIL import Image

from forms import qr
from tests.forms.conftest import zbar

CODE = ("CK1.demo-kiosk-01.42.residence_proof.20250301T060500Z.20250530.AAAAAAAAAAA."
        + "B" * 43 + "." + "C" * 86).encode()
# ASCII in byte mode, as the qrcode package encodes it with optimize=0 (it would pick
# alphanumeric mode for upper-case-only text, and adds no ECI for UTF-8)
PAYLOADS = [b"a", b"hello world", b"https://kiosk.example.org/progress/SF-20250301-0042", CODE,
            bytes(range(128)) * 4]


def reference(data: bytes, level: str, mask: int | None) -> np.ndarray:
    code = qrcode.QRCode(error_correction=qr.LEVELS[level], border=0, mask_pattern=mask)
    code.add_data(data, optimize=0)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


@pytest.mark.parametrize("data", PAYLOADS, ids=lambda d: f"{len(d)}B")
@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_every_mask_matches_the_qrcode_package(data, level):
    for mask in range(8):
        assert np.array_equal(qr.encode(data, level, mask), reference(data, level, mask)), mask


@pytest.mark.parametrize("data", PAYLOADS, ids=lambda d: f"{len(d)}B")
def test_the_penalties_are_the_standards_and_the_lowest_wins(data):
    from qrcode import util

    candidates = np.stack([qr.encode(data, "M", mask) for mask in range(8)])
    scores = qr.penalties(candidates)
    assert list(scores) == [util.lost_point(c.tolist()) for c in candidates]
    assert np.array_equal(qr.encode(data), candidates[int(np.argmin(scores))])


def test_non_ascii_text_carries_an_utf8_eci_header():
    matrix = qr.encode("扫码查询办理进度".encode())
    plain = qr.encode(b"0123456789abcdefghijklmnop")  # same length in bytes, no ECI
    assert matrix.shape == plain.shape  # both fit version 2 at level M
    assert qr._codewords("进".encode(), 1, qr.LEVELS["M"], eci=True)[:2] == bytes([0x71, 0xA4])


def test_too_much_data_and_no_data_are_refused():
    with pytest.raises(ValueError, match="do not fit"):
        qr.encode(b"x" * 3000, "H")
    with pytest.raises(ValueError):
        qr.encode(b"")


def test_zbarimg_reads_it(tmp_path):
    for i, data in enumerate([CODE, "扫码查询办理进度".encode()]):
        matrix = qr.encode(data)
        image = Image.fromarray(np.pad(~matrix, 4, constant_values=True).astype(np.uint8) * 255)
        path = tmp_path / f"code{i}.png"
        image.resize((image.width * 6, image.height * 6), Image.NEAREST).save(path)
        assert zbar(path) == [data.decode()]
