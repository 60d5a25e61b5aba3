"""README's ``journalctl KIOSK_DEVICE=…`` / ``KIOSK_CASE=…`` on the server: a real
server process logging to a journal socket; what it logs while applying a pushed
batch names the device that pushed it and the case of each event."""
from __future__ import annotations

import time

import requests

from tests.appliance.test_journal_bundle import Records, journal  # noqa: F401 (the journal's sink)
from tests.sync.server.support import ServerProcess, Signed, event, new_code, new_key


def test_a_batch_logs_with_its_device_and_each_events_case(database_url, journal):  # noqa: F811
    records = Records(journal)
    env = {"KIOSK_LOG": "journal", "KIOSK_JOURNAL_SOCKET": journal.path}
    with ServerProcess(database_url, env=env) as server, requests.Session() as http:
        device = Signed(http, new_key("kiosk-logs"), base_url=server.url)
        assert device.enrol(new_code(database_url, "kiosk-logs")).status_code == 201
        # two events the lifecycle refuses: each is logged (quarantined), about its own case
        batch = {"events": [event("c-log1", "created", 1), event("c-log1", "picked_up", 2),
                            event("c-log2", "evaluated", 3)]}
        answer = device("POST", "/events", batch)
        assert [r["status"] for r in answer.json()["results"]] == ["applied", "quarantined", "quarantined"], answer.text
        deadline = time.monotonic() + 15
        while len(records.starting("quarantined event")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    seen = records.stop()
    lines = [r for r in seen if r["MESSAGE"].startswith("quarantined event")]
    assert sorted(r["KIOSK_CASE"] for r in lines) == ["c-log1", "c-log2"], seen
    assert all(r["KIOSK_DEVICE"] == "kiosk-logs" and r["LOGGER"] == "sync.server.ingest" for r in lines)
    assert all(r["SYSLOG_IDENTIFIER"] == "kiosk-server" for r in lines)
    # the fields are the batch's: nothing else the server logged carries them
    assert not [r for r in seen if r not in lines and ("KIOSK_CASE" in r or "KIOSK_DEVICE" in r)], seen
