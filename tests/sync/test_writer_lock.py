"""One process owns a database file; a second writer is refused by name and PID."""
import os
import sqlite3
import subprocess
import sys

import pytest

from sync.errors import StoreInUse, StoreLocked
from sync.store import Store
from tests.support import ROOT

HOLD = """
import sys
from sync.store import Store
from sync.errors import StoreInUse
try:
    store = Store(sys.argv[1])
except StoreInUse as exc:
    print("refused", exc.pid, flush=True)
    sys.exit(3)
print("owner", flush=True)
sys.stdin.read()
store.close()
"""


def child(path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD, str(path)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate("", timeout=10)
    return out


def test_a_second_store_in_the_same_process_is_refused(store):
    with pytest.raises(StoreInUse) as raised:
        Store(store.path)
    assert raised.value.pid == os.getpid()
    message = str(raised.value)
    assert store.path in message and f"{store.path}.lock" in message and str(os.getpid()) in message


def test_a_second_writer_process_is_refused_with_the_owners_pid(db_path):
    owner = child(db_path)
    try:
        assert owner.stdout.readline().strip() == "owner"
        with pytest.raises(StoreInUse) as raised:
            Store(db_path)
        assert raised.value.pid == owner.pid and f"process {owner.pid}" in str(raised.value)
    finally:
        finish(owner)
    assert owner.returncode == 0
    with Store(db_path):  # free once the owner has gone
        intruder = child(db_path)
        assert finish(intruder).split() == ["refused", str(os.getpid())]
        assert intruder.returncode == 3


def test_another_program_holding_the_write_lock_is_reported_as_locked(db_path):
    with Store(db_path) as store:
        store.close()
    shell = sqlite3.connect(db_path, isolation_level=None)  # a maintainer's sqlite3 shell
    try:
        shell.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreLocked) as raised:
            Store(db_path, busy_timeout=0.05)
        assert str(db_path) in str(raised.value) and "busy timeout" in str(raised.value)
        shell.execute("ROLLBACK")

        with Store(db_path, busy_timeout=0.05) as store:
            shell.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreLocked):
                with store.atomic():
                    pass
            shell.execute("ROLLBACK")
            with store.atomic():
                pass
    finally:
        shell.close()
