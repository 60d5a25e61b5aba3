"""README's ``journalctl KIOSK_CASE=…``: the locker daemon (its own process, on the
lock-board simulator) logging to a journal socket: what it logs about a drop-off
carries the case and the door, and every line the locker's id."""
from __future__ import annotations

from locker.daemon import socket_path, store_path
from tests.appliance.test_journal_bundle import Records, journal  # noqa: F401 (the journal's sink)
from tests.locker.conftest import LOCKER, Client, DaemonProcess, door, is_open, wait_for


def test_a_drop_off_logs_its_case_and_door_with_the_lockers_id(config, sim, journal):  # noqa: F811
    records = Records(journal)
    daemon = DaemonProcess(config.source, env={"KIOSK_LOG": "journal", "KIOSK_JOURNAL_SOCKET": journal.path,
                                               "LOCKER_CRASH_AT": ""})
    daemon.start(timeout=30)
    try:
        api = Client(socket_path(config), store_path(config))
        number = api("dropoff", case="SF-LOG1", size="M", source="kiosk")["door"]
        wait_for(lambda: is_open(sim, number), what="the door to open")
        door(sim, number, "close")  # seen by the poller's thread, not by the request's
        wait_for(lambda: records.starting("materials_deposited"), what="the deposit's line")
    finally:
        daemon.stop()
        seen = records.stop()

    assert seen and all(r.get("KIOSK_DEVICE") == LOCKER for r in seen), seen  # process_fields at the start
    assert all(r["SYSLOG_IDENTIFIER"] == "kiosk-locker" for r in seen)
    about = {r["MESSAGE"].split()[0]: r for r in seen if r.get("KIOSK_CASE") == "SF-LOG1"}
    # the request's thread (the unlock) and the poller's (the door shut, the case deposited)
    for event in ("created", "unlock_commanded", "unlock_result", "door_closed", "materials_deposited"):
        assert event in about, (event, [r["MESSAGE"] for r in seen])
    for event in ("unlock_commanded", "unlock_result", "door_closed", "materials_deposited"):
        assert about[event]["KIOSK_DOOR"] == str(number), about[event]
    started = records.starting("daemon_started")
    assert started and "KIOSK_CASE" not in started[0] and "KIOSK_DOOR" not in started[0]
