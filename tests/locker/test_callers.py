"""Maintenance ops only for root and ``[locker] admins``: the daemon asks the kernel
who is calling (SO_PEERCRED). The kiosk's user, here ``nobody``, is a real other
process with another uid, talking to the real socket."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from appliance.config import load
from appliance.keys import TrustedKeys
from locker.callers import Caller, may_maintain
from locker.daemon import Daemon, store_path
from tests.locker.conftest import CONFIG, DOORS, LOCKER, Client, door, is_open
from tests.support import require

NOBODY = 65534
CLIENT = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for line in sys.stdin:
    f.write(line.encode()); f.flush()
    sys.stdout.write(f.readline().decode()); sys.stdout.flush()
"""


def as_user(path: Path, requests: list[dict], *, user: int = NOBODY, group: int = NOBODY,
            extra_groups: list[int] | None = None) -> list[dict]:
    """The requests sent over one connection by a process running as ``user``."""
    done = subprocess.run(["/usr/bin/python3", "-c", CLIENT, str(path)], user=user, group=group,
                          extra_groups=extra_groups or [], capture_output=True, text=True, timeout=30,
                          input="".join(json.dumps(r) + "\n" for r in requests), cwd="/")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def public_dir():
    require("root", os.geteuid() == 0, "switching to another uid needs root")
    path = Path(tempfile.mkdtemp(prefix="locker-sock-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start(tmp_path, sim, server_key, public_dir):
    started: list[Daemon] = []

    def run(admins: list[str]) -> Client:
        data = tmp_path / f"data{len(started)}"
        data.mkdir()
        TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
        path = tmp_path / f"appliance{len(started)}.toml"
        sock = public_dir / f"locker{len(started)}.sock"
        path.write_text(CONFIG.format(locker=LOCKER, data=data, port=sim.path, doors=DOORS, oos="8", prompt=30,
                                      alarm=60, sync="false")
                        + f'socket = "{sock}"\nadmins = {json.dumps(admins)}\n', encoding="utf-8")
        daemon = Daemon(load(path))
        started.append(daemon)
        served = daemon.start()
        assert served == sock
        sock.chmod(0o666)  # here: let `nobody` in, as the kiosk user's group would be
        return Client(served, store_path(daemon.config))
    yield run
    for daemon in started:
        daemon.stop()


def test_the_kiosk_user_may_drop_off_pick_up_and_read_but_not_maintain(start, sim, server_key):
    api = start([])
    answers = as_user(api.path, [
        {"op": "state"},
        {"op": "dropoff", "case": "CL-1", "size": "M"},
        {"op": "pickup", "code": "00000000"},
        {"op": "open", "door": 5},
        {"op": "door", "door": 5, "use": "out_of_service", "reason": "I say so"},
        {"op": "move", "case": "CL-1", "door": 6},
        {"op": "resolve", "case": "CL-1", "outcome": "picked_up"},
        {"op": "sweep"},
    ])
    state, dropoff, pickup, *maintenance = answers
    assert state["ok"] and dropoff["ok"] and dropoff["door"] == 3, dropoff
    assert pickup["error"] == "wrong_short_code"  # checked, not refused for who asks
    for answer in maintenance:
        assert answer["ok"] is False and answer["error"] == "not_allowed", answer
        assert answer["message"].startswith("此操作仅限维护人员")
        assert f"uid {NOBODY} (nobody)" in answer["detail"]
    assert api.door(5)["use"] == "free"
    refused = api.events("maintenance_refused")
    assert [e["op"] for e in refused] == ["open", "door", "move", "resolve", "sweep"]
    assert not is_open(sim, 5)
    assert api.outbox("maintenance_refused") == []
    # root (this test) may
    assert api("door", door=5, use="out_of_service", reason="hinge")["ok"]
    door(sim, 3, "close")


@pytest.mark.parametrize("admins, extra", [
    (["nobody"], []),
    ([str(NOBODY)], []),
    (["@nogroup"], []),  # nobody's primary group
    (["@users"], [100]),  # a supplementary group, as /proc/PID/status shows it
    ([f"@{NOBODY}"], []),
])
def test_admins_by_name_uid_or_group_may_maintain(start, admins, extra):
    api = start(admins)
    (answer,) = as_user(api.path, [{"op": "door", "door": 5, "use": "out_of_service", "reason": "loose"}],
                        extra_groups=extra)
    assert answer["ok"], answer
    assert api.door(5)["use"] == "out_of_service" and api.events("maintenance_refused") == []


def test_an_admin_group_the_caller_is_not_in_does_not_count(start):
    api = start(["@users", "someone-else", "1001"])
    (answer,) = as_user(api.path, [{"op": "sweep"}])
    assert answer["error"] == "not_allowed"


def test_may_maintain_is_pure_enough_to_read():
    assert may_maintain(None, []) and may_maintain(Caller(1, 0, 0), [])
    assert not may_maintain(Caller(1, NOBODY, NOBODY), ["@no-such-group-here", "root"])
