"""Helpers shared by the test suite: real components, simulator processes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(component: str, ok: bool, reason: str) -> None:
    """Skip the test when ``component`` is missing, with the reason; fail under CI=true."""
    if ok:
        return
    message = f"{component} not available: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing real component is a failure; "
                    f"scripts/debian-packages installs it)", pytrace=False)
    pytest.skip(message)


def require_program(component: str, program: str) -> str:
    path = shutil.which(program) or (program if os.path.exists(program) else None)
    require(component, path is not None, f"{program} not found; run `make test` as root "
                                         f"or scripts/debian-packages")
    return path  # type: ignore[return-value]


class SimProcess:
    """A simulator as a separate process on a pty: ``python -m MODULE ARGS``.

    ``path`` is the pty the driver opens; ``control`` the simulator's control socket.
    """

    def __init__(self, module: str, *args: str, env: dict | None = None) -> None:
        self.module = module
        self.args = list(args)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.path = ""
        self.control = ""

    def start(self, timeout: float = 15.0) -> "SimProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, **(self.env or {})})
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        self.path = self.proc.stdout.readline().strip()
        self.control = self.proc.stdout.readline().strip()
        if not self.path or time.monotonic() > deadline:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.stop()
            raise RuntimeError(f"simulator {self.module} did not start: {err}")
        return self

    def request(self, **request) -> dict:
        from drivers.simserve import control_request
        return control_request(self.control, request)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr) if self.proc else ():
            if stream:
                stream.close()

    def __enter__(self) -> "SimProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def sim_process(module: str, *args: str) -> Iterator[SimProcess]:
    with SimProcess(module, *args) as sim:
        yield sim
