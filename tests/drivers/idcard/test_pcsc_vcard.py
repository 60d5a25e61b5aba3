"""The virtual card (drivers.idcard.vcard): vpcd's wire framing, the card's answers,
and its TCP connection against a stand-in for vpcd. No pcscd needed."""
from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import given, settings, strategies as st

from drivers.errors import FrameError
from drivers.idcard.pcsc_errors import ReaderNotFound, VpcdError
from drivers.idcard.vcard import (DEFAULT_ATR, DEMO_AID, DEMO_CONTENT, Command, Control,
                                  InsertedCard, VirtualCard, deframer, encode_frame,
                                  parse_command, parse_message, scan)

UID = bytes.fromhex("04A1B2C3D4E5F6")
AID = bytes.fromhex("F04B494F534B01")


# -- framing: golden vectors -----------------------------------------------------------

@pytest.mark.parametrize("frame,message", [
    ("00 01 00", Control.POWER_OFF),
    ("00 01 01", Control.POWER_ON),
    ("00 01 02", Control.RESET),
    ("00 01 04", Control.GET_ATR),
    ("00 05 FF CA 00 00 00", bytes.fromhex("FFCA000000")),
    ("00 02 6D 00", bytes.fromhex("6D00")),
])
def test_messages_parse(frame, message):
    raw = bytes.fromhex(frame)
    assert scan(raw).kind == "frame" and scan(raw).length == len(raw)
    assert parse_message(raw) == message


@pytest.mark.parametrize("buf,kind,length", [
    ("", "need", 0),
    ("00", "need", 0),
    ("00 05 FF CA", "need", 0),
    ("00 00 01 04", "drop", 2),  # a zero length is garbage
    ("00 01 04 00 01", "frame", 3),  # one frame, the rest waits
])
def test_scan(buf, kind, length):
    result = scan(bytes.fromhex(buf))
    assert (result.kind, result.length) == (kind, length)


@pytest.mark.parametrize("frame", ["00 01 03", "00 01 FF", "00 02 04", "00 01", "", "00 03 00 A4"])
def test_bad_messages_are_vpcd_errors(frame):
    with pytest.raises(VpcdError) as info:
        parse_message(bytes.fromhex(frame))
    assert isinstance(info.value, FrameError) and info.value.hint


def test_encode_frame_refuses_what_cannot_be_framed():
    assert encode_frame(b"\x3b\x00") == bytes.fromhex("00 02 3B 00")
    for payload in (b"", bytes(0x10000)):
        with pytest.raises(VpcdError):
            encode_frame(payload)


def test_default_atr_checksum():
    # TCK: XOR of every byte after TS is zero.
    check = 0
    for byte in DEFAULT_ATR[1:]:
        check ^= byte
    assert check == 0


# -- framing: properties ------------------------------------------------------------------

@given(st.binary(min_size=1, max_size=600), st.lists(st.integers(0, 700), max_size=5))
def test_frames_survive_any_chunking(payload, cuts):
    wire = encode_frame(payload) + encode_frame(b"\x04")
    frames, framer, last = [], deframer(), 0
    for cut in sorted(set(c % (len(wire) + 1) for c in cuts)) + [len(wire)]:
        frames += framer.feed(wire[last:cut])
        last = cut
    assert frames == [encode_frame(payload), encode_frame(b"\x04")]
    expected = payload if len(payload) > 1 else None
    if expected is not None:
        assert parse_message(frames[0]) == payload
    assert parse_message(frames[1]) is Control.GET_ATR


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_garbage_raises_only_vpcd_error(garbage):
    card = VirtualCard(uid=UID)
    for frame in deframer().feed(garbage):
        try:
            message = parse_message(frame)
        except VpcdError:
            continue
        reply = card.handle(message)
        if isinstance(message, bytes):
            assert reply is not None and len(reply) >= 2  # always a status word


@given(st.binary(max_size=300))
def test_card_answers_any_apdu_with_a_status_word(apdu):
    response = VirtualCard(uid=UID).respond(apdu)
    assert len(response) >= 2


# -- command APDUs --------------------------------------------------------------------------

@pytest.mark.parametrize("apdu,command", [
    ("FF CA 00 00", Command(0xFF, 0xCA, 0, 0)),
    ("FF CA 00 00 00", Command(0xFF, 0xCA, 0, 0, le=256)),
    ("00 A4 04 00 02 AA BB", Command(0, 0xA4, 4, 0, b"\xAA\xBB")),
    ("00 A4 04 00 02 AA BB 10", Command(0, 0xA4, 4, 0, b"\xAA\xBB", 16)),
    ("00 B0 00 00 00 01 00", Command(0, 0xB0, 0, 0, le=256)),
    ("00 B0 00 00 00 00 00", Command(0, 0xB0, 0, 0, le=65536)),
    ("00 D6 00 00 00 00 02 AA BB", Command(0, 0xD6, 0, 0, b"\xAA\xBB")),
    ("00 D6 00 00 00 00 02 AA BB 00 08", Command(0, 0xD6, 0, 0, b"\xAA\xBB", 8)),
])
def test_commands_parse(apdu, command):
    assert parse_command(bytes.fromhex(apdu)) == command


