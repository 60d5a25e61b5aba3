"""The locker daemon's heartbeat carries the lock boards: each bus and board as the
board simulator really answers, an offline board reported with what to do."""
from __future__ import annotations


def test_the_probe_reports_each_bus_and_board_as_the_simulator_answers(daemon, sim):
    found = daemon.health()
    buses = {k: v for k, v in found.items() if " board " not in k}
    boards = {k: v for k, v in found.items() if " board " in k}
    assert buses and all(h.state == "ok" for h in buses.values()), buses
    assert len(boards) == 2 and all(h.state == "ok" for h in boards.values()), boards

    sim.request(cmd="fault", name="offline", board=1)
    try:
        found = daemon.health()
    finally:
        sim.request(cmd="reset")
    bus = next(h for k, h in found.items() if " board " not in k)
    assert bus.state == "degraded", bus
    assert bus.data["offline"] == [1]
    down = [h for k, h in found.items() if k.endswith("board 1")]
    assert down and down[0].state == "down" and down[0].fix, found


def test_the_sync_agent_gets_the_probe(make_config):
    from locker.daemon import Daemon

    daemon = Daemon(make_config(sync=True))
    try:
        assert daemon.agent is not None
        assert set(daemon.agent.peripherals()) == set(daemon.health())
    finally:
        daemon.bank.close()
        daemon.store.close()
