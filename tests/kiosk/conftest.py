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


def on_server(config: config_module.Config, server, **sync) -> config_module.Config:
    """``config`` syncing with ``server`` (tests.browser.LiveServer, a real server
    process), with a one-time enrolment code in its data folder as the admin gives."""
    from tests.sync.server.support import new_code

    (config.data_dir / config.sync.enrolment_code_file).write_text(
        new_code(server.database_url, config.appliance.id, config.appliance.community) + "\n")
    return config.model_copy(update={"sync": config.sync.model_copy(update={"server_url": server.url, **sync})})


def server_events(server) -> list[tuple[str, str, str]]:
    """(aggregate type, event type, status) of every event the server holds."""
    from sqlalchemy import select

    from sync.server import db
    from sync.server.models import EventRow

    engine = db.create(server.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(EventRow.aggregate_type, EventRow.event_type,
                                                         EventRow.status))]
    finally:
        engine.dispose()


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
        if kwargs.get("watch_cards"):
            qtbot.waitUntil(lambda: app.ready, timeout=30000)  # the face models loaded, the reader open
        return app

    yield make
    for app in made:
        app.shutdown()
        app.deleteLater()
    made.clear()
    import gc
    gc.unfreeze()  # the app froze what it built; let the next test's collector see it go
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
        """Taps the button named ``name`` once it is shown, enabled and not under an
        overlay (the screen may be rebuilt meanwhile: it is looked up again)."""
        from PySide6.QtWidgets import QAbstractButton

        deadline = time.monotonic() + timeout
        while True:
            buttons = [b for b in app.findChildren(QAbstractButton, name) if b.isVisible() and b.isEnabled()]
            if buttons:
                at, hit = reach(buttons[-1])
                if at is not None:
                    break
            if time.monotonic() > deadline:
                if buttons:
                    cover = f"{type(hit).__name__} {hit.objectName()!r}" if hit is not None else "nothing (off the window)"
                    raise AssertionError(f"button {name!r} is covered by {cover}")
                visible = sorted({b.objectName() for b in app.findChildren(QAbstractButton) if b.isVisible()})
                raise AssertionError(f"no visible button {name!r}; visible: {visible}")
            self.qtbot.wait(20)
        self.count += 1
        press(buttons[-1], at)


def reach(widget):
    """Where a finger on ``widget``'s centre lands in its window, and what it hits
    there: ``(point, widget)`` when it reaches the widget, ``(None, what_is_there)``
    when something covers it (an overlay) or the centre is off the window."""
    window = widget.window()
    at = widget.mapTo(window, widget.rect().center())
    hit = window.childAt(at)
    return (at, hit) if hit is widget or widget.isAncestorOf(hit) else (None, hit)


def press(widget, at) -> None:
    """Pressed and lifted at ``at``, delivered to the window (the ``QWindow``) as a
    touch is: Qt finds the widget under the finger, and the window's watchers (idle,
    the keyboard's hook) see it."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.mouseClick(widget.window().windowHandle(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


def finger(qtbot, widget, *, timeout: float = 5.0) -> None:
    """A finger on ``widget``; a widget under an overlay is not reached, as a finger
    would not reach it: wait for the overlay to go, then fail naming it."""
    deadline = time.monotonic() + timeout
    at, hit = reach(widget)
    while at is None:
        if time.monotonic() > deadline:
            cover = f"{type(hit).__name__} {hit.objectName()!r}" if hit is not None else "nothing (off the window)"
            raise AssertionError(f"{widget.objectName()!r} is covered by {cover}")
        qtbot.wait(20)
        at, hit = reach(widget)
    press(widget, at)


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
    """Every resident's data reachable from the app: walks the app's object graph
    (attributes, containers, closures of pending callbacks, Qt children) looking for
    a card record, a Resident, a face check decision, an ID number or a name of the
    demo cards. Modules and classes are not followed (they hold no session data)."""
    import types

    from PySide6.QtCore import QObject

    from drivers.idcard.record import IdCardRecord
    from kiosk.identity import Decision
    from kiosk.session import Resident

    numbers = ("110101198503120033", "11010519491231002X", "650102199207080045", "370102193810010012")
    names = ("张晓明", "李秀兰")
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[object, str]] = [(kiosk_app, "app")]
    while stack:
        obj, path = stack.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type, types.BuiltinFunctionType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (IdCardRecord, Resident, Decision)):
            found.append(f"{type(obj).__name__} at {path}")
            continue
        if isinstance(obj, str):
            if any(n in obj for n in numbers + names):
                found.append(f"text {obj[:30]!r} at {path}")
            continue
        if isinstance(obj, (bytes, int, float, bool, type(None))):
            continue
        children: list[tuple[object, str]] = []
        if isinstance(obj, dict):
            children += [(k, f"{path}[key]") for k in obj] + [(v, f"{path}[{k!r}]") for k, v in obj.items()]
        elif isinstance(obj, (list, tuple, set, frozenset)) or type(obj).__name__ == "deque":
            children += [(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        elif isinstance(obj, types.FunctionType):
            children += [(c.cell_contents, f"{path}.<closure>") for c in (obj.__closure__ or ())
                         if _cell_full(c)]
            children += [(d, f"{path}.<default>") for d in (obj.__defaults__ or ())]
        elif isinstance(obj, types.MethodType):
            children.append((obj.__self__, f"{path}.__self__"))
        else:
            try:
                attrs = vars(obj)
            except TypeError:
                attrs = {}
            children += [(v, f"{path}.{k}") for k, v in attrs.items()]
            slots = getattr(type(obj), "__slots__", ())
            children += [(getattr(obj, n), f"{path}.{n}") for n in slots if hasattr(obj, n)]
            if hasattr(obj, "__dataclass_fields__"):
                children += [(getattr(obj, n), f"{path}.{n}") for n in obj.__dataclass_fields__ if hasattr(obj, n)]
            if isinstance(obj, QObject):
                children += [(c, f"{path}/{c.objectName() or type(c).__name__}")
                             for c in obj.findChildren(QObject)]
                text = getattr(obj, "text", None)
                if callable(text):
                    try:
                        value = text()
                    except TypeError:
                        value = None
                    if isinstance(value, str):
                        children.append((value, f"{path}.text()"))
        stack.extend(children)
    return found


def _cell_full(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


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
