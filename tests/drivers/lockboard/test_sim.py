"""The simulator in-process: it answers as a board would, and ignores what a board would."""
import time

import pytest
from hypothesis import given, settings, strategies as st

from drivers.lockboard.codec import BCC, KERONG
from drivers.lockboard.errors import LockboardConfigError, LockboardFrameError
from drivers.lockboard.sim import LockboardSim, from_params, parse_fault
from drivers.lockboard.status import read_board


def board_reply(sim, fam, board):
    frames = sim.receive(fam.encode("status" if fam is KERONG else "status_board", board))
    return read_board(fam, fam.decode_reply(frames), doors=8)


def test_unlock_opens_and_replies_with_the_door_open():
    sim = LockboardSim("kerong", boards=2, doors=8)
    reply = KERONG.decode_reply(sim.receive(KERONG.encode("unlock", 1, 4)))
    assert reply.board == 1 and reply.lock == 3
    assert read_board(KERONG, reply, doors=8).open_doors == [4]
    assert sim.state()["boards"]["1"]["open"] == [4] and sim.received["unlock"] == 1


def test_requests_for_absent_boards_and_invalid_frames_are_ignored():
    sim = LockboardSim("bcc", boards=2, doors=8)
    assert sim.receive(BCC.encode("unlock", 5, 1)) == b""
    assert sim.receive(bytes.fromhex("8A 01 01 11 9C")) == b""  # bad checksum
    assert sim.receive(bytes.fromhex("80 01 01 22 A2")) == b""  # unknown command
    assert not any(b["open"] for b in sim.state()["boards"].values())


def test_a_request_split_across_reads_is_answered_once_whole():
    sim = LockboardSim("bcc", boards=1, doors=8)
    frame = BCC.encode("status", 1, 2)
    assert sim.receive(frame[:2]) == b"" and len(sim.receive(frame[2:])) == 5


def test_auto_close_and_control_close():
    sim = LockboardSim("kerong", boards=1, doors=8, auto_close=0.5)
    sim.receive(KERONG.encode("unlock", 0, 1))
    sim.receive(KERONG.encode("unlock", 0, 2))
    sim.control({"cmd": "close", "board": 0, "door": 2})
    assert board_reply(sim, KERONG, 0).open_doors == [1]
    sim.poll(float("inf"))
    assert board_reply(sim, KERONG, 0).open_doors == []


def test_status_all_answers_for_every_online_board():
    sim = LockboardSim("kerong", addresses=[3, 7, 9], doors=16, faults=["offline:7"])
    out = sim.receive(KERONG.encode("status_all"))
    assert [KERONG.decode_reply(out[i:i + 9]).board for i in range(0, len(out), 9)] == [3, 9]


def test_bcc_find_address_with_several_boards_is_a_collision():
    assert BCC.decode_reply(LockboardSim("bcc", boards=1).receive(BCC.encode("find_address"))).board == 1
    collided = LockboardSim("bcc", boards=2).receive(BCC.encode("find_address"))
    assert collided and all(BCC.scan_reply(collided[i:]).kind == "drop" for i in (0, 5))


def test_inverted_boards_and_items():
    sim = LockboardSim("kerong", boards=1, doors=4, inverted=True, items=True)
    sim.control({"cmd": "item", "board": 0, "door": 2})
    reply = KERONG.decode_reply(sim.receive(KERONG.encode("unlock", 0, 1)))
    assert read_board(KERONG, reply, doors=4, inverted=True, item_sensors=True).open_doors == [1]
    assert read_board(KERONG, reply, doors=4, item_sensors=True).occupied_doors == [2]
    assert read_board(KERONG, reply, doors=4).open_doors == [2, 3, 4]  # read with the wrong polarity


@pytest.mark.parametrize("spec,expected", [
    ("jammed:1/3", ("jammed", 1, 3, None)),
    ("no-reply=1", ("no_reply", None, None, 1)),
    ("offline:2", ("offline", 2, None, None)),
    ("bad-checksum:0=3", ("bad_checksum", 0, None, 3)),
    ("late:0/3@2.5", ("late", 0, 3, None)),
    ("late:1@0=2", ("late", 1, None, 2)),
    ("unwired:0/5", ("unwired", 0, 5, None)),
])
def test_fault_specs(spec, expected):
    f = parse_fault(spec)
    assert (f.name, f.board, f.door, f.count) == expected


def test_a_late_fault_has_its_delay():
    assert parse_fault("late:0/3@2.5").delay == 2.5 and parse_fault("late").delay is None


@pytest.mark.parametrize("spec", ["melted", "jammed:x", "offline:1=many", "late:0/1@soon", "late:0/1@-1"])
def test_bad_fault_specs_name_the_known_ones(spec):
    with pytest.raises(LockboardConfigError):
        parse_fault(spec)


@pytest.mark.parametrize("fam", [KERONG, BCC], ids=["kerong", "bcc"])
def test_a_late_latch_answers_shut_then_pops_open(fam):
    sim = LockboardSim(fam.name, boards=1, doors=8, faults=[f"late:{fam.boards[0]}/2@0.5"])
    board = fam.boards[0]
    reply = fam.decode_reply(sim.receive(fam.encode("unlock", board, 2)))
    from drivers.lockboard.status import door_state
    assert door_state(fam, reply, 2) == "closed"  # the unlock's reply shows it shut …
    assert sim.state()["boards"][str(board)]["open"] == []
    sim.poll(time.monotonic() + 0.6)
    assert sim.state()["boards"][str(board)]["open"] == [2]  # … then it pops open


