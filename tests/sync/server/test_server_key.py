"""The server's own signing key: created once in the database and shared by every
server process, published under its id, used for worker and booking codes that the
locker's own check (locker.codes) accepts."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from appliance.keys import TrustedKeys
from locker import codes as locker_codes
from locker.errors import Refused
from sync.server import create_app, db, keys
from sync.server.__main__ import main
from sync.server.codes import issue_booking_code, issue_worker_code
from sync.server.models import ServerKey
from sync.wire import API
from tests.sync.server.support import Signed, new_code, new_key


def check(text: str, published: dict, locker_id: str = "locker-01", server_key_id: str = "server"):
    return locker_codes.check(text, TrustedKeys.parse(json.dumps(published)), locker_id=locker_id,
                              server_key_id=server_key_id, worker_max_minutes=30)


def test_created_at_first_start_published_and_the_same_for_every_process(client, database_url, enrol):
    device = enrol()
    published = client.get(f"{API}/keys").json()
    assert set(published) == {"server", device.key.device_id}
    changes = device("GET", "/changes").json()["changes"]
    feed = {c["key"]: c["data"] for c in changes if c["kind"] == "device_key"}
    assert feed["server"]["public_key"] == published["server"]["public_key"]
    assert feed["server"]["revoked"] is False
    assert "PRIVATE" not in json.dumps(published) + json.dumps(changes)
    # another server process on the same database: same key, not published again
    with TestClient(create_app(database_url)) as second:
        assert second.get(f"{API}/keys").json()["server"] == published["server"]
    again = device("GET", "/changes").json()["changes"]
    assert [c["key"] for c in again if c["kind"] == "device_key"].count("server") == 1
    with client.app.state.engine.connect() as conn:
        assert conn.execute(select(ServerKey.key_id)).scalars().all() == ["server"]


def test_codes_it_issues_pass_the_lockers_check_and_others_do_not(client):
    published = client.get(f"{API}/keys").json()
    with client.app.state.engine.begin() as conn:
        worker = issue_worker_code(conn, "w-li", ["locker-01", "locker-02"], minutes=10)
        booking = issue_booking_code(conn, "case-7", "M", "locker-01")
    code = check(worker, published)
    assert (code.kind, code.worker, code.lockers, code.issuer) == ("worker", "w-li", ["locker-01", "locker-02"],
                                                                   "server")
    assert code.expires - code.issued == 600
    code = check(booking, published)
    assert (code.kind, code.case, code.size, code.lockers) == ("booking", "case-7", "M", ["locker-01"])
    with pytest.raises(Refused) as refused:
        check(worker, published, locker_id="locker-99")
    assert refused.value.reason == "other_locker"
    forged = locker_codes.worker_code(new_key("server"), "w-li", ["locker-01"], minutes=10)
    with pytest.raises(Refused) as refused:
        check(forged, published)
    assert refused.value.reason == "forged"
    with client.app.state.engine.begin() as conn:
        with pytest.raises(ValueError):
            issue_worker_code(conn, "w-li", [], minutes=10)
        with pytest.raises(ValueError):
            issue_booking_code(conn, "case-7", "XL")


def test_no_device_enrols_under_the_server_key_id(client, database_url):
    squatter = Signed(client, new_key("server"))
    answer = squatter.enrol(new_code(database_url, "server"))
    assert answer.status_code == 403 and "server's key id" in answer.json()["detail"]


def test_the_key_id_is_configurable_and_the_cli_signs_with_it(database_url, capsys):
    assert main(["worker-code", "--worker", "w-wang", "--lockers", "lk-a", "lk-b", "--minutes", "5",
                 "--server-key-id", "hq", "--database", database_url]) == 0
    worker = capsys.readouterr().out.strip()
    assert main(["booking-code", "--case", "c-1", "--size", "L", "--server-key-id", "hq",
                 "--database", database_url]) == 0
    booking = capsys.readouterr().out.strip()
    with TestClient(create_app(database_url, server_key_id="hq")) as client:
        published = client.get(f"{API}/keys").json()
    assert set(published) == {"hq"}
    assert check(worker, published, locker_id="lk-b", server_key_id="hq").worker == "w-wang"
    assert check(booking, published, locker_id="any-locker", server_key_id="hq").size == "L"
    assert main(["worker-code", "--worker", "w", "--lockers", "lk-a", "--minutes", "0",
                 "--database", database_url]) == 2
    assert "minutes" in capsys.readouterr().err


def test_a_device_already_enrolled_under_the_key_id_stops_the_server(client, enrol, database_url, capsys):
    device = enrol("kiosk-taken")
    engine = db.create(database_url)
    try:
        with engine.begin() as conn, pytest.raises(keys.ServerKeyError) as refused:
            keys.ensure(conn, device.key.device_id)
    finally:
        engine.dispose()
    assert "--server-key-id" in str(refused.value)
    # and `python -m sync.server` says so instead of serving
    assert main(["--port", "0", "--database", database_url, "--server-key-id", device.key.device_id]) == 2
    assert main(["--port", "0", "--database", database_url, "--server-key-id", "Not An Id"]) == 2
    assert "lower-case letters" in capsys.readouterr().err
