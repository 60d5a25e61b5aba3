"""Each simulator fault mode gives its own outcome, and an unlock is never resent."""
import time

import pytest

from drivers.lockboard.device import Outcome
from drivers.lockboard.status import DoorState

O, U = Outcome.OPENED, Outcome.UNKNOWN
OPEN, CLOSED, OFF = DoorState.OPEN, DoorState.CLOSED, DoorState.OFFLINE

# fault -> (outcome, what the unlock's reply showed, what the status query after it
#           showed, garbage seen, words in the reason, the door really open in the sim)
FAULTS = {
    "no_reply": (U, None, OFF, False, "no reply from board", True),
    "bad_checksum": (U, None, OFF, True, "failed validation", True),
    "garbage": (O, OPEN, None, True, "reply shows the door open", True),
    "jammed": (U, CLOSED, CLOSED, False, "still closed", False),
    "offline": (U, None, OFF, False, "no reply from board", False),
    "silent_unlock": (O, None, OPEN, False, "status query then showed it open", True),
    "wrong_address": (U, None, OFF, False, "answered instead", True),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_outcome_and_the_unlock_is_sent_once(sim, bus, fault):
    board, door = sim.addresses[0], 4
    sim.request(cmd="fault", name=fault, board=board)
    result = bus.unlock(board, door, verify=True)
    outcome, observed, verified, garbage, words, really_open = FAULTS[fault]
    assert result.outcome is outcome, result.reason
    assert result.observed is observed
    assert (result.verified.state if result.verified else None) is verified
    assert (result.garbage > 0) is garbage
    assert words in result.reason
    state = sim.request(cmd="state")
    assert (door in state["boards"][str(board)]["open"]) is really_open
    assert state["received"]["unlock"] == 1, "an unlock was resent"


def test_a_late_latch_over_the_pty_is_unknown_then_open(sim, bus):
    board = sim.addresses[0]
    sim.request(cmd="fault", name="late", board=board, door=5, delay=0.3)
    result = bus.unlock(board, 5)
    assert result.outcome is Outcome.UNKNOWN and result.observed is DoorState.CLOSED, result.reason
    assert bus.door_status(board, 5).state is DoorState.CLOSED
    deadline = time.monotonic() + 5
    while bus.door_status(board, 5).state is not DoorState.OPEN:
        assert time.monotonic() < deadline, "the late door never popped open"
        time.sleep(0.05)
    assert sim.request(cmd="state")["received"]["unlock"] == 1


def test_an_unwired_door_over_the_pty_reads_closed_though_it_opened(sim, bus):
    board = sim.addresses[1]
    sim.request(cmd="fault", name="unwired", board=board, door=2)
    result = bus.unlock(board, 2, verify=True)
    assert result.outcome is Outcome.UNKNOWN and result.observed is DoorState.CLOSED
    assert 2 in sim.request(cmd="state")["boards"][str(board)]["open"]


def test_the_fault_outcomes_are_distinct():
    assert len(set(FAULTS.values())) == len(FAULTS)


def test_a_lost_reply_is_unknown_until_status_says_otherwise(sim, bus):
    board = sim.addresses[1]
    sim.request(cmd="fault", name="no_reply", board=board, count=1)
    result = bus.unlock(board, 2)
    assert result.outcome is Outcome.UNKNOWN and result.observed is None and result.verified is None
    assert "query status" in result.reason
    assert bus.door_status(board, 2).state is DoorState.OPEN  # status queries are safe: ask
    assert sim.request(cmd="state")["received"]["unlock"] == 1


def test_a_forced_door_is_open_without_a_command(sim, bus):
    board = sim.addresses[2]
    sim.request(cmd="fault", name="forced", board=board, door=3)
    door = bus.board_status(board).door(3)
    assert door.state is DoorState.OPEN and door.commanded_at is None
    assert "unlock" not in sim.request(cmd="state")["received"]


def test_status_queries_retry_but_unlocks_do_not(sim, bus):
    board = sim.addresses[0]
    sim.request(cmd="fault", name="offline", board=board)
    assert not bus.board_status(board).online
    bus.unlock(board, 1)
    received = sim.request(cmd="state")["received"]
    assert received.get("unlock") == 1
    assert sum(v for k, v in received.items() if k.startswith("status")) == 1 + bus.retries


def test_garbage_between_frames_is_dropped_and_replies_still_read(sim, bus):
    sim.request(cmd="fault", name="garbage")
    bus.unlock(sim.addresses[1], 1)
    statuses = bus.status_all()
    assert all(s.online for s in statuses.values())
    assert statuses[sim.addresses[1]].open_doors == [1]
    assert bus.garbage > 0
