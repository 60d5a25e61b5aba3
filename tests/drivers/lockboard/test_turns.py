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
    turns = BusTurns()
    stop = threading.Event()

    def poller():
        while not stop.is_set():
            with turns.turn():
                time.sleep(0.005)

    t = threading.Thread(target=poller)
    t.start()
    time.sleep(0.02)
    asked = time.monotonic()
    with turns.turn(urgent=True):
        waited = time.monotonic() - asked
    stop.set()
    t.join(2)
    assert waited < 0.02  # at most the one transaction already on the wire