@pytest.mark.parametrize("apdu", ["", "FF CA 00", "00 A4 04 00 05 AA", "00 B0 00 00 00 01",
                                  "00 B0 00 00 00 00 05 AA"])
def test_malformed_commands(apdu):
    assert parse_command(bytes.fromhex(apdu)) is None


@pytest.mark.parametrize("apdus,last_response", [
    (["FF CA 00 00 00"], UID.hex() + "9000"),
    (["FF CA 00 00"], UID.hex() + "9000"),
    (["FF CA 00 00 02"], "6C07"),  # wrong Le: the card says the right one
    (["FF CA 01 00 00"], "6A86"),
    (["00 A4 04 00 07 F04B494F534B01"], "9000"),
    (["00 A4 04 00 02 AABB"], "6A82"),  # unknown application
    (["00 A4 00 00 02 3F00"], "6A86"),  # select by file id: not on this card
    (["00 B0 00 00 00"], "6986"),  # nothing selected
    (["00 A4 04 00 07 F04B494F534B01", "00 B0 00 00 00"], "68699000"),
    (["00 A4 04 00 07 F04B494F534B01", "00 B0 00 01 01"], "699000"),
    (["00 A4 04 00 07 F04B494F534B01", "00 B0 00 09 00"], "6B00"),  # offset beyond the end
    (["00 A4 04 00 07 F04B494F534B01", "00 B0 81 00 00"], "6A86"),  # short EF id
    (["00 12 00 00"], "6D00"),  # unknown instruction
    (["FF 00 00 00"], "6D00"),
    (["00 A4"], "6700"),
])
def test_card_answers(apdus, last_response):
    card = VirtualCard(uid=UID, files={AID: b"hi"})
    for apdu in apdus:
        response = card.handle(bytes.fromhex(apdu))
    assert response == bytes.fromhex(last_response)


def test_controls():
    card = VirtualCard(uid=UID)
    assert card.handle(Control.GET_ATR) == DEFAULT_ATR
    assert card.handle(Control.POWER_ON) is None and card.powered
    card.handle(bytes.fromhex("00 A4 04 00 07") + DEMO_AID)
    assert card.selected == DEMO_AID
    assert card.handle(Control.RESET) is None and card.selected is None and card.powered
    assert card.handle(Control.POWER_OFF) is None and not card.powered


# -- the connection, against a stand-in for vpcd ------------------------------------------------

class FakeVpcd:
    """The reader's side of vpcd's protocol on a loopback port."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None
        self.framer = deframer()

    def accept(self) -> None:
        self.server.settimeout(5)
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)

    def ask(self, payload: bytes) -> bytes:
        assert self.conn is not None
        self.conn.sendall(encode_frame(payload))
        while True:
            frames = self.framer.feed(self.conn.recv(4096))
            if frames:
                return frames[0][2:]

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.server.close()


@pytest.fixture
def vpcd():
    fake = FakeVpcd()
    yield fake
    fake.close()


def test_inserted_card_answers_over_tcp(vpcd):
    inserted = InsertedCard(VirtualCard(uid=UID), port=vpcd.port)
    with inserted:
        vpcd.accept()
        assert vpcd.ask(b"\x04") == DEFAULT_ATR
        vpcd.conn.sendall(encode_frame(b"\x01"))  # power on: no answer due
        vpcd.conn.sendall(bytes.fromhex("00 01 07"))  # unknown control: ignored, stays inserted
        assert vpcd.ask(bytes.fromhex("FFCA000000")) == UID + b"\x90\x00"
        assert vpcd.ask(bytes.fromhex("00A4040007") + DEMO_AID) == b"\x90\x00"
        assert vpcd.ask(bytes.fromhex("00B0000000")) == DEMO_CONTENT + b"\x90\x00"
        assert inserted.card.powered
    # Removing closes the connection: the reader reads end-of-stream.
    assert vpcd.conn.recv(10) == b""
    assert inserted.closed.is_set() and not inserted.reader_closed


def test_reader_closing_ends_the_insertion(vpcd):
    inserted = InsertedCard(VirtualCard(uid=UID), port=vpcd.port).insert()
    try:
        vpcd.accept()
        assert vpcd.ask(b"\x04") == DEFAULT_ATR
        vpcd.conn.close()
        vpcd.conn = None
        assert inserted.closed.wait(5)
        assert inserted.reader_closed
    finally:
        inserted.remove()


def test_no_reader_listening_is_reader_not_found():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ReaderNotFound) as info:
        InsertedCard(VirtualCard(uid=UID), port=port).insert(timeout=0.1)
    assert str(port) in str(info.value) and "drivers.idcard.pcscd" in info.value.hint


def test_threads_do_not_leak(vpcd):
    before = threading.active_count()
    inserted = InsertedCard(VirtualCard(uid=UID), port=vpcd.port).insert()
    vpcd.accept()
    inserted.remove()
    assert threading.active_count() == before
