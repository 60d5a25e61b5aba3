"""The SAM serial codec: golden frames from shared/protocols/idcard.md, the framer,
reply decoding, and fuzzing (garbage in raises only the package's own error)."""
import struct

import pytest
from hypothesis import given, settings, strategies as st

from drivers.framing import Deframer, Scan
from drivers.idcard import codec
from drivers.idcard.errors import IdCardError, IdCardFrameError, SamError

H = bytes.fromhex

# -- golden vectors (idcard.md, "SAM serial frames") ------------------------------------
COMMAND_FRAMES = [
    ("sam_status", "AA AA AA 96 69 00 03 11 FF ED"),
    ("find_card", "AA AA AA 96 69 00 03 20 01 22"),
    ("select_card", "AA AA AA 96 69 00 03 20 02 21"),
    ("read_text_photo", "AA AA AA 96 69 00 03 30 01 32"),
    ("read_text_photo_fp", "AA AA AA 96 69 00 03 30 10 23"),
]
# Listed without a full frame: only CMD PARA are given.
COMMAND_CODES = [("sam_reset", 0x10, 0xFF), ("sam_id", 0x12, 0xFF), ("read_newest_address", 0x30, 0x03)]
REPLY_FRAMES = [
    ("find ok", "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", 0x9F, bytes(4)),
    ("no card", "AA AA AA 96 69 00 04 00 00 80 84", 0x80, b""),
]


@pytest.mark.parametrize("name,frame", COMMAND_FRAMES)
def test_command_frames_are_the_documented_bytes(name, frame):
    assert codec.encode_command(name) == H(frame)


@pytest.mark.parametrize("name,frame", COMMAND_FRAMES)
def test_the_framer_and_decoder_take_the_documented_commands(name, frame):
    raw = H(frame)
    assert codec.scan(raw) == Scan.frame(len(raw))
    request = codec.decode_command(raw)
    assert request.command is codec.BY_NAME[name] and request.data == b""


@pytest.mark.parametrize("name,cmd,para", COMMAND_CODES)
def test_undocumented_frames_follow_the_rules(name, cmd, para):
    frame = codec.encode_command(name)
    assert frame[:7] == H("AA AA AA 96 69 00 03") and frame[7:9] == bytes([cmd, para])
    assert frame[9] == 0x03 ^ cmd ^ para
    assert codec.scan(frame) == Scan.frame(10)


@pytest.mark.parametrize("what,frame,sw3,data", REPLY_FRAMES)
def test_documented_replies_decode(what, frame, sw3, data):
    raw = H(frame)
    assert codec.scan(raw) == Scan.frame(len(raw))
    reply = codec.decode_reply(raw)
    assert (reply.sw1, reply.sw2, reply.sw3, reply.data) == (0, 0, sw3, data)
    assert codec.encode_reply(sw3, data) == raw


def test_select_ok_is_sw3_90_and_eight_bytes():
    frame = codec.encode_reply(0x90, bytes(8))
    assert frame[5:7] == H("00 0C") and len(frame) == 19
    assert codec.parse_data(codec.BY_NAME["select_card"], codec.decode_reply(frame)) == bytes(8)


def read_reply(fingerprint: bytes | None = None) -> bytes:
    text, photo = "张".encode("utf-16-le").ljust(256, b" "), bytes(range(256)) * 4
    blocks = (text, photo) if fingerprint is None else (text, photo, fingerprint)
    return codec.encode_reply(0x90, codec.encode_blocks(*blocks))


def test_read_text_photo_reply_has_the_documented_layout():
    frame = read_reply()
    # preamble 5, LEN 2 (0x0508), SW 3, text length 2 (=256), photo length 2 (=1024), 256, 1024, CHK 1
    assert len(frame) == 1295 and frame[5:7] == H("05 08")
    assert frame[7:10] == H("00 00 90") and frame[10:12] == H("01 00") and frame[12:14] == H("04 00")
    blocks = codec.parse_data(codec.BY_NAME["read_text_photo"], codec.decode_reply(frame))
    assert (len(blocks.text), len(blocks.photo), blocks.fingerprint) == (256, 1024, None)
    assert repr(blocks) == "CardBlocks(text=256 bytes, photo=1024 bytes, fingerprint=None)"


@pytest.mark.parametrize("size", [0, 512, 1024])
def test_fingerprint_reply_has_a_third_length(size):
    frame = read_reply(bytes([7]) * size)
    assert frame[14:16] == struct.pack(">H", size) and len(frame) == 1297 + size
    blocks = codec.parse_data(codec.BY_NAME["read_text_photo_fp"], codec.decode_reply(frame))
    assert blocks.fingerprint == bytes([7]) * size


# -- decoding rules -----------------------------------------------------------------------
@pytest.mark.parametrize("code,zh,en", [
    (0x10, "校验和错", "checksum error"), (0x41, "读证/卡操作失败", "read failed"),
    (0x60, "SAM自检失败", "SAM self-test failed"), (0x80, "寻找证/卡失败", "find card failed"),
])
def test_failure_codes_raise_sam_error_in_both_languages(code, zh, en):
    with pytest.raises(SamError) as info:
        codec.parse_data(codec.BY_NAME["sam_status"], codec.decode_reply(codec.encode_reply(code)))
    assert info.value.code == code and zh in str(info.value) and en in str(info.value)


def test_every_documented_sw3_code_is_described():
    documented = {0x90, 0x91, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41, 0x47,
                  0x60, 0x66, 0x80, 0x81}
    assert set(codec.SW3) == documented
    assert "unknown" in codec.describe(0x55)[1]


