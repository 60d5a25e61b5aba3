"""The kiosk UI runs inside its unit's sandbox: cage (wlroots' headless backend, no
GPU here) and the kiosk app as its Wayland client, started by the unit's own
ExecStart under the seccomp filter systemd would build from ``kiosk-ui.service``
(``SystemCallFilter=``, ``RestrictNamespaces=``, ``RestrictAddressFamilies=``,
``SystemCallArchitectures=``; :mod:`tests.appliance.sandboxed`), as an unprivileged
user. The app says READY=1 and keeps sending WATCHDOG=1; a call outside the filter
would have killed it (SIGSYS). A too-narrow filter does kill it: the check can fail."""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support import ROOT, require, require_program

UNIT = ROOT / "systemd" / "kiosk-ui.service"
DEBIAN_PYTHON = "/usr/bin/python3"


def site_packages() -> Path:
    return next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))


@pytest.fixture
def sandbox():
    """A folder the unprivileged user owns: the kiosk's data, XDG_RUNTIME_DIR, the notify socket."""
    require("root (to run the UI as an unprivileged user, as its unit does)", os.geteuid() == 0,
            "run the tests as root")
    require_program("cage (the kiosk UI's Wayland compositor)", "cage")
    require_program("Xwayland (cage 0.1.4 refuses to start without it; Debian package xwayland)", "Xwayland")
    require_program("systemd-analyze (systemd)", "systemd-analyze")
    require("libseccomp", any(Path(d).glob("libseccomp.so.2*") for d in ("/usr/lib/x86_64-linux-gnu",
                                                                           "/usr/lib/aarch64-linux-gnu", "/usr/lib")),
            "apt-get install libseccomp2")
    same = subprocess.run([DEBIAN_PYTHON, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                          text=True).stdout.strip() == str(sys.version_info[:2])
    require("Debian's python3 of this virtualenv's version", same,
            "the unprivileged user cannot run the virtualenv's interpreter under /root; Debian's must match it")
    user = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="kiosk-sandbox-"))
    os.chmod(folder, 0o755)
    for sub in ("data", "run"):
        (folder / sub).mkdir(mode=0o700)
        os.chown(folder / sub, user.pw_uid, user.pw_gid)
    config = folder / "appliance.toml"
    config.write_text((ROOT / "assets/appliance.toml").read_text(encoding="utf-8")
                      .replace('data_dir = "var"', f'data_dir = "{folder / "data"}"'), encoding="utf-8")
    os.chmod(config, 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def start_ui(folder: Path, *filter_args: str) -> tuple[subprocess.Popen, socket.socket]:
    """The unit's ExecStart (the installed venv's python replaced by Debian's on this
    checkout) in the unit's sandbox, with the unit's environment."""
    text = UNIT.read_text()
    exec_start = re.search(r"(?m)^ExecStart=(.*)$", text).group(1).split()
    exec_start = [DEBIAN_PYTHON if w.endswith("/venv/bin/python") else w for w in exec_start]
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = folder / "run" / "notify.sock"
    notify.bind(str(address))
    os.chmod(address, 0o777)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder / "run"), "XDG_RUNTIME_DIR": str(folder / "run"),
           "NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1",
           "PYTHONPATH": f"{ROOT}:{site_packages()}", "KIOSK_LOG": "stderr",
           # no GPU, screen or input devices here: wlroots draws into memory
           "WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1"}
    for line in re.findall(r"(?m)^Environment=(.*)$", text):
        env.update(word.split("=", 1) for word in line.split())
    env["KIOSK_CONFIG"] = str(folder / "appliance.toml")
    with open(folder / "ui.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.appliance.sandboxed", "--unit", str(UNIT), "--user",
                                 "nobody", *filter_args, "--", *exec_start], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    return proc, notify


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def log_tail(folder: Path) -> str:
    lines = (folder / "ui.log").read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if "Basic output test failed" not in line)[-3000:]


@pytest.mark.timeout(300)
def test_the_kiosk_ui_runs_in_cage_under_its_units_system_call_filter(sandbox):
    text = UNIT.read_text()
    assert "SystemCallFilter=@system-service" in text and "RestrictNamespaces=yes" in text
    proc, notify = start_ui(sandbox)
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 180
        while sum("WATCHDOG=1" in m.splitlines() for m in seen) < 2:
            left = deadline - time.monotonic()
            assert left > 0 and proc.poll() is None, (
                f"the kiosk UI did not come up in its sandbox (exit {proc.poll()}; SIGSYS is "
                f"-{int(signal.SIGSYS)}: a system call outside the filter); it said {seen}\n{log_tail(sandbox)}")
            notify.settimeout(min(left, 2.0))
            try:
                seen.append(notify.recv(4096).decode())
            except socket.timeout:
                continue
        assert any("READY=1" in m.splitlines() for m in seen), seen
        assert proc.poll() is None, log_tail(sandbox)  # cage and the app alive under the filter
    finally:
        stop(proc)
        notify.close()


@pytest.mark.timeout(120)
def test_a_too_narrow_filter_kills_the_ui(sandbox):
    proc, notify = start_ui(sandbox, "--filter", "@default", "@basic-io", "@file-system")
    try:
        proc.wait(60)
        assert proc.returncode == -signal.SIGSYS, (proc.returncode, log_tail(sandbox))
    finally:
        stop(proc)
        notify.close()
