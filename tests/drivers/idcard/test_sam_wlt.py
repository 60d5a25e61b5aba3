"""The WLT photo decoder plug-ins: the simulator's, and a vendor library through
ctypes (a stand-in library compiled here with the system C compiler)."""
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from drivers.idcard.codec import CardBlocks
from drivers.idcard.errors import DecoderUnavailable, WltDecodeFailed
from drivers.idcard.record import IdCardRecord
from drivers.idcard.sim import DEMO_CARDS, fictional_card, load_cards
from drivers.idcard.wlt import (BMP_SIZE, SimDecoder, VendorLibraryDecoder, WltDecoder, image_kind,
                                load_decoder, sim_wlt)
from tests.support import require

# Stands in for a vendor's libwlt: raw bottom-up BGR from unpack(), a BMP from
# unpack_bmp(); both refuse a WLT starting with 0 and any request to write a file.
FAKE_VENDOR = r"""
#include <string.h>
static int fill(const unsigned char *src, unsigned char *dst, int n) {
    for (int i = 0; i < n; i++) dst[i] = src[i % 1024];
    return 1;
}
int unpack(const unsigned char *src, unsigned char *dst, int save) {
    if (save != 0 || src[0] == 0) return -1;
    return fill(src, dst, 102 * 126 * 3);
}
int unpack_bmp(const unsigned char *src, unsigned char *dst, int save) {
    if (save != 0 || src[0] == 0) return -1;
    unsigned int size = 54 + 308 * 126;
    memset(dst, 0, size);
    dst[0] = 'B'; dst[1] = 'M'; memcpy(dst + 2, &size, 4);
    return 1;
}
"""


@pytest.fixture(scope="module")
def vendor_library(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    require("C compiler", cc is not None, "cc builds the stand-in vendor library")
    folder = tmp_path_factory.mktemp("vendor")
    (folder / "fake.c").write_text(FAKE_VENDOR)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(folder / "libwltfake.so"), str(folder / "fake.c")],
                   check=True, capture_output=True)
    return str(folder / "libwltfake.so")


def test_sim_decoder_maps_a_simulated_wlt_to_the_cards_jpeg():
    cards = load_cards(DEMO_CARDS)
    decoder = load_decoder("sim")
    assert isinstance(decoder, WltDecoder)
    for card in cards:
        image = decoder.decode(card.wlt())
        assert image == card.photo_jpeg and image_kind(image) == "jpeg"
    assert cv2.imdecode(np.frombuffer(cards[0].photo_jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (126, 102, 3)


def test_sim_decoder_through_a_record(tmp_path):
    jpeg = b"\xff\xd8\xff\xe0 a tiny fictional jpeg \xff\xd9"
    card = fictional_card(photo_jpeg=jpeg)
    record = IdCardRecord.from_blocks(CardBlocks(card.text_block(), card.wlt()))
    assert SimDecoder([jpeg]).decode(record.photo) == jpeg


@pytest.mark.parametrize("wlt", [bytes(1024), sim_wlt(b"another photo", "x"), b"SIMWLT01"])
def test_sim_decoder_refuses_what_it_does_not_know(wlt):
    with pytest.raises(WltDecodeFailed):
        SimDecoder([b"\xff\xd8\xff one"]).decode(wlt)


def test_simulated_wlt_differs_per_card_and_is_1024_bytes():
    a, b = sim_wlt(b"jpeg", "110101198503120033"), sim_wlt(b"jpeg", "11010519491231002X")
    assert len(a) == len(b) == 1024 and a != b


def test_vendor_library_raw_pixels_become_a_bmp(vendor_library):
    decoder = load_decoder(vendor_library)
    assert isinstance(decoder, VendorLibraryDecoder) and isinstance(decoder, WltDecoder)
    wlt = bytes((i * 7 + 1) % 256 or 1 for i in range(1024))
    image = decoder.decode(wlt)
    assert image_kind(image) == "bmp" and len(image) == BMP_SIZE
    pixels = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    assert pixels.shape == (126, 102, 3)
    # bottom-up rows: the library's first pixel is the bottom-left one
    assert list(pixels[125, 0]) == list(wlt[0:3]) and list(pixels[124, 0]) == list(wlt[306:309])


def test_vendor_library_bmp_is_returned_as_is(vendor_library):
    image = VendorLibraryDecoder(vendor_library, function="unpack_bmp").decode(b"\x01" * 1024)
    assert image[:2] == b"BM" and len(image) == 54 + 308 * 126


def test_vendor_library_refusal_is_a_decode_error(vendor_library):
    decoder = VendorLibraryDecoder(vendor_library)
    with pytest.raises(WltDecodeFailed):
        decoder.decode(bytes(1024))
    with pytest.raises(WltDecodeFailed):
        decoder.decode(b"\x01" * 100)


def test_missing_library_is_a_clear_config_error(tmp_path, vendor_library):
    with pytest.raises(DecoderUnavailable) as info:
        load_decoder(str(tmp_path / "libwlt.so"))
    assert "libwlt.so" in str(info.value) and "idcard.wlt_decoder" in info.value.hint
    not_a_library = tmp_path / "libbroken.so"
    not_a_library.write_bytes(b"not ELF")
    with pytest.raises(DecoderUnavailable):
        load_decoder(str(not_a_library))
    with pytest.raises(DecoderUnavailable) as info:
        VendorLibraryDecoder(vendor_library, function="GetBmp")
    assert "GetBmp" in str(info.value)


def test_no_decoder_configured_is_none():
    assert load_decoder("") is None and load_decoder(None) is None
