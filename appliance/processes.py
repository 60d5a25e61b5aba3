"""Child processes that announce themselves on stdout: a simulator prints its pty
path and control socket, the private cupsd its socket and a JSON description.
:class:`Child` starts one, reads those header lines, and stops it cleanly.

``log=PATH`` appends the child's stderr to that file instead of a pipe: a child that
runs for long and logs (a daemon whose server is away) then never blocks on a full
pipe nobody reads, and a person can read what it said after a failed run."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    """The child exited or went silent before printing its header lines."""


class Child:
    def __init__(self, module: str, *args: str, header_lines: int = 2, env: dict | None = None,
                 log: str | os.PathLike | None = None) -> None:
        self.argv = [sys.executable, "-m", module, *args]
        self.module = module
        self.header_lines = header_lines
        self.env = env
        self.log = Path(log) if log is not None else None
        self.proc: subprocess.Popen | None = None
        self.header: list[str] = []

    def start(self, timeout: float = 20.0) -> "Child":
        self.header = []
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log, "ab") as stderr:
                self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT,
                                             env={**os.environ, **(self.env or {})}, start_new_session=True)
        else:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         cwd=ROOT, env={**os.environ, **(self.env or {})}, start_new_session=True)
        done = threading.Event()

        def read_header() -> None:
            assert self.proc and self.proc.stdout
            for _ in range(self.header_lines):
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.header.append(line.rstrip("\n"))
            done.set()

        threading.Thread(target=read_header, daemon=True).start()
        if not done.wait(timeout) or len(self.header) < self.header_lines:
            error = ""
            if self.proc.poll() is not None and self.proc.stderr:
                error = self.proc.stderr.read().strip().splitlines()[-1:] or [""]
                error = error[0]
            elif self.proc.poll() is not None and self.log is not None:
                error = (self.log.read_text(errors="replace").strip().splitlines()[-1:] or [""])[0]
            self.stop()
            raise ChildFailed(f"{self.module} did not start{': ' + error if error else ''}")
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.running:
            assert self.proc
            self.proc.kill()
            self.proc.wait(5)

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> "Child":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