def test_item_empty_is_no_newest_address():
    command = codec.BY_NAME["read_newest_address"]
    assert codec.parse_data(command, codec.decode_reply(codec.encode_reply(0x91))) is None
    data = "北京市".ljust(35).encode("utf-16-le")
    assert codec.parse_data(command, codec.decode_reply(codec.encode_reply(0x90, data))) == "北京市"


def test_sam_id_formats_like_the_vendors():
    sam_id = codec.SamId.parse("05.01-20200101-0000012345-1234567890")
    assert len(sam_id.raw) == 16 and str(sam_id) == "05.01-20200101-0000012345-1234567890"


@pytest.mark.parametrize("frame,why", [
    (read_reply()[:-1] + b"\x00", "checksum"),
    (H("AA AA AA 96 69 00 04 00 00 80 85"), "checksum"),
    (H("AA AA AA 96 69 00 05 00 00 80 84"), "LEN"),
    (H("AA AA AB 96 69 00 04 00 00 80 84"), "preamble"),
    (b"", "empty"),
])
def test_decoding_checks_everything(frame, why):
    with pytest.raises(IdCardFrameError):
        codec.decode_reply(frame)


@pytest.mark.parametrize("name,data", [
    ("find_card", bytes(3)), ("select_card", bytes(9)), ("sam_id", bytes(15)),
    ("read_text_photo", codec.encode_blocks(bytes(255), bytes(1024))),  # text not 256
    ("read_text_photo", struct.pack(">HH", 256, 1024) + bytes(1000)),  # lengths lie
    ("read_text_photo_fp", codec.encode_blocks(bytes(256), bytes(1024), bytes(100))),
])
def test_reply_layouts_are_checked(name, data):
    command = codec.BY_NAME[name]
    with pytest.raises(IdCardFrameError):
        codec.parse_data(command, codec.decode_reply(codec.encode_reply(command.ok, data)))


# -- the framer -------------------------------------------------------------------------
def test_framer_needs_more_then_frames():
    frame = H("AA AA AA 96 69 00 04 00 00 80 84")
    for cut in range(1, len(frame)):
        assert codec.scan(frame[:cut]) == Scan.need()
    assert codec.scan(frame + b"\xAA") == Scan.frame(len(frame))


def test_framer_drops_garbage_keeping_a_cut_preamble():
    assert codec.scan(b"\x01\x02\xAA\xAA") == Scan.drop(2)
    assert codec.scan(b"\x01\x02\x03") == Scan.drop(3)
    assert codec.scan(b"\x00" + codec.encode_reply(0x90)) == Scan.drop(1)


def test_framer_refuses_impossible_lengths_and_bad_checksums():
    assert codec.scan(H("AA AA AA 96 69 00 02 00 00")) == Scan.drop(1)
    assert codec.scan(H("AA AA AA 96 69 FF FF 00")) == Scan.drop(1)
    assert codec.scan(H("AA AA AA 96 69 00 04 00 00 80 85")) == Scan.drop(1)


def test_deframer_finds_a_frame_after_a_corrupt_one():
    good = H("AA AA AA 96 69 00 04 00 00 80 84")
    bad = good[:-1] + b"\x00"
    d = Deframer(codec.scan)
    assert d.feed(bad + good) == [good] and d.dropped == len(bad)


# -- fuzzing ------------------------------------------------------------------------------
frames = st.builds(lambda sw3, data: codec.encode_reply(sw3, data),
                   st.integers(0, 255), st.binary(max_size=300))
no_aa = st.binary(max_size=40).map(lambda b: b.replace(b"\xAA", b""))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_scan_never_raises_and_answers_sensibly(buf):
    result = codec.scan(buf)
    assert result.kind in ("need", "drop", "frame")
    if result.kind != "need":
        assert 1 <= result.length <= len(buf)
    if result.kind == "frame":
        codec.decode_command(buf[:result.length])  # a validated frame always decodes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_decoders_raise_only_their_own_error(buf):
    for decode in (codec.decode_reply, codec.decode_command):
        try:
            decode(buf)
        except IdCardFrameError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(codec.COMMANDS), st.integers(0, 255), st.binary(max_size=1400))
def test_reply_data_parsing_raises_only_the_package_error(command, sw3, data):
    try:
        codec.parse_data(command, codec.decode_reply(codec.encode_reply(sw3, data)))
    except IdCardError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(no_aa, frames), max_size=5), st.lists(st.integers(1, 50), min_size=1, max_size=20))
def test_deframer_recovers_every_frame_from_garbage_and_any_chunking(items, cuts):
    stream = b"".join(garbage + frame for garbage, frame in items)
    d, out, at, i = Deframer(codec.scan), [], 0, 0
    while at < len(stream):
        step = cuts[i % len(cuts)]
        out += d.feed(stream[at:at + step])
        at, i = at + step, i + 1
    assert out == [frame for _, frame in items]


@settings(max_examples=200, deadline=None)
@given(frames, st.data())
def test_truncated_or_corrupted_frames_never_pass(frame, data):
    cut = data.draw(st.integers(0, len(frame) - 1))
    assert codec.scan(frame[:cut]).kind != "frame"
    flip = data.draw(st.integers(1, 255))
    corrupt = frame[:-1] + bytes([frame[-1] ^ flip])
    assert codec.scan(corrupt).kind == "drop"
    with pytest.raises(IdCardFrameError):
        codec.decode_reply(corrupt)
