"""Golden byte vectors of shared/protocols/lockboard.md, both directions, and the framers."""
import pytest

from drivers.framing import Deframer, Scan
from drivers.lockboard.codec import BCC, KERONG, AddressReply, DoorReply, Request, SwitchReply, family
from drivers.lockboard.errors import LockboardConfigError, LockboardFrameError
from drivers.lockboard.status import DoorState, read_board, read_door

H = bytes.fromhex

# (family, command, board, door) -> the verified request bytes
REQUESTS = [
    (KERONG, "status", 0, None, "02 00 30 03 35"),
    (KERONG, "unlock", 0, 1, "02 00 31 03 36"),
    (KERONG, "unlock", 1, 1, "02 10 31 03 46"),
    (KERONG, "unlock", 2, 6, "02 25 31 03 5B"),
    (KERONG, "status_all", None, None, "02 F0 32 03 27"),
    (BCC, "unlock", 1, 1, "8A 01 01 11 9B"),
    (BCC, "unlock", 3, 12, "8A 03 0C 11 94"),
    (BCC, "status", 1, 1, "80 01 01 33 B3"),
    (BCC, "status_board", 1, None, "80 01 00 33 B2"),
    (BCC, "find_address", None, None, "80 01 00 99 18"),
]

# verified reply bytes -> the message, and the open doors under default polarity
REPLIES = [
    (KERONG, "02 00 35 FD FF 00 00 03 36", SwitchReply(0, 0xFFFD, 16, 0, 0), [2]),
    (BCC, "80 01 01 11 91", DoorReply(1, 1, 0x11, 0x80), [1]),
    (BCC, "8A 01 01 11 9B", DoorReply(1, 1, 0x11, 0x8A), [1]),
    (BCC, "80 01 00 00 02 01 33 B1", SwitchReply(1, 0x0201, 32), [1, 10]),
]


@pytest.mark.parametrize("fam,command,board,door,wire", REQUESTS, ids=lambda v: getattr(v, "name", None))
def test_request_vectors_encode(fam, command, board, door, wire):
    assert fam.encode(command, board, door) == H(wire)


@pytest.mark.parametrize("fam,command,board,door,wire", REQUESTS, ids=lambda v: getattr(v, "name", None))
def test_request_vectors_frame_and_decode(fam, command, board, door, wire):
    frame = H(wire)
    assert fam.scan_request(frame) == Scan.frame(len(frame))
    assert fam.decode_request(frame) == Request(command, board, door)


@pytest.mark.parametrize("fam,wire,message,open_doors", REPLIES, ids=lambda v: getattr(v, "name", None))
def test_reply_vectors_decode(fam, wire, message, open_doors):
    frame = H(wire)
    length = fam.board_reply_length(4) if isinstance(message, SwitchReply) else 0
    assert fam.scan_reply(frame, length) == Scan.frame(len(frame))
    assert fam.decode_reply(frame) == message
    if isinstance(message, SwitchReply):
        assert read_board(fam, message, doors=message.width).open_doors == open_doors
    else:
        assert read_door(fam, message, message.door).state is DoorState.OPEN


@pytest.mark.parametrize("fam,wire,message,open_doors", REPLIES, ids=lambda v: getattr(v, "name", None))
def test_reply_vectors_encode(fam, wire, message, open_doors):
    assert fam.encode_reply(message) == H(wire)


def test_bcc_find_address_reply():
    frame = BCC.encode_reply(AddressReply(7))
    assert frame[:4] == H("80 01 07 99") and BCC.decode_reply(frame) == AddressReply(7)


@pytest.mark.parametrize("fam,command,board,door", [
    (KERONG, "unlock", 16, 1), (KERONG, "unlock", 0, 0), (KERONG, "unlock", 0, 17), (KERONG, "status", -1, None),
    (BCC, "unlock", 0, 1), (BCC, "unlock", 65, 1), (BCC, "unlock", 1, 49), (BCC, "status", 1, 0),
    (KERONG, "reboot", 0, None),
])
def test_impossible_numbers_are_config_errors(fam, command, board, door):
    with pytest.raises(LockboardConfigError) as info:
        fam.encode(command, board, door)
    assert info.value.hint