def test_a_late_latch_on_a_door_standing_open_is_pushed_shut_first():
    sim = LockboardSim("kerong", boards=1, doors=8, faults=["late:0/4@0.5"])
    sim.control({"cmd": "open", "board": 0, "door": 4})
    reply = KERONG.decode_reply(sim.receive(KERONG.encode("unlock", 0, 4)))
    assert read_board(KERONG, reply, doors=8).open_doors == []
    sim.poll(time.monotonic() + 0.6)
    assert board_reply(sim, KERONG, 0).open_doors == [4]


def test_late_with_a_count_wears_off_and_control_sets_the_delay():
    sim = LockboardSim("kerong", boards=1, doors=8)
    sim.control({"cmd": "fault", "name": "late", "board": 0, "door": 1, "count": 1, "delay": 30})
    assert sim.state()["faults"][0]["delay"] == 30
    sim.receive(KERONG.encode("unlock", 0, 1))
    assert board_reply(sim, KERONG, 0).open_doors == [] and sim.faults == []
    sim.receive(KERONG.encode("unlock", 0, 1))  # the next unlock is a normal one
    assert board_reply(sim, KERONG, 0).open_doors == [1]


@pytest.mark.parametrize("fam", [KERONG, BCC], ids=["kerong", "bcc"])
def test_an_unwired_door_reads_closed_and_empty_whatever_it_does(fam):
    board = fam.boards[0]
    sim = LockboardSim(fam.name, boards=1, doors=8, items=fam is KERONG, faults=[f"unwired:{board}/3"])
    sim.control({"cmd": "item", "board": board, "door": 3})
    reply = fam.decode_reply(sim.receive(fam.encode("unlock", board, 3)))
    from drivers.lockboard.status import door_state
    assert door_state(fam, reply, 3) == "closed"
    assert sim.state()["boards"][str(board)]["open"] == [3]  # it did open
    sim.receive(fam.encode("unlock", board, 4))
    whole = fam.decode_reply(sim.receive(fam.encode("status" if fam is KERONG else "status_board", board)))
    status = read_board(fam, whole, doors=8, item_sensors=fam is KERONG)
    assert status.open_doors == [4] and status.occupied_doors == []


def test_counted_faults_wear_off():
    sim = LockboardSim("bcc", boards=1, faults=["no_reply=1"])
    assert sim.receive(BCC.encode("status", 1, 1)) == b""
    assert len(sim.receive(BCC.encode("status", 1, 1))) == 5


def test_from_params_matches_the_default_config_url_and_rejects_unknown_keys():
    sim = from_params({"protocol": "kerong", "boards": "2", "doors": "16", "auto_close": "8"})
    assert list(sim.boards) == [0, 1] and sim.auto_close == 8
    sim = from_params({"protocol": "bcc", "addresses": "4,9", "doors": "48", "status_bytes": "6",
                       "fault": "jammed:4/1,garbage", "reply_header": "8a"})
    assert list(sim.boards) == [4, 9] and [f.name for f in sim.faults] == ["jammed", "garbage"]
    with pytest.raises(LockboardConfigError, match="colour"):
        from_params({"colour": "red"})
    with pytest.raises(LockboardConfigError):
        from_params({"protocol": "bcc", "doors": "48"})  # 48 doors need 6 status bytes


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["kerong", "bcc"]), st.lists(st.binary(max_size=24), max_size=6), st.data())
def test_nothing_but_a_valid_unlock_for_a_present_board_opens_a_door(protocol, chunks, data):
    """Random bytes, and valid frames for boards that are not there, never move a lock."""
    sim = LockboardSim(protocol, addresses=[2, 3], doors=8)
    fam = sim.family
    absent = data.draw(st.sampled_from([b for b in fam.boards if b not in (2, 3)]))
    chunks.append(fam.encode("unlock", absent, 1))
    for chunk in chunks:
        sim.receive(chunk)  # never raises
    commanded = set()
    for frame in sim.history:
        try:
            request = fam.decode_request(bytes.fromhex(frame))
        except LockboardFrameError:
            continue
        if request.command in ("unlock", "unlock_all") and request.board in (2, 3):
            commanded.add(request.board)
    for address, board in sim.state()["boards"].items():
        assert not board["open"] or int(address) in commanded


def test_the_sim_url_runs_in_process():
    from drivers.lockboard.device import BoardSpec, LockBus, Outcome

    url = "sim://lockboard?protocol=bcc&boards=2&doors=8&fault=jammed:2/5"
    with LockBus(url, "bcc", [BoardSpec(1, 8), BoardSpec(2, 8)], timeout=0.1) as bus:
        assert bus.unlock(1, 5).outcome is Outcome.OPENED
        assert bus.unlock(2, 5).outcome is Outcome.UNKNOWN
        assert bus.status_all()[1].open_doors == [5]
