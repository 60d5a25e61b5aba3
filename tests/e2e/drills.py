"""Fault drills on the end-to-end journey (:mod:`tests.e2e.system`): SIGKILL of a
process at a random point, the server away for a whole journey, and the checks that
nothing was lost or done twice.

``python -m tests.e2e.drills --runs 100 [--seed N]`` runs the kill drill that many
times on one running system (each run a new case; the kill point, the process and a
delay of up to half a second chosen at random) and prints the figures: runs, kills
per process, events lost and duplicated (both must be 0). ``make drills`` runs it.
The test suite runs a few (``tests/e2e/test_fault_drills.py``; ``KIOSK_DRILL_RUNS``
or pytest's ``--drill-runs``).
"""
from __future__ import annotations

import argparse
import logging
import random
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
    kill_points: dict[str, int] = field(default_factory=dict)  # "before step" -> count
    lost: list[str] = field(default_factory=list)  # case: lifecycle events the server never got
    duplicated: list[str] = field(default_factory=list)  # case: events applied more than once
    quarantined: list[str] = field(default_factory=list)
    retried_steps: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        kills = ", ".join(f"{k} {v}" for k, v in self.kills.items())
        return (f"{self.runs} runs in {self.seconds:.0f} s; SIGKILLs: {kills}; steps tried again after a kill: "
                f"{self.retried_steps}; lost: {len(self.lost)}; duplicated: {len(self.duplicated)}; "
                f"quarantined: {len(self.quarantined)}")


def attempt(step: Callable[[], None], figures: Figures) -> None:
    """A step as a person tries it again when the machine hiccupped (a process restarting)."""
    for n in range(RETRIES):
        try:
            step()
            return
        except (AssertionError, OSError, requests.RequestException, Exception) as exc:  # noqa: B014
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
    assert system.case_state(journey.case_id) == "evaluated"


def kill_drill(system: System, runs: int, rng: random.Random, figures: Figures | None = None,
               say: Callable[[str], None] = lambda _: None, skip: int = 0) -> Figures:
    """``runs`` journeys, each with one SIGKILL of a random process before a random step
    (after a random delay: the agents are mid-push, the daemon mid-poll)."""
    figures = figures or Figures()
    started = time.monotonic()
    for run in range(runs):
        journey = Journey(system)
        at = rng.randrange(1, len(Journey.STEPS))  # the case exists before the first kill
        victim = rng.choice(PROCESSES)
        delay = rng.uniform(0, 0.5)
        if run < skip:  # --from-run: the same random choices as a full run up to there
            continue
        for index, step in enumerate(Journey.STEPS):
            if index == at:
                time.sleep(delay)
                system.kill(victim)
                system.restart(victim)
                figures.kills[victim] += 1
                figures.kill_points[step] = figures.kill_points.get(step, 0) + 1
                if victim == "server":
                    journey.console = None  # her session is in the database: signing in again is hers to do
            try:
                attempt(getattr(journey, step), figures)
            except Exception as exc:
                raise AssertionError(f"run {run + 1}: killed {victim} before {Journey.STEPS[at]}; {step} failed: "
                                     f"{exc}; the server has {system.timeline(journey.case_id)} and notifications "
                                     f"{system.query('SELECT kind, state, attempts, last_error FROM notifications WHERE case_id = ?', (journey.case_id,))}"
                                     ) from exc
        try:
            check(system, journey, figures)
        except AssertionError as exc:
            raise AssertionError(f"run {run + 1}: killed {victim} before {Journey.STEPS[at]}: {exc}; the server "
                                 f"has {system.timeline(journey.case_id)}, the locker has "
                                 f"{system.doors().case(journey.case_id)}; outboxes: locker "
                                 f"{locker_pending(system)}, kiosk {kiosk_pending(system)}") from exc
        figures.runs += 1
        say(f"run {run + 1}/{runs}: {journey.case_id} killed {victim} before {Journey.STEPS[at]}: ok")
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
    with tempfile.TemporaryDirectory(prefix="drills-") as root:
        system = System(Path(root)).start()
        try:
            figures = kill_drill(system, args.runs, random.Random(seed), say=lambda line: print(line, flush=True),
                                 skip=args.from_run - 1)
        finally:
            system.stop()
    print(figures.line())
    print("kill points: " + ", ".join(f"before {k} {v}" for k, v in sorted(figures.kill_points.items())))
    for problem in figures.lost + figures.duplicated + figures.quarantined:
        print(f"  PROBLEM {problem}")
    return 0 if not (figures.lost or figures.duplicated or figures.quarantined) else 1


if __name__ == "__main__":
    sys.exit(main())
