from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sync.agent import Agent
from sync.server import create_app
from sync.store import Store, append_event
from tests.sync.agent.adapters import ASGIAdapter, FailingAdapter
from tests.sync.server.support import new_code, new_key


def append_events(store: Store, count: int, case_prefix: str = "case") -> list[str]:
    """``count`` events in one transaction: cases created and closed (certificates)."""
    ids = []
    with store.atomic() as db:
        for i in range(count):
            case = f"{case_prefix}-{i // 2}"
            ids.append(append_event(db, aggregate_type="case", aggregate_id=case,
                                    event_type="created" if i % 2 == 0 else "closed",
                                    payload={"n": i}))
    return ids


@pytest.fixture
def server_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


@pytest.fixture
def app_client(server_url) -> Iterator[TestClient]:
    with TestClient(create_app(server_url)) as client:
        yield client


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    store = Store(tmp_path / "appliance.db")
    yield store
    store.close()


@pytest.fixture
def make_agent(tmp_path, store, server_url, app_client):
    """make_agent(adapter=None, enrol=True, **options) -> Agent (closed afterwards)."""
    agents: list[Agent] = []

    def make(adapter=None, enrol: bool = True, key=None, **options) -> Agent:
        key = key or new_key(f"kiosk-{uuid.uuid4().hex[:6]}")
        code_file = tmp_path / "enrolment-code"
        if enrol:
            code_file.write_text(new_code(server_url, key.device_id) + "\n")
        options = {"batch_size": 100, "interval_s": 0.01, "backoff_max_s": 0.02, **options}
        agent = Agent(store, key, "http://testserver", tmp_path / "appliance.sync.db", data_dir=tmp_path,
                      enrolment_code_file=code_file, adapter=adapter or ASGIAdapter(app_client), **options)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.close()
