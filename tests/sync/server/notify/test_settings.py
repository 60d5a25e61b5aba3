"""Notification settings from the environment: defaults, and a wrong value names its variable."""
import pytest

from sync.server.notify.errors import NotifyConfigError
from sync.server.notify.settings import from_env


def test_defaults():
    settings = from_env({})
    assert (settings.adapter, settings.loop, settings.max_attempts, settings.public_url) == (
        "log", True, 8, "http://127.0.0.1:8000")
    assert [settings.backoff(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert settings.backoff(20) == 3600


@pytest.mark.parametrize("env, variable", [
    ({"SYNC_NOTIFY_ADAPTER": "pigeon"}, "SYNC_NOTIFY_ADAPTER"),
    ({"SYNC_NOTIFY_ADAPTER": "http"}, "SYNC_NOTIFY_HTTP_URL"),
    ({"SYNC_NOTIFY_HTTP_METHOD": "DELETE"}, "SYNC_NOTIFY_HTTP_METHOD"),
    ({"SYNC_NOTIFY_HTTP_HEADERS": "{nope"}, "SYNC_NOTIFY_HTTP_HEADERS"),
    ({"SYNC_NOTIFY_HTTP_HEADERS": '{"a": 1}'}, "SYNC_NOTIFY_HTTP_HEADERS"),
    ({"SYNC_NOTIFY_MAX_ATTEMPTS": "0"}, "SYNC_NOTIFY_MAX_ATTEMPTS"),
    ({"SYNC_NOTIFY_INTERVAL_S": "soon"}, "SYNC_NOTIFY_INTERVAL_S"),
    ({"SYNC_NOTIFY_LOOP": "maybe"}, "SYNC_NOTIFY_LOOP"),
    ({"SYNC_PUBLIC_URL": "server.example"}, "SYNC_PUBLIC_URL"),
    ({"SYNC_RATING_DAYS": "1.5"}, "SYNC_RATING_DAYS"),
])
def test_a_wrong_value_names_its_variable(env, variable):
    with pytest.raises(NotifyConfigError, match=variable):
        from_env(env)
