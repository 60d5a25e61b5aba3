"""Fault drills on the end-to-end journey (:mod:`tests.e2e.system`): SIGKILL of a
process at a random point, the server away for a whole journey, and the checks that
nothing was lost or done twice.

``python -m tests.e2e.drills --runs 100 [--seed N]`` runs the kill drill that many
times on one running system (each run a new case, its residence proof printed first
on a private cupsd; the kill point, the process and a delay of up to half a second
chosen at random) and prints the figures: runs, kills per process and per kill point,
events lost and duplicated (both must be 0). ``make drills`` runs it. The test suite
runs a few (``tests/e2e/test_fault_drills.py``; ``KIOSK_DRILL_RUNS`` or pytest's
``--drill-runs``).

The victims: the server, the locker daemon, the lock-board simulator and the kiosk
(:mod:`tests.e2e.kiosk_side`: its store, sync agent and flows). The kill points:
before each step of the journey but the first; inside each door operation, while
the door stands open (the resident's drop-off and pickup, the worker's collection
and return); and during the residence proof's print (the kiosk's call in flight).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests

from tests.e2e.system import LIFECYCLE, PROCESSES, Journey, System, applied_counts, kiosk_pending, locker_pending

RETRIES = 4


@dataclass
class Figures:
    runs: int = 0
    kills: dict[str, int] = field(default_factory=lambda: {name: 0 for name in PROCESSES})
    kill_points: dict[str, int] = field(default_factory=dict)  # "before step" / "inside step" -> count
    lost: list[str] = field(default_factory=list)  # case: lifecycle events the server never got
    duplicated: list[str] = field(default_factory=list)  # case: events applied more than once
    quarantined: list[str] = field(default_factory=list)
    delivery: list[str] = field(default_factory=list)  # outbox events missing at the server, twice, out of order
    interrupted_prints: list[str] = field(default_factory=list)  # certificates left "issued" by a killed kiosk
    retried_steps: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        kills = ", ".join(f"{k} {v}" for k, v in self.kills.items())
        return (f"{self.runs} runs in {self.seconds:.0f} s; SIGKILLs: {kills}; steps tried again after a kill: "
                f"{self.retried_steps}; lost: {len(self.lost)}; duplicated: {len(self.duplicated)}; "
                f"quarantined: {len(self.quarantined)}; delivery problems: {len(self.delivery)}; "
                f"prints interrupted (certificate left issued): {len(self.interrupted_prints)}")


def kill_points(steps: tuple[str, ...]) -> list[tuple[str, str]]:
    """Where a drill may kill: before a step (not the first: the case must exist), while a
    door stands open inside a step, and while the proof prints."""
    points = [("before", step) for step in steps[1:]]
    points += [("inside", step) for step in steps if step in Journey.DOOR_STEPS or step == "print_proof"]
    return points


def attempt(step: Callable[[], None], figures: Figures, broken: list[BaseException] | None = None) -> None:
    """A step as a person tries it again when the machine hiccupped (a process restarting).
    ``broken``: the drill's own failure (a killed process that did not start again), which
    no retry mends: raised at once."""
    for n in range(RETRIES):
        try:
            step()
            return
        except (AssertionError, OSError, requests.RequestException, Exception) as exc:  # noqa: B014
            if broken:
                raise AssertionError(f"the drill could not start a process again: {broken[0]}") from broken[0]
            if n == RETRIES - 1:
                raise
            figures.retried_steps += 1
            time.sleep(1.0 + n)
            del exc


def check(system: System, journey: Journey, figures: Figures) -> None:
    timeline = journey.settled()
    counts = applied_counts(timeline)
    missing = [t for t in LIFECYCLE if counts.get(t, 0) == 0]
    twice = [t for t in LIFECYCLE + ["pickup_code_issued"] if counts.get(t, 0) > 1]
    if missing:
        figures.lost.append(f"{journey.case_id}: {missing}")
    if twice:
        figures.duplicated.append(f"{journey.case_id}: {twice}")
    if any(status == "quarantined" for _, status in timeline):
        figures.quarantined.append(f"{journey.case_id}: {timeline}")
    stored = system.query("SELECT count(*) FROM notifications WHERE case_id = ? AND kind = 'pickup_ready'",
                          (journey.case_id,))
    if stored and stored[0][0] != 1:
        figures.duplicated.append(f"{journey.case_id}: {stored[0][0]} pickup notices stored")
    for problem in system.delivery():
        if problem not in figures.delivery:
            figures.delivery.append(problem)
    if journey.proof is not None:
        for serial in journey.proof.serials:
            events = [t for (t,) in system.query("SELECT event_type FROM events WHERE aggregate_id = ? "
                                                 "ORDER BY server_seq", (serial,))]
            if events != ["issued", "printed"]:
                figures.lost.append(f"certificate {serial}: the server has {events}")
        stuck = [serial for (serial,) in system.kiosk_query("SELECT serial FROM forms_certificates WHERE state = "
                                                              "'issued'")]
        figures.interrupted_prints[:] = stuck
    assert system.case_state(journey.case_id) == "evaluated"


def kill_drill(system: System, runs: int, rng: random.Random, figures: Figures | None = None,
               say: Callable[[str], None] = lambda _: None, skip: int = 0) -> Figures:
    """``runs`` journeys, each with one SIGKILL of a random process at a random kill point
    (after a random delay: the agents are mid-push, the daemon mid-poll, the print in
    CUPS or still rendering)."""
    figures = figures or Figures()
    started = time.monotonic()
    steps = Journey.steps(system)
    points = kill_points(steps)
    for run in range(runs):
        journey = Journey(system)
        when, at = rng.choice(points)
        victim = rng.choice(PROCESSES)
        delay = rng.uniform(0, 0.5)
        if run < skip:  # --from-run: the same random choices as a full run up to there
            continue
        where = f"{when} {at}"
        struck: list[str] = []
        broken: list[BaseException] = []

        def strike() -> None:
            time.sleep(delay * (3 if at == "print_proof" else 1))  # a print takes a second or two
            system.kill(victim)
            try:
                system.restart(victim)
            except BaseException as exc:
                broken.append(exc)
                raise
            struck.append(victim)
            figures.kills[victim] += 1
            figures.kill_points[where] = figures.kill_points.get(where, 0) + 1
            if victim == "server":
                journey.console = None  # her session is in the database: signing in again is hers to do

        if when == "inside":
            journey.inside = lambda step: step == at and not struck and strike()
        for step in steps:
            if (when, step) == ("before", at):
                strike()
            try:
                attempt(getattr(journey, step), figures, broken)
            except Exception as exc:
                raise AssertionError(f"run {run + 1}: killed {victim} {where}; {step} failed: "
                                     f"{exc}; the server has {system.timeline(journey.case_id)} and notifications "
                                     f"{system.query('SELECT kind, state, attempts, last_error FROM notifications WHERE case_id = ?', (journey.case_id,))}"
                                     ) from exc
        assert struck == [victim], f"run {run + 1}: the kill point {where} was never reached"
        try:
            check(system, journey, figures)
        except AssertionError as exc:
            raise AssertionError(f"run {run + 1}: killed {victim} {where}: {exc}; the server "
                                 f"has {system.timeline(journey.case_id)}, the locker has "
                                 f"{system.doors().case(journey.case_id)}; outboxes: locker "
                                 f"{locker_pending(system)}, kiosk {kiosk_pending(system)}") from exc
        figures.runs += 1
        say(f"run {run + 1}/{runs}: {journey.case_id} killed {victim} {where}: ok")
    figures.seconds = time.monotonic() - started
    return figures


def server_away_drill(system: System) -> Journey:
    """The server down while the resident drops off and the worker collects (with the
    QR her phone showed before); back again, everything syncs, each event once."""
    journey = Journey(system)
    journey.worker_code = journey._console().worker_code("e2e-kiosk-01")
    system.kill("server")
    journey.drop_off()
    journey.collect_at_locker()
    time.sleep(2 * system.interval_s + 1)  # the agents tried, failed and back off
    assert system.case_state(journey.case_id) is None  # nothing reached it
    system.restart("server")
    journey.worker_code = ""
    journey.console = None
    for step in Journey.STEPS[2:]:
        getattr(journey, step)()
    return journey


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.drills", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="journeys, each with one SIGKILL (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="the random seed (default: time)")
    parser.add_argument("--from-run", type=int, default=1, help="start at this run of the seed's sequence (replay a "
                                                                 "failed run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the kiosk agent's retries while a process is down: expected
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"kill drill: {args.runs} runs, seed {seed}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="drills-"))
    with printer() as printer_url:
        if printer_url is None:
            print("no private cupsd (see drivers/printer/sim.py): the journeys print no residence proof", flush=True)
        system = System(root, printer_url=printer_url).start()
        try:
            figures = kill_drill(system, args.runs, random.Random(seed), say=lambda line: print(line, flush=True),
                                 skip=args.from_run - 1)
        except BaseException:
            print(f"the processes' logs and stores are kept in {root} (logs/)", flush=True)
            raise
        finally:
            system.stop()
    shutil.rmtree(root, ignore_errors=True)
    print(figures.line())
    print("kill points: " + ", ".join(f"{k} {v}" for k, v in sorted(figures.kill_points.items())))
    for problem in figures.lost + figures.duplicated + figures.quarantined + figures.delivery:
        print(f"  PROBLEM {problem}")
    for serial in figures.interrupted_prints:
        print(f"  certificate {serial} left issued: the kiosk was killed while it printed")
    return 0 if not (figures.lost or figures.duplicated or figures.quarantined or figures.delivery) else 1


@contextlib.contextmanager
def printer():
    """A private cupsd's PDF queue (root), else its fault queue printing fine; None without cupsd."""
    from drivers.printer.errors import SimUnavailable
    from drivers.printer.sim import PrivateCups

    cups = PrivateCups()
    try:
        cups.start()
    except SimUnavailable:
        cups.stop()
        yield None
        return
    try:
        if cups.pdf_queue is None:
            cups.set_fault("ok")
        yield cups.url(cups.pdf_queue or cups.fault_queue)
    finally:
        cups.stop()


if __name__ == "__main__":
    sys.exit(main())
