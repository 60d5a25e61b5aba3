"""Fixtures and helpers for the kiosk's locker journeys (drop-off, pickup, progress):
a real locker daemon (in this process, serving its Unix socket) on the lock-board
simulator running as its own process on a pty, and the kiosk's own store.

Import the fixtures into a test module::

    from tests.kiosk.journeys import bus, locker, kiosk_store, server_key  # noqa: F401
"""
from __future__ import annotations

import contextlib

from pathlib import Path
from typing import Iterator

import pytest

from appliance.config import load
from appliance.keys import DeviceKey, TrustedKeys
from forms.register import migrations as register_migrations
from kiosk.flows.doors import LockerDoors
from kiosk.store import cases
from locker import codes
from locker.daemon import Daemon, socket_path, store_path
from sync.store import Store
from tests.locker.conftest import CONFIG, DOORS, LOCKER, Client, door, is_open, wait_for
from tests.support import SimProcess

# The journey tests keep the UI thread's longest stall under issue #7's 100 ms with
# tests/kiosk/screens/stalls.py (Stalls, LIMIT_MS): it tells a stall of the kiosk's own from
# the shared machine not scheduling the process, and names the code that held the thread.

__all__ = ["bus", "locker", "kiosk_store", "server_key", "door", "is_open", "wait_for", "LOCKER", "DOORS",
           "open_door", "result_waiting", "doors_of"]


@pytest.fixture(scope="module")
def running_bus() -> Iterator[SimProcess]:
    sim = SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "2", "--doors", str(DOORS)).start()
    yield sim
    sim.stop()


@pytest.fixture
def bus(running_bus: SimProcess) -> SimProcess:
    if running_bus.proc.poll() is not None:
        pytest.fail("the lock-board simulator died")
    running_bus.request(cmd="reset")
    return running_bus


@pytest.fixture
def server_key() -> DeviceKey:
    return DeviceKey.from_seed("server", bytes(range(32)))


@pytest.fixture
def locker(tmp_path: Path, bus: SimProcess, server_key: DeviceKey) -> Iterator[Daemon]:
    """The locker daemon serving its socket; ``locker.client`` reads its store, ``locker.config``."""
    data = tmp_path / "locker"
    data.mkdir()
    TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
    path = tmp_path / "locker.toml"
    path.write_text(CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS, oos="8", prompt=60,
                                  alarm=120, sync="false"), encoding="utf-8")
    config = load(path)
    daemon = Daemon(config)
    daemon.start()
    daemon.client = Client(socket_path(config), store_path(config))
    daemon.doors = LockerDoors(socket_path(config), poll=0.02)
    yield daemon
    daemon.stop()


@pytest.fixture
def kiosk_store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "appliance.db", [register_migrations, cases.migrations]) as store:
        yield store


def open_door(bus: SimProcess) -> int:
    """The number of the door the locker just opened (the simulator opens it on the unlock)."""
    return wait_for(lambda: next((n for n in range(1, 2 * DOORS + 1) if is_open(bus, n)), None),
                    what="a door to open")


def doors_of(bus: SimProcess) -> list[int]:
    return [n for n in range(1, 2 * DOORS + 1) if is_open(bus, n)]


def result_waiting(locker: Daemon, bus: SimProcess, key: DeviceKey, case: str) -> dict:
    """Take ``case`` through the locker as the resident and the grid worker would,
    until its result waits in a door: the ``pickup_code_issued`` event (code, short, door)."""
    client = locker.client
    if (client.case(case) or {}).get("state") != "materials_deposited":
        answer = client("dropoff", case=case, size="M")
        client.wait_opening(answer["opening"]["id"], "opened")
        door(bus, answer["door"], "close")
        wait_for(lambda: (client.case(case) or {}).get("state") == "materials_deposited", what="deposited")
    answer = client("collect", code=codes.worker_code(key, "w-li", [LOCKER], minutes=10))
    client.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    wait_for(lambda: (client.case(case) or {}).get("state") == "collected", what="collected")
    answer = client("return", code=codes.worker_code(key, "w-li", [LOCKER], minutes=10), case=case, size="M")
    client.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    client.wait_opening(answer["opening"]["id"], "closed")
    return {**[e for e in client.outbox("pickup_code_issued") if e.get("door") == answer["door"]][-1],
            "door": answer["door"]}


