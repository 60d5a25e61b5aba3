"""Helpers shared by the test suite: real components, simulator processes."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from appliance.processes import Child

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


class SimProcess(Child):
    """A simulator as a separate process on a pty: ``python -m MODULE ARGS``.

    ``path`` is the pty the driver opens; ``control`` the simulator's control socket.
    """

    def __init__(self, module: str, *args: str, env: dict | None = None) -> None:
        super().__init__(module, *args, header_lines=2, env=env)

    def start(self, timeout: float = 15.0) -> "SimProcess":
        super().start(timeout)
        return self

    @property
    def path(self) -> str:
        return self.header[0]

    @property
    def control(self) -> str:
        return self.header[1]

    def request(self, **request) -> dict:
        from drivers.simserve import control_request
        return control_request(self.control, request)

    def __enter__(self) -> "SimProcess":
        return self.start()


@contextmanager
def sim_process(module: str, *args: str) -> Iterator[SimProcess]:
    with SimProcess(module, *args) as sim:
        yield sim
