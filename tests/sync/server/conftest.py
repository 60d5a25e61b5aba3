from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sync.server import create_app
from tests.sync.server.support import Signed, new_code, new_key


@pytest.fixture
def client(database_url) -> Iterator[TestClient]:
    with TestClient(create_app(database_url)) as client:
        yield client


@pytest.fixture
def enrol(client, database_url):
    """enrol(device_id=None, community=...) -> Signed, for an enrolled fresh key."""
    def make(device_id: str | None = None, community: str = "示范社区") -> Signed:
        key = new_key(device_id)
        signed = Signed(client, key)
        answer = signed.enrol(new_code(database_url, key.device_id, community))
        assert answer.status_code == 201, answer.text
        return signed
    return make