def kiosk_config_on(tmp_path: Path, locker: Daemon, *, printer_url: str | None = None):
    """The kiosk's configuration (its own data folder) asking ``locker``'s socket."""
    from tests.kiosk.conftest import write_config

    config = write_config(tmp_path, printer_url=printer_url)
    return config.model_copy(update={"locker": config.locker.model_copy(
        update={"socket": str(socket_path(locker.config))})})


def visible(app, cls, name: str):
    """The visible widget of type ``cls`` called ``name`` (or None)."""
    found = [w for w in app.findChildren(cls, name) if w.isVisible()]
    return found[-1] if found else None


def texts(widget) -> list[str]:
    """What a person reads in ``widget`` (the app, a screen, a panel): the texts of its
    visible labels, in the order they were made. Empty for None (a panel not shown)."""
    from PySide6.QtWidgets import QLabel

    return [w.text() for w in widget.findChildren(QLabel) if w.isVisible()] if widget is not None else []


_faults = iter(range(1, 10_000))


@pytest.fixture
def fault_printer(cupsd) -> Iterator[str]:
    """A fault queue of its own on the session's private cupsd (reasons are sticky)."""
    name = cupsd.add_fault_printer(f"journey-fault-{next(_faults)}")
    yield name
    cupsd.run_tool("lpadmin", "-x", name)


@pytest.fixture
def locker_process(tmp_path: Path, bus: SimProcess, server_key: DeviceKey):
    """The locker daemon as its own process, as on the appliance (``python -m locker serve``):
    the app's UI thread then shares its interpreter with nobody. Same attributes as ``locker``
    (``client``, ``config``, ``doors``)."""
    from types import SimpleNamespace

    from tests.locker.conftest import DaemonProcess

    data = tmp_path / "locker"
    data.mkdir()
    TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
    path = tmp_path / "locker.toml"
    path.write_text(CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS, oos="8", prompt=60,
                                  alarm=120, sync="false"), encoding="utf-8")
    config = load(path)
    with DaemonProcess(str(path)) as process:
        yield SimpleNamespace(process=process, config=config,
                              client=Client(socket_path(config), store_path(config)),
                              doors=LockerDoors(socket_path(config), poll=0.02))


@contextlib.contextmanager
def locker_with_scanner(tmp_path: Path, bus: SimProcess, server_key: DeviceKey, *, receipts_to: str | None = None):
    """The locker daemon (its own process) owning the QR scanner simulator (its own
    process); ``receipts_to``: a CUPS URL the locker prints its own receipts on."""
    from types import SimpleNamespace

    from tests.locker.conftest import DaemonProcess

    with SimProcess("drivers.scanner.sim") as scanner:
        data = tmp_path / "locker"
        data.mkdir()
        TrustedKeys().with_key("server", server_key.public_key).save(data / "trusted-keys.json")
        path = tmp_path / "locker.toml"
        text = CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS, oos="8", prompt=60, alarm=120,
                             sync="false").replace(
            "[scanner]\nenabled = false", f'[scanner]\nenabled = true\nurl = "{scanner.path}"')
        if receipts_to:
            text = text.replace("[printer]\nenabled = false", f'[printer]\nenabled = true\nurl = "{receipts_to}"') \
                .replace("receipt = false", "receipt = true")
        path.write_text(text, encoding="utf-8")
        config = load(path)
        with DaemonProcess(str(path)) as process:
            yield SimpleNamespace(process=process, config=config, scanner=scanner,
                                  client=Client(socket_path(config), store_path(config)),
                                  doors=LockerDoors(socket_path(config), poll=0.02))


@pytest.fixture
def scanning_locker(tmp_path: Path, bus: SimProcess, server_key: DeviceKey):
    """The locker daemon (its own process) owning the QR scanner simulator (its own process)."""
    with locker_with_scanner(tmp_path, bus, server_key) as locker:
        yield locker
