"""Unlocks overtake polling: once an urgent turn waits, no routine one starts."""
import threading
import time

from drivers.lockboard.turns import BusTurns


def test_an_urgent_waiter_goes_before_routine_waiters():
    turns = BusTurns()
    order: list[str] = []

    def routine(name):
        with turns.turn():
            order.append(name)

    def urgent():
        with turns.turn(urgent=True):
            order.append("unlock")

    with turns.turn():  # a transaction on the wire
        pollers = [threading.Thread(target=routine, args=(f"poll{i}",)) for i in range(3)]
        for t in pollers:
            t.start()
        time.sleep(0.05)  # the pollers queue first
        unlock = threading.Thread(target=urgent)
        unlock.start()
        while not turns.urgent_waiting:
            time.sleep(0.001)
    for t in [unlock, *pollers]:
        t.join(2)
    assert order[0] == "unlock" and sorted(order[1:]) == ["poll0", "poll1", "poll2"]


def test_a_busy_poller_cannot_starve_an_unlock():
    """Counted, not timed: while an unlock waits, at most the poller's transaction
    already on the wire finishes before it (a loaded machine slows both alike)."""
    turns = BusTurns()
    stop = threading.Event()
    taken: list[str] = []

    def poller():
        while not stop.is_set():
            with turns.turn():
                taken.append("poll")
                time.sleep(0.005)

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for t in threads:
        t.start()
    while len(taken) < 4:
        time.sleep(0.001)
    taken.append("asked")
    with turns.turn(urgent=True):
        taken.append("unlock")
    stop.set()
    for t in threads:
        t.join(2)
    between = taken[taken.index("asked") + 1:taken.index("unlock")]
    assert len(between) <= 1, f"{len(between)} polls went before the waiting unlock"