def test_unknown_protocol_names_the_fix():
    with pytest.raises(LockboardConfigError, match="detect"):
        family("modbus")
    assert family(" KERONG ") is KERONG


@pytest.mark.parametrize("fam,stream,frames,dropped", [
    # noise, then a frame: the framer drops up to the next header byte and resyncs
    (KERONG, "FF 13 02 00 35 FD FF 00 00 03 36", ["02 00 35 FD FF 00 00 03 36"], 2),
    # a header byte inside the noise: a false start that fails its CMD check
    (KERONG, "02 99 02 00 35 FD FF 00 00 03 36", ["02 00 35 FD FF 00 00 03 36"], 2),
    # a frame with a bad checksum, then a good one
    (KERONG, "02 00 35 FD FF 00 00 03 37 02 00 35 FD FF 00 00 03 36", ["02 00 35 FD FF 00 00 03 36"], 9),
    (BCC, "00 8A 00 80 55 AA 80 01 01 11 91", ["80 01 01 11 91"], 6),
    (BCC, "80 01 01 11 92 8A 01 01 11 9B", ["8A 01 01 11 9B"], 5),
])
def test_framer_resyncs_on_the_next_header(fam, stream, frames, dropped):
    deframer = Deframer(fam.scan_reply)
    data = H(stream)
    out = [f for i in range(len(data)) for f in deframer.feed(data[i:i + 1])]  # byte by byte, as a UART
    assert [f.hex(" ").upper() for f in out] == frames
    assert deframer.dropped == dropped


def test_bcc_board_reply_needs_to_be_expected():
    """A query-all reply framed as five-byte frames would be misread: the caller
    says which reply it awaits, and only then does the long frame pass."""
    frame = H("80 01 00 00 02 01 33 B1")
    assert BCC.scan_reply(frame, 8) == Scan.frame(8)
    assert BCC.scan_reply(frame[:5], 8) == Scan.need()
    assert BCC.scan_reply(frame) == Scan.drop(len(frame))  # not a five-byte frame: garbage


@pytest.mark.parametrize("fam,wire", [
    (KERONG, "02 00 35 FD FF 00 00 03"),  # truncated
    (KERONG, "02 00 35 FD FF 00 00 04 37"),  # no ETX
    (KERONG, "02 00 30 03 35"),  # a request, not a reply
    (BCC, "80 01 01 22 A2"),  # unknown status byte
    (BCC, "80 01 01 33 B3"),  # a request echoed back
    (BCC, "80 41 01 11 D1"),  # board 65
    (BCC, "8A 01 00 33 B8 00"),  # a long frame with the wrong header
    (BCC, ""),
])
def test_invalid_replies_raise_the_package_error(fam, wire):
    with pytest.raises(LockboardFrameError):
        fam.decode_reply(H(wire))


@pytest.mark.parametrize("fam,wire", [
    (KERONG, "02 F1 32 03 28"),  # status-all must address F0
    (KERONG, "02 00 34 03 39"),  # unknown command
    (BCC, "8A 01 01 33 B9"),  # query with the unlock header
    (BCC, "80 00 01 33 B2"),  # board 0
])
def test_invalid_requests_raise_the_package_error(fam, wire):
    with pytest.raises(LockboardFrameError):
        fam.decode_request(H(wire))


def test_command_tables_are_data():
    for fam in (KERONG, BCC):
        names = [c.name for c in fam.commands]
        assert len(names) == len(set(names))
        assert not fam.command("unlock").safe  # an unlock is never resent
        assert all(c.safe for c in fam.commands if c.name.startswith(("status", "find")))
