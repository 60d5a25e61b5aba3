"""Turning a card's 1024-byte WLT photo into an image: the decoder plug-in interface.

WLT is the reader vendor's encrypted, compressed format; only the vendor's library
decodes it. A decoder is anything with ``decode(wlt: bytes) -> bytes`` returning a
BMP or JPEG (:class:`WltDecoder`). Two ship here:

* :class:`VendorLibraryDecoder`: the vendor's shared library through ctypes, path
  from the config (``idcard.wlt_decoder``);
* :class:`SimDecoder`: the simulator's counterpart. Simulated cards carry a JPEG; the
  simulator's WLT bytes (:func:`sim_wlt`) name that JPEG by digest, and this decoder
  maps them back, so the whole photo path runs without a vendor library.

:func:`load_decoder` builds one from a config string. Decoded images stay in
memory: nothing here writes a photo to disk.
"""
from __future__ import annotations

import ctypes
import hashlib
import struct
import threading
from pathlib import Path
from typing import Iterable, Protocol, runtime_checkable

from drivers.idcard.codec import PHOTO_SIZE
from drivers.idcard.errors import DecoderUnavailable, WltDecodeFailed

# The card photo: 102 × 126 pixels, 24-bit.
PHOTO_WIDTH, PHOTO_HEIGHT = 102, 126
RAW_BGR_SIZE = PHOTO_WIDTH * PHOTO_HEIGHT * 3  # 38556
BMP_SIZE = 54 + ((PHOTO_WIDTH * 3 + 3) & ~3) * PHOTO_HEIGHT  # 38862: rows padded to 4 bytes


@runtime_checkable
class WltDecoder(Protocol):
    def decode(self, wlt: bytes) -> bytes:
        """Return the photo as BMP or JPEG bytes; raise :class:`WltDecodeFailed`."""
        ...


def image_kind(data: bytes) -> str | None:
    """``"bmp"``, ``"jpeg"`` or None, from the first bytes."""
    if data[:2] == b"BM":
        return "bmp"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    return None


def bgr_to_bmp(raw: bytes, width: int = PHOTO_WIDTH, height: int = PHOTO_HEIGHT) -> bytes:
    """Wrap bottom-up, unpadded 24-bit BGR rows in a BMP (rows padded to 4 bytes)."""
    row = width * 3
    stride = (row + 3) & ~3
    pad = b"\0" * (stride - row)
    pixels = b"".join(raw[y * row:(y + 1) * row] + pad for y in range(height))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 3780, 3780, 0, 0)
    return header + info + pixels


class VendorLibraryDecoder:
    """The reader vendor's WLT library, called through ctypes.

    Assumed C signature (the common one of Linux SDKs; set ``function``/``ok_value``
    from the vendor's sample otherwise)::

        int unpack(const char *wlt /* 1024 bytes */, char *out /* out_size */, int save);

    ``save`` is passed as ``save_arg`` (default 0: never ask the library to write a
    file; the photo must not touch disk). ``out`` may come back as a BMP, a JPEG, or
    raw bottom-up BGR pixels (102 × 126), which are wrapped in a BMP here.
    """

    def __init__(self, path: str, *, function: str = "unpack", out_size: int = BMP_SIZE + 1024,
                 ok_value: int = 1, save_arg: int = 0) -> None:
        self.path = path
        hint = "在配置 idcard.wlt_decoder 中填写厂商照片解码库(.so)的路径，或留空 / set idcard.wlt_decoder " \
               "to the vendor's photo decoder library (.so), or leave it empty"
        if not Path(path).is_file():
            raise DecoderUnavailable(f"找不到照片解码库 / WLT decoder library {path} does not exist",
                                     hint=hint, port=path)
        try:
            library = ctypes.CDLL(str(Path(path).resolve()))
        except OSError as exc:
            raise DecoderUnavailable(f"照片解码库无法加载 / cannot load WLT decoder {path}: {exc}",
                                     hint="check it is built for this CPU (file(1)) and its own "
                                          "dependencies are installed (ldd)", port=path) from exc
        try:
            self._fn = getattr(library, function)
        except AttributeError:
            raise DecoderUnavailable(f"照片解码库缺少函数 / {path} has no function {function}()",
                                     hint="set the function name from the vendor's SDK sample", port=path) from None
        self._fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        self._fn.restype = ctypes.c_int
        self._library = library
        self._out_size = out_size
        self._ok = ok_value
        self._save = save_arg
        self._lock = threading.Lock()  # vendor libraries are rarely reentrant

    def decode(self, wlt: bytes) -> bytes:
        if len(wlt) != PHOTO_SIZE:
            raise WltDecodeFailed(f"照片数据长度错误 / WLT of {len(wlt)} bytes, expected {PHOTO_SIZE}")
        src = ctypes.create_string_buffer(bytes(wlt), PHOTO_SIZE)
        out = ctypes.create_string_buffer(self._out_size)
        with self._lock:
            result = self._fn(src, out, self._save)
        if result != self._ok:
            raise WltDecodeFailed(f"照片解码失败 / {Path(self.path).name} returned {result} for this photo",
                                  hint="the decoder may not match this reader's SAM; ask the vendor",
                                  port=self.path)
        data = out.raw
        kind = image_kind(data)
        if kind == "bmp":
            size = struct.unpack_from("<I", data, 2)[0]
            if not 54 < size <= len(data):
                raise WltDecodeFailed(f"解码结果不是完整的BMP / the decoder's BMP claims {size} bytes")
            return data[:size]
        if kind == "jpeg":
            end = data.rfind(b"\xff\xd9")
            if end < 0:
                raise WltDecodeFailed("解码结果不是完整的JPEG / the decoder's JPEG has no end marker")
            return data[:end + 2]
        return bgr_to_bmp(data[:RAW_BGR_SIZE])


