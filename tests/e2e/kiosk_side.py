"""The kiosk's side of the end-to-end journey as a process of its own, so a drill can
SIGKILL it like the others: ``python -m tests.e2e.kiosk_side --config PATH --socket PATH``.

What the kiosk app runs, without Qt: its store (:func:`kiosk.store.open_store`, the
file's one writer), its sync agent as a thread of the process (as ``kiosk/devices.py``
starts it), and the plain-Python flows its screens drive: the residence proof and
its printing, the drop-off, the pickup, My progress. The test calls them over a Unix
socket, one JSON request and one answer a connection (:mod:`appliance.jsonline`), as a
screen calls a flow on a worker thread; a flow lives between calls (a drop-off door
opened, then followed until the resident shut it), as on a screen. A killed kiosk
forgets its flows, as the app would: the resident starts again from home.

It prints ``ready PID`` once it serves. SIGTERM stops the agent and closes the store.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socketserver
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from appliance import jsonline
from appliance.config import Config, load
from appliance.privacy import setup_logging

log = logging.getLogger("tests.e2e.kiosk_side")


class KioskSaid(Exception):
    """The headless kiosk's answer was an error: its words (the flow's exception)."""


def call(path: str | Path, op: str, timeout: float = 120.0, **fields: Any) -> Any:
    """One request to a headless kiosk at ``path``; its result, or :class:`KioskSaid`."""
    answer = jsonline.request(path, {"op": op, **fields}, timeout=timeout, peer="the headless kiosk")
    if not answer.get("ok"):
        raise KioskSaid(answer.get("error", "?"))
    return answer.get("result")


class HeadlessKiosk:
    def __init__(self, config: Config) -> None:
        from kiosk.flows.doors import LockerDoors
        from kiosk.store import open_store
        from locker.daemon import socket_path
        from sync.agent.agent import Agent

        self.config = config
        self.store = open_store(config)
        self.agent = (Agent.from_config(self.store, config, source="kiosk").start()  # as the kiosk app's agent
                      if config.sync.enabled else None)
        self.doors = lambda: LockerDoors(socket_path(config), poll=0.02)
        self.flows: dict[str, Any] = {}  # a screen's flow between calls, by the caller's key
        self.lock = threading.Lock()
        self.prints_settled = False  # the prints a kill interrupted, settled before its first print

    def close(self) -> None:
        if self.agent is not None:
            self.agent.stop(timeout=10)
        self.store.close()

    # -- the ops -------------------------------------------------------------------------
    def op_ping(self) -> dict:
        return {"pid": os.getpid(), "now": time.time()}  # its wall clock (the clock drill's libfaketime)

    def op_wake(self) -> None:
        if self.agent is not None:
            self.agent.wake()

    def op_member(self, number: str) -> bool:
        """Whether the resident's household record has reached this kiosk (the agent's pull)."""
        from kiosk.store.content import SyncedContent
        from kiosk.store.households import Households

        return Households(SyncedContent.for_config(self.config)).member(number) is not None

    def _printing(self, printer: str):
        from drivers.printer import Printer
        from forms.office import CertificateOffice
        from kiosk.flows.printing import CertificatePrinting

        printing = CertificatePrinting(CertificateOffice.from_config(self.config, self.store), Printer(printer))
        if not self.prints_settled:  # as the app's warm-up does (kiosk/devices.py settle_prints)
            printing.follow(printing.settle().following)
            self.prints_settled = True
        return printing

    def op_print_proof(self, key: str, resident: list[str], printer: str, copies: int = 1,
                       again: bool = False) -> dict:
        """The residence proof: start (or, ``again``, the resident's 重试 on the same proof)."""
        from kiosk.flows.residence import ResidenceProof
        from kiosk.session import Resident
        from kiosk.store.content import SyncedContent
        from kiosk.store.households import Households

        number, name = resident
        proof = self.flows.get(key) if again else None
        if proof is None:
            member = Households(SyncedContent.for_config(self.config)).member(number)
            who = Resident(name=name, id_number=number, sex="2", birth_date=None, address="", verified_by="face")
            proof = ResidenceProof.start(who, member)
            proof.choose_purpose("school")
            proof.set_copies(copies)
            self.flows[key] = proof
        proof.print(self._printing(printer), purpose_text="子女入学")
        self.op_wake()
        advice = proof.advice
        return {"step": proof.step.value, "serials": list(proof.serials), "jobs": list(proof.jobs),
                "failed_serial": proof.failed_serial,
                "advice": None if advice is None else [advice.zh, advice.en]}

    def op_dropoff_open(self, key: str, resident: list[str], item: str, locker_name: str, progress_url: str) -> dict:
        """Choose the item, tick the materials, a door opens: until it is seen open."""
        from kiosk.flows.dropoff import DropOffFlow, Step
        from kiosk.store import cases
        from kiosk.store.guide import DEMO, Guide

        flow = DropOffFlow(self.doors(), self.store, Guide.from_file(DEMO), None,
                           resident=cases.Resident.of(*resident), locker_name=locker_name,
                           progress_url=progress_url, open_timeout=15, close_timeout=30)
        self.flows[key] = flow
        flow.choose(item)
        flow.confirm_all()
        step = flow.open_door()
        if step is Step.OPENING:
            step = flow.wait_open()
        refusal = getattr(flow, "refusal", None)
        return {"step": step.value, "case_id": flow.case_id, "door": flow.door,
                "refusal": None if refusal is None else str(refusal)}

    def op_dropoff_wait(self, key: str) -> dict:
        """Until the locker recorded the deposit (the resident shut the door)."""
        flow = self._flow(key)
        step = flow.wait_deposited()
        self.op_wake()  # the session ends: what it recorded goes to the server now (kiosk/app.py)
        return {"step": step.value, "case_id": flow.case_id}

    def op_pickup_open(self, key: str, code: str) -> dict:
        from kiosk.flows.pickup import PickupFlow, Step

        flow = PickupFlow(self.doors(), self.store, open_timeout=15, close_timeout=30)
        self.flows[key] = flow
        for digit in code:
            flow.press(digit)
        step = flow.submit()
        if step is Step.OPENING:
            step = flow.wait_open()
        refusal = getattr(flow, "refusal", None)
        return {"step": step.value, "door": flow.door, "case_id": flow.case_id,
                "refusal": None if refusal is None else refusal.reason}

    def op_pickup_wait(self, key: str) -> dict:
        step = self._flow(key).wait_closed()
        self.op_wake()
        return {"step": step.value}

    def op_progress(self, resident: list[str]) -> list[dict]:
        from kiosk.flows.progress import ProgressFlow
        from kiosk.store import cases

        rows = ProgressFlow(self.store, cases.Resident.of(*resident).key, self.doors()).load()
        return [{"id": r.case.id, "state": r.case.state.value, "rateable": r.rateable} for r in rows]

    def op_rate(self, resident: list[str], case_id: str, stars: int, comment: str = "") -> dict:
        from kiosk.flows.progress import ProgressFlow
        from kiosk.store import cases

        progress = ProgressFlow(self.store, cases.Resident.of(*resident).key, self.doors())
        row = next(r for r in progress.load() if r.case.id == case_id)
        if row.case.state.value != "evaluated":
            if not row.rateable:
                raise ValueError(f"{case_id} is {row.case.state.value}: not rateable yet")
            row = progress.rate(case_id, stars, comment=comment)
        self.op_wake()
        return {"state": row.case.state.value}

    def _flow(self, key: str) -> Any:
        flow = self.flows.get(key)
        if flow is None:
            raise LookupError(f"no flow {key} on this kiosk (it started again since: pid {os.getpid()})")
        return flow

    def handle(self, request: dict) -> dict:
        op = request.pop("op", "")
        method: Callable[..., Any] | None = getattr(self, f"op_{op}", None)
        if method is None:
            return {"ok": False, "error": f"unknown op {op!r}"}
        try:
            return {"ok": True, "result": method(**request)}
        except Exception as exc:  # the flow's own words go back to the test
            log.warning("%s failed: %s", op, exc)
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def serve(kiosk: HeadlessKiosk, path: Path) -> socketserver.ThreadingUnixStreamServer:
    import json

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline()
            if not line:
                return
            answer = kiosk.handle(json.loads(line))
            self.wfile.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")

    path.unlink(missing_ok=True)  # a killed kiosk's socket file stays behind
    server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.kiosk_side", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--socket", required=True)
    args = parser.parse_args(argv)
    config = load(args.config, check_devices=False)
    setup_logging(os.environ.get("KIOSK_SIDE_LOG_LEVEL", "WARNING"))
    kiosk = HeadlessKiosk(config)
    server = serve(kiosk, Path(args.socket))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"ready {os.getpid()}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        kiosk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
