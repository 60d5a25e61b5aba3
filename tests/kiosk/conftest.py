"""Fixtures for the kiosk app's tests: a configuration in a temp folder, the app on
it (offscreen), the ID card simulator on a pty, and taps on named buttons."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from appliance import config as config_module
from tests.support import ROOT, SimProcess


def write_config(tmp_path: Path, *, printer_url: str | None = None, idcard_url: str | None = None,
                 extra: str = "") -> config_module.Config:
    """The shipped configuration with its data in ``tmp_path`` (and the given devices)."""
    text = (ROOT / "assets" / "appliance.toml").read_text(encoding="utf-8")
    data = tmp_path / "var"
    data.mkdir(exist_ok=True)
    text = text.replace('data_dir = "var"', f'data_dir = "{data}"')
    if printer_url:
        text = text.replace('url = "cups://kiosk"', f'url = "{printer_url}"')
    if idcard_url:
        text = text.replace('url = "sim://idcard?card=none"', f'url = "{idcard_url}"')
        text = text.replace('wlt_decoder = ""', 'wlt_decoder = "sim"')  # the simulator's photos
    path = tmp_path / "appliance.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return config_module.load(path, check_devices=False)


def with_kiosk(config: config_module.Config, **changes) -> config_module.Config:
    return config.model_copy(update={"kiosk": config.kiosk.model_copy(update=changes)})


@pytest.fixture
def kiosk_config(tmp_path) -> config_module.Config:
    return write_config(tmp_path)


@pytest.fixture
def make_app(qtbot) -> Iterator[Callable]:
    from kiosk.app import KioskApp

    made: list[KioskApp] = []

    def make(config: config_module.Config, **kwargs) -> KioskApp:
        app = KioskApp(config, **kwargs)
        qtbot.addWidget(app)
        app.resize(1920, 1080)
        app.show()
        made.append(app)
        return app

    yield make
    for app in made:
        app.shutdown()
    from kiosk.i18n import catalogue
    catalogue().set_language("zh")


@pytest.fixture
def kiosk_app(make_app, kiosk_config):
    return make_app(kiosk_config)


class Taps:
    """Clicks named buttons the way a finger does, and counts them."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.count = 0

    def __call__(self, app, name: str, timeout: float = 5.0) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QAbstractButton

        deadline = time.monotonic() + timeout
        while True:
            buttons = [b for b in app.findChildren(QAbstractButton, name) if b.isVisible() and b.isEnabled()]
            if buttons:
                break
            if time.monotonic() > deadline:
                visible = sorted({b.objectName() for b in app.findChildren(QAbstractButton) if b.isVisible()})
                raise AssertionError(f"no visible button {name!r}; visible: {visible}")
            self.qtbot.wait(20)
        self.count += 1
        self.qtbot.mouseClick(buttons[-1], Qt.MouseButton.LeftButton)


@pytest.fixture
def tap(qtbot) -> Taps:
    return Taps(qtbot)


def wait_screen(qtbot, app, name: str, timeout: float = 10.0) -> None:
    qtbot.waitUntil(lambda: app.navigator.current is not None and app.navigator.current.name == name,
                    timeout=int(timeout * 1000))


@pytest.fixture
def idreader() -> Iterator[SimProcess]:
    """The ID card simulator as its own process on a pty, no card on it."""
    with SimProcess("drivers.idcard.sim", "--card", "none") as sim:
        yield sim


@pytest.fixture
def card_config(tmp_path, idreader):
    """The configuration with the ID reader simulator on its pty and a staff PIN."""
    config = write_config(tmp_path, idcard_url=idreader.path)
    return with_kiosk(config, admin_pin="2468", idle_seconds=60)


@pytest.fixture
def card_app(make_app, card_config):
    """The app watching the simulated card reader."""
    return make_app(card_config, watch_cards=True)


def resident_data(kiosk_app) -> list[str]:
    """Every Python object reachable from the app that holds a resident's data:
    the card record, a Resident, a face check decision (walks the object graph)."""
    import gc

    from drivers.idcard.record import IdCardRecord
    from kiosk.identity import Decision
    from kiosk.session import Resident

    found = []
    for obj in gc.get_objects():
        if isinstance(obj, (IdCardRecord, Resident, Decision)):
            referrers = [type(r).__name__ for r in gc.get_referrers(obj)][:5]
            found.append(f"{type(obj).__name__} held by {referrers}")
    return found


def sync_records(config: config_module.Config, *records: tuple[str, str, dict]) -> None:
    """Put records into the sync agent's file as a pull would (kind, key, data)."""
    from datetime import datetime, timezone

    from sync.agent import state
    from sync.agent.agent import state_path_for
    from sync.wire import Change

    config.store_path.parent.mkdir(parents=True, exist_ok=True)
    store = state.open_state(str(state_path_for(config.store_path)))
    try:
        cursor = int(state.get(store, "cursor", "0") or 0)
        changes = [Change(seq=cursor + i + 1, kind=kind, key=key, data=data, changed_at=datetime.now(timezone.utc))
                   for i, (kind, key, data) in enumerate(records)]
        state.apply_changes(store, changes, cursor + len(changes))
    finally:
        store.close()


HOUSEHOLDS = [
    ("household", "h-xingfu-12-3-401", {"address": "幸福里社区12号楼3单元401室", "living_since": "2016-05-20",
                                        "members": [{"name": "张晓明", "id_number": "110101198503120033",
                                                     "relation": "户主"}]}),
    ("household", "h-heping-5-2-102", {"address": "和平里社区5号院2号楼102室", "living_since": "2010-01-05",
                                       "name": "李秀兰", "id_number": "11010519491231002X"}),
]


@pytest.fixture
def kiosk_fault_queue(cupsd) -> Iterator[str]:
    name = cupsd.add_fault_printer(f"kiosk-fault-{next(_fault_numbers)}")
    yield name
    cupsd.run_tool("lpadmin", "-x", name)


import itertools as _itertools  # noqa: E402

_fault_numbers = _itertools.count(1)
