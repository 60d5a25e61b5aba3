"""Simulated buses as separate processes on ptys, shared by the session and reset
before each test, so the driver under test does real serial I/O."""
import pytest

from drivers.lockboard.device import BoardSpec, LockBus
from tests.support import SimProcess

SIMS = {
    # protocol: (simulator arguments, board addresses, doors per board)
    "kerong": (["--protocol", "kerong", "--boards", "3", "--doors", "16", "--items"], [0, 1, 2], 16),
    "bcc": (["--protocol", "bcc", "--boards", "3", "--doors", "24"], [1, 2, 3], 24),
}


@pytest.fixture(scope="session")
def running_sims():
    started: dict[str, SimProcess] = {}
    yield started
    for sim in started.values():
        sim.stop()


@pytest.fixture(params=sorted(SIMS))
def sim(request, running_sims) -> SimProcess:
    """A running simulator of ``sim.protocol``, every door closed, no faults, counts zero."""
    protocol = request.param
    if protocol not in running_sims or running_sims[protocol].proc.poll() is not None:
        running_sims[protocol] = SimProcess("drivers.lockboard.sim", *SIMS[protocol][0]).start()
    sim = running_sims[protocol]
    sim.request(cmd="reset")
    sim.protocol, sim.addresses, sim.doors = protocol, SIMS[protocol][1], SIMS[protocol][2]
    return sim


@pytest.fixture
def bus(sim):
    specs = [BoardSpec(a, sim.doors, item_sensors=sim.protocol == "kerong") for a in sim.addresses]
    bus = LockBus(sim.path, sim.protocol, specs, timeout=0.1, retries=1, name="test")
    yield bus
    bus.close()
