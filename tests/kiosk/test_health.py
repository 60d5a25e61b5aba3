"""The heartbeat's peripherals from the kiosk (kiosk.health): real device states from
the ID card simulator on a pty and a private cupsd's fault printer; a reader that is
gone is reported down with what to do; the app's card watch is paused while asked."""
from __future__ import annotations

from kiosk.devices import Devices
from tests.kiosk.conftest import write_config

READER, PRINTER = "idcard reader (SAM)", "printer"


def test_the_probe_reports_the_sam_and_a_printer_out_of_paper(tmp_path, idreader, cupsd, kiosk_fault_queue):
    cupsd.set_fault("paper", kiosk_fault_queue)
    devices = Devices(write_config(tmp_path, idcard_url=idreader.path, printer_url=cupsd.url(kiosk_fault_queue)))
    try:
        printer = devices.printing.printer
        printer.wait(printer.submit(b"%PDF-1.4\n"), 10)  # the printer finds it is out of paper on a job
        found = devices.health()
    finally:
        devices.close()
    assert found[READER].state == "ok", found[READER]
    assert found[READER].data["sam_id"]
    printer = found[PRINTER]
    assert printer.state in ("degraded", "down"), printer
    assert "paper" in (printer.detail + str(printer.data)).lower(), printer
    assert printer.fix


def test_a_healthy_printer_and_a_missing_reader(tmp_path, cupsd):
    queue = cupsd.pdf_queue or cupsd.add_fault_printer("health-ok")
    config = write_config(tmp_path, idcard_url=str(tmp_path / "no-such-tty"), printer_url=cupsd.url(queue))
    devices = Devices(config)
    try:
        found = devices.health()
    finally:
        devices.close()
    assert found[PRINTER].state == "ok", found[PRINTER]
    assert found[READER].state == "down"
    assert found[READER].fix, "a down reader says what to do next"


def test_the_card_watch_is_paused_while_the_probe_asks_the_reader(card_app, qtbot):
    qtbot.waitUntil(lambda: card_app.devices.card_watch is not None, timeout=30000)
    watch = card_app.devices.card_watch
    seen = []
    reader = card_app.devices.reader
    original = reader.health

    def health(**kw):
        seen.append(watch._paused.is_set())
        return original(**kw)
    reader.health = health
    try:
        found = card_app.devices.health()
    finally:
        del reader.health
    assert seen == [True]
    assert not watch._paused.is_set(), "the card watch resumes after the probe"
    assert found[READER].state == "ok"
