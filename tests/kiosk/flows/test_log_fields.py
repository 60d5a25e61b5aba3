"""The kiosk's journeys log each step with the case and the door (``journalctl
KIOSK_CASE=…`` finds the kiosk's lines of a case next to the locker's and the
server's), through the journal handler to a journal socket."""
from __future__ import annotations

import logging

import pytest

from appliance.journal import ContextFilter, JournalHandler
from kiosk.flows.doors import LockerDoors
from kiosk.flows.dropoff import DropOffFlow
from kiosk.flows.pickup import PickupFlow
from kiosk.store.guide import DEMO, Guide
from tests.appliance.test_journal_bundle import journal, parse  # noqa: F401 (the journal's sink)


@pytest.fixture
def journal_handler(journal):  # noqa: F811
    """The kiosk's loggers sending to the sink, as setup_logging's handler does under systemd."""
    handler = JournalHandler("kiosk-ui", journal.path)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("kiosk")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield journal
    logger.removeHandler(handler)
    logger.setLevel(level)
    handler.close()


def test_a_journeys_steps_carry_its_case_and_door(journal_handler, tmp_path):
    nobody = LockerDoors(tmp_path / "nobody.sock")  # the locker's own scanner opened the doors: no request
    dropoff = DropOffFlow(nobody, None, Guide.from_file(DEMO))
    dropoff.scanned(4, "SQ-2026-0042")
    pickup = PickupFlow(nobody)
    pickup.scanned(7, "SQ-2026-0007")
    first, second = parse(journal_handler.recv(65536)), parse(journal_handler.recv(65536))
    assert first["MESSAGE"] == "drop-off SQ-2026-0042: choose → open" and first["LOGGER"] == "kiosk.dropoff"
    assert (first["KIOSK_CASE"], first["KIOSK_DOOR"]) == ("SQ-2026-0042", "4")
    assert second["MESSAGE"] == "pickup: enter → open"
    assert (second["KIOSK_CASE"], second["KIOSK_DOOR"]) == ("SQ-2026-0007", "7")
