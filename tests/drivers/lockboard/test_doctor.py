"""What ``doctor`` shows for a lock bus, and the fix it names."""
from drivers.health import DEGRADED, DOWN, OK
from drivers.lockboard.device import BoardSpec, LockBus
from drivers.lockboard.doctor import health


def make_bus(sim, addresses, protocol=None):
    return LockBus(sim.path, protocol or sim.protocol, [BoardSpec(a, 8) for a in addresses], timeout=0.05,
                   retries=1, name="bus0")


def test_a_healthy_bus(sim):
    sim.request(cmd="open", board=sim.addresses[0], door=2)
    with make_bus(sim, sim.addresses) as bus:
        entries = health(bus)
    assert [e.state for e in entries] == [OK] * (1 + len(sim.addresses))
    assert entries[0].device == "lockboard bus0" and entries[0].data["online"] == sim.addresses
    assert entries[1].data["open_doors"] == [2] and "open doors: 2" in entries[1].detail


def test_one_silent_board_points_at_its_dip_switches(sim):
    missing = sim.addresses[-1] + 1
    with make_bus(sim, [*sim.addresses[:2], missing]) as bus:
        entries = health(bus)
    assert entries[0].state == DEGRADED
    silent = entries[-1]
    assert silent.state == DOWN and silent.data["address"] == missing
    assert "DIP switches" in silent.fix and str(missing) in silent.fix
    if sim.protocol == "kerong":  # its broadcast also finds the board answering at an unconfigured address
        assert f"address(es) {sim.addresses[2]} answer but are not configured" in silent.fix


def test_the_wrong_protocol_is_named(sim):
    other = "bcc" if sim.protocol == "kerong" else "kerong"
    with make_bus(sim, [1], protocol=other) as bus:
        entries = health(bus)
    assert entries[0].state == DOWN
    assert f'set protocol = "{sim.protocol}"' in entries[0].fix and entries[1].fix == entries[0].fix


def test_bytes_that_never_validate_point_at_the_baud_rate(sim):
    sim.request(cmd="fault", name="bad_checksum")
    with make_bus(sim, sim.addresses[:1]) as bus:
        entries = health(bus, diagnose=False)
    assert entries[0].state == DOWN and "baud rate" in entries[0].fix


def test_nothing_answers_suggests_the_wiring(sim):
    sim.request(cmd="fault", name="offline")
    with make_bus(sim, sim.addresses[:1]) as bus:
        entries = health(bus)
    assert entries[0].state == DOWN and "A/B" in entries[0].fix and "detect" in entries[0].fix


def test_a_missing_port():
    bus = LockBus("serial:///dev/ttyNOPE3", "kerong", [BoardSpec(0, 16)], name="bus1")
    [entry] = health(bus)
    assert entry.state == DOWN and "/dev/ttyNOPE3" in entry.detail and "ls /dev/ttyUSB*" in entry.fix
    assert entry.as_dict()["data"]["protocol"] == "kerong"
