"""The audit log is append-only and hash-chained; ``python -m locker`` checks it,
shows it, and talks to the running daemon."""
from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import sys

import pytest

from locker import audit
from locker.__main__ import main
from locker.errors import AuditBroken
from tests.locker.conftest import LOCKER, door


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args: str, config=None) -> Ran:
    """``python -m locker ARGS`` in this process (tests/test_docs.py runs it as a process)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([*(["--config", config.source] if config else []), *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
            if not isinstance(exc.code, int) and exc.code:
                print(exc.code, file=sys.stderr)
    return Ran(code, out.getvalue(), err.getvalue())


@pytest.fixture
def filled(api, sim):
    answer = api("dropoff", case="SF-A1", size="M")
    api.wait_opening(answer["opening"]["id"], "opened")
    door(sim, answer["door"], "close")
    api.wait_opening(answer["opening"]["id"], "closed")
    return api


def test_the_chain_holds_and_the_cli_says_so(filled, config):
    count = audit.verify(filled.store)
    assert count >= 8
    done = run("audit", "verify", config=config)
    assert done.returncode == 0 and f"{count} audit entries, hash chain intact" in done.stdout
    shown = run("audit", "show", "--last", "3", config=config)
    assert [json.loads(line)["seq"] for line in shown.stdout.splitlines()] == [count - 2, count - 1, count]


def test_updates_and_deletes_are_refused_by_the_store(filled):
    conn = sqlite3.connect(filled.store)
    try:
        for sql in ("UPDATE audit SET event = 'x' WHERE seq = 1", "DELETE FROM audit WHERE seq = 1"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()


def tampered(path, sql: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("sql, seq, words", [
    ("UPDATE audit SET detail = json_set(detail, '$.door', 99) WHERE seq = 4", 4, "edited"),
    ("UPDATE audit SET event = 'nothing' WHERE seq = 2", 2, "edited"),
    ("DELETE FROM audit WHERE seq = 3", 3, "missing"),
    ("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit) - 1", None, "missing"),
    # the first hex digit changed, whatever it was ('ab' || … left a hash that began with ab as
    # it was: the chain was intact and the test failed once in 256 runs)
    ("UPDATE audit SET hash = (CASE substr(hash, 1, 1) WHEN '0' THEN '1' ELSE '0' END) || substr(hash, 2) "
     "WHERE seq = 5", 5, "edited"),
])
def test_a_broken_chain_names_the_first_broken_entry(daemon, filled, config, sql, seq, words):
    daemon.stop()
    tampered(filled.store, sql)
    with pytest.raises(AuditBroken) as info:
        audit.verify(filled.store)
    if seq is not None:
        assert info.value.seq == seq
    assert words in info.value.problem
    if seq == 4:
        done = run("audit", "verify", config=config)
        assert done.returncode == 1 and f"audit entry {info.value.seq}:" in done.stderr
    daemon.stop = lambda: None  # already stopped


def test_status_and_request_talk_to_the_running_daemon(filled, config):
    status = run("status", config=config)
    assert status.returncode == 0, status.stderr
    assert "door   3 M occupied" in status.stdout and "boards offline: none" in status.stdout
    answer = run("request", '{"op": "pickup", "code": "00000000"}', config=config)
    assert answer.returncode == 1 and json.loads(answer.stdout)["error"] == "wrong_short_code"


def test_status_without_a_daemon_says_so(config):
    done = run("status", config=config)
    assert done.returncode == 2 and "is `python -m locker serve` running?" in done.stderr


def test_sign_makes_codes_the_locker_accepts(tmp_path, api, sim):
    pem = tmp_path / "server.pem"
    entry = json.loads(run("sign", "server-key", "--key", str(pem)).stdout)
    assert set(entry) == {"server"} and (pem.stat().st_mode & 0o077) == 0
    keys_file = api.store.parent / "trusted-keys.json"
    keys_file.write_text(json.dumps(entry))
    code = run("sign", "booking", "--key", str(pem), "--case", "SF-CLI", "--size", "L", "--locker", LOCKER).stdout
    answer = api("scan", code=code.strip())
    assert answer["ok"] and answer["door"] == 8, answer
    worker = run("sign", "worker", "--key", str(pem), "--worker", "w-li", "--lockers", LOCKER).stdout.strip()
    assert api("collect", code=worker)["error"] == "nothing_to_collect"  # signed right, nothing deposited yet
