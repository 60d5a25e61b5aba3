"""The staff card on the PC/SC reader: a private pcscd with vpcd's virtual reader and
our own virtual card (drivers.idcard.vcard), the kiosk app watching it. A staff card
listed in [kiosk] admin_cards opens admin mode from any screen; another card does
not; while identify asks for staff (no camera), the staff card confirms the resident.

libpcsclite takes the pcscd socket (PCSCLITE_CSOCK_NAME) at a process's first PC/SC
call and keeps it, and tests/drivers/idcard/test_pcsc.py starts a pcscd of its own in
whichever worker runs it: so these tests run in a fresh interpreter of their own
(``python -m pytest`` on this file, the daemon's socket in its environment), and the
test here starts the daemon, runs them and reports their outcome."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import ROOT, require

CHILD = "KIOSK_STAFF_CARD_TESTS"  # set: this process is the fresh one, with the daemon's socket
STAFF, OTHER = "04A1B2C3D4E5F6", "0455667788"


if not os.environ.get(CHILD):

    @pytest.mark.timeout(900)
    def test_the_staff_card_opens_admin_mode_and_confirms_a_resident():
        from drivers.idcard.pcscd import SOCKET_ENV, PcscdStartError, PrivatePcscd, missing_requirements

        why = missing_requirements()
        require("pcscd", not why, why)
        daemon = PrivatePcscd()
        try:
            try:
                daemon.start()
            except PcscdStartError as exc:
                require("pcscd", False, str(exc))
            env = {**os.environ, CHILD: str(daemon.vpcd_port), SOCKET_ENV: daemon.socket_path}
            env.pop("PYTEST_XDIST_WORKER", None)
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
                                   "-o", "addopts=-ra --strict-markers", __file__],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=800)
        finally:
            daemon.stop()
        report = done.stdout[-6000:] + done.stderr[-2000:]
        assert done.returncode == 0, f"the staff card tests failed in their own process:\n{report}"
        assert " passed" in done.stdout and "skipped" not in done.stdout.splitlines()[-1], report

else:
    from tests.kiosk.conftest import card_config, idreader, wait_screen, with_kiosk  # noqa: F401

    def place(uid: str):
        from drivers.idcard.vcard import InsertedCard, VirtualCard

        return InsertedCard(VirtualCard(uid=bytes.fromhex(uid)), port=int(os.environ[CHILD])).insert()

    def staffed(config):
        return with_kiosk(config.model_copy(update={"pcsc": config.pcsc.model_copy(update={"enabled": True})}),
                          admin_cards=[STAFF.lower()])

    def test_the_reader_is_this_process_s_pcscd():
        from drivers.idcard.pcsc import PcscReader

        with PcscReader() as reader:
            assert any(name.startswith("Virtual PCD") for name in reader.readers())

    def test_a_staff_card_opens_admin_mode_and_another_card_does_not(make_app, kiosk_config, qtbot, tap):
        from kiosk.screenshots import DEMO_RESIDENT

        app = make_app(staffed(kiosk_config))
        app.start_staff_watch()
        app.session.identify(DEMO_RESIDENT)  # a resident mid-journey
        app.go("guide")
        card = place(OTHER)
        qtbot.wait(1500)  # seen and refused: nothing changes
        assert not app.admin and app.navigator.current.name == "guide"
        assert app.session.resident is DEMO_RESIDENT
        card.remove()
        card = place(STAFF)
        qtbot.waitUntil(lambda: app.admin, timeout=10000)
        wait_screen(qtbot, app, "admin")
        assert app.session.resident is None  # the resident's session ended when staff took over
        assert app.navigator.screens["admin"].section == "status"
        card.remove()
        tap(app, "admin-logout")
        assert not app.admin

    def test_the_staff_card_confirms_a_resident_when_staff_are_asked(make_app, card_config, idreader, qtbot):
        from kiosk.flows.identify import Step

        config = staffed(card_config.model_copy(update={"camera": card_config.camera.model_copy(
            update={"enabled": False})}))
        config = with_kiosk(config, admin_pin="")  # the card alone: no PIN at all
        app = make_app(config, watch_cards=True)  # the warm-up starts the card watches
        qtbot.waitUntil(lambda: app.staff_watch is not None, timeout=30000)
        idreader.request(cmd="insert", card=1)
        screen = app.navigator.screens["identify"]
        qtbot.waitUntil(lambda: screen.flow.step is Step.STAFF, timeout=15000)
        assert screen.findChild(type(app.header.clock), "identify-staff-card").isVisible()
        card = place(OTHER)
        qtbot.waitUntil(lambda: screen.findChild(type(app.header.clock), "identify-staff-wrong") is not None,
                        timeout=10000)
        assert screen.findChild(type(app.header.clock), "identify-staff-wrong").text() == "这不是工作人员的工作卡"
        assert screen.flow.step is Step.STAFF and app.session.resident is None
        card.remove()
        card = place(STAFF)
        qtbot.waitUntil(lambda: screen.flow.step is Step.WELCOME, timeout=10000)
        assert app.session.resident.name == "李秀兰" and app.session.resident.verified_by == "staff"
        assert not app.admin  # confirming a resident is not admin mode
        card.remove()
