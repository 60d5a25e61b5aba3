"""LockBus against the simulator running as a separate process, both families."""
import threading
import time

import pytest

from drivers.errors import DeviceGone
from drivers.lockboard.device import BoardSpec, LockBus, Outcome
from drivers.lockboard.doctor import detect
from drivers.lockboard.errors import LockboardConfigError, LockBusGone, LockBusUnavailable
from drivers.lockboard.status import DoorState
from tests.support import SimProcess


def test_unlock_opens_the_door_and_status_shows_it(sim, bus):
    board = sim.addresses[1]
    before = time.time()
    result = bus.unlock(board, 5)
    assert result.outcome is Outcome.OPENED and result.observed is DoorState.OPEN
    assert before <= result.commanded_at <= result.replied_at
    assert sim.request(cmd="state")["boards"][str(board)]["open"] == [5]
    status = bus.board_status(board)
    assert status.online and status.open_doors == [5]
    assert status.door(5).commanded_at == result.commanded_at  # observed vs commanded, for the locker
    assert bus.door_status(board, 5).state is DoorState.OPEN
    assert bus.door_status(board, 6).state is DoorState.CLOSED and bus.door_status(board, 6).commanded_at is None


def test_door_closed_through_the_control_channel(sim, bus):
    board = sim.addresses[0]
    bus.unlock(board, 1)
    sim.request(cmd="close", board=board, door=1)
    assert bus.door_status(board, 1).state is DoorState.CLOSED


def test_status_of_every_board(sim, bus):
    bus.unlock(sim.addresses[2], sim.doors)
    statuses = bus.status_all()
    assert list(statuses) == sim.addresses
    assert all(s.online for s in statuses.values())
    assert statuses[sim.addresses[2]].open_doors == [sim.doors]


def test_an_offline_board_is_offline_not_closed(sim, bus):
    sim.request(cmd="fault", name="offline", board=sim.addresses[1])
    statuses = bus.status_all()
    off = statuses[sim.addresses[1]]
    assert not off.online and "no reply" in off.reason
    assert {d.state for d in off.doors} == {DoorState.OFFLINE}
    assert statuses[sim.addresses[0]].online
    assert bus.door_status(sim.addresses[1], 1).state is DoorState.OFFLINE


@pytest.mark.parametrize("sim", ["kerong"], indirect=True)  # bcc frames carry no item sensors
def test_item_sensors(sim, bus):
    sim.request(cmd="item", board=0, door=7)
    assert bus.board_status(0).occupied_doors == [7]
    with pytest.raises(LockboardConfigError):
        LockBus(sim.path, "bcc", [BoardSpec(1, 8, item_sensors=True)])


def test_scan_finds_the_boards_that_answer(sim, bus):
    result = bus.scan(range(sim.addresses[0], sim.addresses[0] + 6), probe_timeout=0.03)
    assert result.found == tuple(sim.addresses) and result.protocol == sim.protocol


def test_detect_tells_which_protocol_answers(sim):
    results = detect(sim.path, timeout=0.05)
    assert [r.protocol for r in results if r.found] == [sim.protocol]
    assert next(r for r in results if r.found).found == tuple(sim.addresses)


def test_sensor_polarity_is_configurable(sim):
    args = ["--protocol", sim.protocol, "--boards", "1", "--doors", "8", "--inverted"]
    with SimProcess("drivers.lockboard.sim", *args) as inverted:
        address = sim.addresses[0]
        right = LockBus(inverted.path, sim.protocol, [BoardSpec(address, 8, sensor_inverted=True)], timeout=0.1)
        with right:
            assert right.unlock(address, 2).outcome is Outcome.OPENED
            assert right.board_status(address).open_doors == [2]
        wrong = LockBus(inverted.path, sim.protocol, [BoardSpec(address, 8)], timeout=0.1)
        with wrong:
            assert wrong.board_status(address).open_doors == [1, 3, 4, 5, 6, 7, 8]


def test_bcc_status_bytes_per_board():
    args = ["--protocol", "bcc", "--addresses", "1,2", "--doors", "48", "--status-bytes", "6"]
    with SimProcess("drivers.lockboard.sim", *args) as sim:
        with LockBus(sim.path, "bcc", [BoardSpec(1, 48, status_bytes=6), BoardSpec(2, 32, status_bytes=4)],
                     timeout=0.1, retries=0) as bus:
            bus.unlock(1, 45)
            assert bus.board_status(1).open_doors == [45]
            assert not bus.board_status(2).online  # configured with the wrong reply length: never misread


def test_unlock_has_priority_over_a_busy_poller(sim):
    """Two pollers hammering status over the wire never put more than the one
    transaction already in flight ahead of an unlock. Counted in the simulator's
    own log of requests, not timed: a loaded machine slows every transaction alike."""
    delay = 0.04
    args = ["--protocol", sim.protocol, "--addresses", str(sim.addresses[0]), "--reply-delay", str(delay)]
    with SimProcess("drivers.lockboard.sim", *args) as slow:
        address = sim.addresses[0]
        with LockBus(slow.path, sim.protocol, [BoardSpec(address, 8)], timeout=2.0, unlock_timeout=2.0) as bus:
            stop = threading.Event()
            polls: list[bool] = []
            order: list[str] = []

            def poller():
                while not stop.is_set():
                    polls.append(bus.board_status(address).online)
                    order.append("poll")

            threads = [threading.Thread(target=poller) for _ in range(2)]
            for t in threads:
                t.start()
            while len(polls) < 3:
                time.sleep(0.005)
            order.append("asked")
            result = bus.unlock(address, 3)
            order.append("unlocked")
            stop.set()
            for t in threads:
                t.join(5)
    assert result.opened and all(polls) and len(polls) >= 3
    # A poll finishing between "asked" and "unlocked" is the one on the wire when the
    # unlock was asked; one more may have returned just before and be appended late.
    ahead = order[order.index("asked") + 1:order.index("unlocked")]
    assert len(ahead) <= 2, f"{len(ahead)} status transactions went ahead of a waiting unlock"


def test_a_vanished_simulator_is_device_gone_naming_the_port_then_reconnects(sim, tmp_path):
    link = str(tmp_path / "lockbus0")
    args = ["--protocol", sim.protocol, "--addresses", str(sim.addresses[0]), "--link", link]
    first = SimProcess("drivers.lockboard.sim", *args).start()
    bus = LockBus(link, sim.protocol, [BoardSpec(sim.addresses[0], 8)], timeout=0.1)
    try:
        assert bus.board_status(sim.addresses[0]).online
        first.kill()
        with pytest.raises(DeviceGone) as gone:
            bus.board_status(sim.addresses[0])
        assert isinstance(gone.value, LockBusGone) and link in str(gone.value) and gone.value.hint
        with pytest.raises(LockBusUnavailable):  # still unplugged
            bus.board_status(sim.addresses[0])
        with SimProcess("drivers.lockboard.sim", *args):
            assert bus.board_status(sim.addresses[0]).online
    finally:
        bus.close()
        first.stop()


def test_configuration_mistakes_are_config_errors(sim, bus):
    with pytest.raises(LockboardConfigError, match="not configured"):
        bus.unlock(sim.addresses[-1] + 1, 1)
    with pytest.raises(LockboardConfigError, match="no door"):
        bus.unlock(sim.addresses[0], sim.doors + 1)
    with pytest.raises(LockboardConfigError, match="share"):
        LockBus(sim.path, sim.protocol, [BoardSpec(sim.addresses[0], 8)] * 2)