# -- the simulator's WLT -----------------------------------------------------------------
SIM_MAGIC = b"SIMWLT01"


def sim_wlt(jpeg: bytes, seed: str) -> bytes:
    """1024 bytes standing in for a card's WLT: a marker, the JPEG's SHA-256, then
    filler derived from ``seed`` (the card's number) so every card's bytes differ."""
    head = SIM_MAGIC + hashlib.sha256(jpeg).digest()
    filler = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(head) + len(filler) < PHOTO_SIZE:
        filler += block
        block = hashlib.sha256(block).digest()
    return (head + bytes(filler))[:PHOTO_SIZE]


class SimDecoder:
    """Decodes the simulator's WLT bytes into the JPEG its card carries."""

    def __init__(self, jpegs: Iterable[bytes]) -> None:
        self._by_digest = {hashlib.sha256(j).digest(): j for j in jpegs}

    @classmethod
    def from_cards_file(cls, path: str | Path | None = None) -> "SimDecoder":
        """The JPEGs of a simulator cards file (default: the demo cards)."""
        from drivers.idcard.sim import DEMO_CARDS, load_cards

        try:
            cards = load_cards(path or DEMO_CARDS)
        except (OSError, ValueError) as exc:
            raise DecoderUnavailable(f"模拟照片不可用 / simulated photos unavailable: {exc}",
                                     hint="point sim:PATH at a cards JSON file", port=str(path)) from exc
        return cls(card.photo_jpeg for card in cards)

    def decode(self, wlt: bytes) -> bytes:
        if len(wlt) != PHOTO_SIZE or not wlt.startswith(SIM_MAGIC):
            raise WltDecodeFailed("不是模拟器的照片数据 / not a simulated card's WLT (a real card needs "
                                  "the vendor's decoder)")
        jpeg = self._by_digest.get(wlt[len(SIM_MAGIC):len(SIM_MAGIC) + 32])
        if jpeg is None:
            raise WltDecodeFailed("模拟照片未知 / this simulated card's photo is not in the decoder's cards file")
        return jpeg


def load_decoder(spec: str | None) -> WltDecoder | None:
    """A decoder from the config string ``idcard.wlt_decoder``:

    ``""`` none · ``"sim"`` the demo cards' photos · ``"sim:PATH"`` the photos of
    the cards file PATH · anything else: the path of the vendor's library."""
    if not spec:
        return None
    if spec == "sim" or spec.startswith("sim:"):
        return SimDecoder.from_cards_file(spec[4:] or None)
    return VendorLibraryDecoder(spec)
