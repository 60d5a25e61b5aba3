"""The certificate register: serials never reused (restarts, SIGKILL), states with
outbox events, kept PDFs and their purge."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from appliance.keys import DeviceKey
from forms.register import CertificateState, Register, RegisterError, migrations
from sync.store import Store, pending
from tests.forms.conftest import DEVICE, ISSUED
from tests.support import ROOT


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "appliance.db", [migrations]) as store:
        yield store


@pytest.fixture
def register(store, tmp_path):
    return Register(store, DEVICE, pdf_dir=tmp_path / "certificates", keep_days=7)


def take(register: Register, key: DeviceKey, n: int = 1, **kwargs):
    return [register.issue(key, template="residence_proof", lang="zh", canonical=b"{}", issued_at=ISSUED, **kwargs)
            for _ in range(n)]


def test_serials_count_up_per_device(register, key):
    stamps = take(register, key, 3)
    assert [s.number for s in stamps] == [1, 2, 3]
    assert [s.serial for s in stamps] == [f"{DEVICE}-00000{i}" for i in (1, 2, 3)]
    assert register.last_number() == 3
    record = register.get(stamps[0].serial)
    assert record.state is CertificateState.ISSUED and record.code == stamps[0].text
    assert record.issued_at == "2025-03-01T14:05:00+08:00" and record.expires is None


def test_a_key_of_another_device_is_refused(register):
    with pytest.raises(RegisterError, match="other-kiosk"):
        take(register, DeviceKey.generate("other-kiosk"))


def test_serials_survive_a_restart(tmp_path, key):
    path = tmp_path / "appliance.db"
    for expected in ([1, 2], [3, 4]):
        with Store(path, [migrations]) as store:
            register = Register(store, DEVICE, pdf_dir=tmp_path)
            assert [s.number for s in take(register, key, 2)] == expected


def test_serials_are_never_reused_after_sigkill(tmp_path, key):
    """Kill the issuing process mid-stream, many times: every number it announced is
    durable, and the next process continues above all of them."""
    path = str(tmp_path / "appliance.db")
    seen: list[int] = []
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "tests.forms.serial_taker", path], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        announced = [int(proc.stdout.readline()) for _ in range(5)]
        time.sleep(0.05)  # let it be inside a transaction, or between two
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
        assert announced == sorted(announced)
        seen.extend(announced)
    assert len(seen) == len(set(seen))
    with Store(path, [migrations]) as store:
        register = Register(store, DEVICE, pdf_dir=tmp_path)
        assert register.last_number() >= max(seen)
        after = take(register, key)[0].number
        assert after > max(seen)
        numbers = [row["number"] for row in store.query("SELECT number FROM forms_certificates ORDER BY number")]
        assert numbers == sorted(set(numbers)) and after == numbers[-1]


def test_states_and_their_outbox_events(register, store, key):
    serial = take(register, key)[0].serial
    failed = register.mark_print_failed(serial, "job stopped; media-empty-error; Out of paper")
    assert failed.state is CertificateState.PRINT_FAILED and "media-empty" in failed.last_error
    printed = register.mark_printed(serial)
    assert printed.state is CertificateState.PRINTED and printed.prints == 1 and printed.last_error is None
    again = register.mark_printed(serial)
    assert again.prints == 2
    # a failed re-print of a printed certificate leaves it printed
    after = register.mark_print_failed(serial, "job aborted")
    assert after.state is CertificateState.PRINTED and after.last_error == "job aborted"
    events = [(e.aggregate_id, e.event_type) for e in pending(store)]
    assert events == [(serial, "issued"), (serial, "print_failed"), (serial, "printed"), (serial, "printed"),
                      (serial, "reprint_failed")]
    issued_event = pending(store)[0]
    assert issued_event.aggregate_type == "certificate"
    assert set(issued_event.payload) == {"template", "device", "number", "issued_at", "expires", "digest", "code"}


def test_listeners_hear_state_changes(register, key):
    heard = []
    register.listeners.append(lambda record, old: heard.append((record.serial, old.value, record.state.value)))
    serial = take(register, key)[0].serial
    register.mark_printed(serial)
    assert heard == [(serial, "issued", "printed")]


def test_unknown_serial(register):
    with pytest.raises(RegisterError, match="no certificate"):
        register.mark_printed("demo-kiosk-01-999999")


def test_kept_pdfs_are_private_and_purged_after_their_time(register, key, tmp_path):
    serial = take(register, key)[0].serial
    path = register.keep_pdf(serial, b"%PDF-1.4 test")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    now = ISSUED + timedelta(days=6)
    assert register.kept_pdf(serial, now=now) == path
    assert register.purge(now=now) == []
    later = ISSUED + timedelta(days=8)
    assert register.kept_pdf(serial, now=later) is None
    assert register.purge(now=later) == [serial]
    assert not path.exists() and register.get(serial).pdf_path is None
    assert register.purge(now=later) == []


def test_keep_until_counts_from_the_issue_time(register, key):
    serial = take(register, key)[0].serial
    assert register.get(serial).keep_until == (ISSUED + timedelta(days=7)).astimezone(timezone.utc).isoformat()
    assert datetime.fromisoformat(register.get(serial).keep_until).tzinfo is not None
