from __future__ import annotations

import pytest

from tests.sync.server.notify.gateway import Gateway


@pytest.fixture
def gateway():
    running = Gateway().start()
    try:
        yield running
    finally:
        running.stop()
