"""A private cupsd (drivers.printer.sim: a cups-pdf queue and fault queues) and an
appliance configuration pointing at it, with its data in a temp folder."""
from __future__ import annotations

import itertools
from typing import Iterator

import pytest

from appliance import config as config_module
from drivers.printer.sim import PrivateCups
from forms.register import migrations
from sync.store import Store
from tests.support import ROOT


_numbers = itertools.count(1)


@pytest.fixture
def fault_queue(cupsd: PrivateCups) -> Iterator[str]:
    """A fault queue of its own (reasons are sticky; a stopped queue keeps its jobs)."""
    name = cupsd.add_fault_printer(f"flow-fault-{next(_numbers)}")
    yield name
    cupsd.run_tool("lpadmin", "-x", name)


@pytest.fixture
def make_config(tmp_path):
    """The shipped configuration, with data_dir in tmp_path and the printer at ``url``."""
    def make(url: str) -> config_module.Config:
        text = (ROOT / "assets" / "appliance.toml").read_text(encoding="utf-8")
        data = tmp_path / "var"
        data.mkdir(exist_ok=True)
        text = text.replace('data_dir = "var"', f'data_dir = "{data}"').replace('url = "cups://kiosk"', f'url = "{url}"')
        path = tmp_path / "appliance.toml"
        path.write_text(text, encoding="utf-8")
        return config_module.load(path, check_devices=False)
    return make


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    with Store(tmp_path / "appliance.db", [migrations]) as store:
        yield store
