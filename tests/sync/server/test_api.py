"""The sync API in-process (TestClient), on SQLite and on PostgreSQL."""
from __future__ import annotations

import time
import uuid

from sqlalchemy import func, select

from sync.server.content import put
from sync.server.devices import revoke
from sync.server.models import Device, EventRow
from sync.wire import API
from tests.sync.server.support import Signed, event, new_code, new_key


def count_events(client) -> int:
    with client.app.state.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(EventRow)).scalar_one()


def test_openapi_document_is_published(client):
    doc = client.get("/openapi.json").json()
    assert {f"{API}/events", f"{API}/changes", f"{API}/heartbeat", f"{API}/enrol"} <= set(doc["paths"])
    assert "409" in doc["paths"][f"{API}/events"]["post"]["responses"]


def test_health(client, database_url):
    assert client.get(f"{API}/health").json() == {"status": "ok", "database": database_url.split(":")[0]}


# -- enrolment ---------------------------------------------------------------------
def test_an_enrolment_code_works_once_and_for_its_device_only(client, database_url):
    key = new_key("kiosk-a")
    code = new_code(database_url, "kiosk-a")
    other = Signed(client, new_key("kiosk-b"))
    assert other.enrol(code).status_code == 403  # made for kiosk-a
    first = Signed(client, key).enrol(code)
    assert first.status_code == 201 and first.json()["device_id"] == "kiosk-a"
    assert first.json()["community"] == "示范社区"
    again = Signed(client, new_key("kiosk-a")).enrol(code)
    assert again.status_code == 403 and "used" in again.json()["detail"]
    assert Signed(client, key).enrol("not-a-code-at-all").status_code == 403


def test_enrolment_refuses_a_key_that_is_not_ed25519_sized(client, database_url):
    code = new_code(database_url, "kiosk-a")
    answer = client.post(f"{API}/enrol", json={"code": code, "device_id": "kiosk-a", "public_key": "AAAA"})
    assert answer.status_code == 422 and "32" in answer.json()["detail"]


# -- signatures --------------------------------------------------------------------
def test_every_call_is_authenticated_as_the_enrolled_device(client, enrol):
    device = enrol()
    assert device("POST", "/heartbeat", {"software_version": "t", "free_disk_bytes": 1}).status_code == 200
    unsigned = client.post(f"{API}/heartbeat", json={"software_version": "t", "free_disk_bytes": 1})
    assert unsigned.status_code == 401 and "unsigned" in unsigned.json()["detail"]
    stranger = Signed(client, new_key())  # never enrolled
    assert stranger("GET", "/changes").status_code == 401
    impostor = Signed(client, new_key(device.key.device_id))  # right id, wrong key
    answer = impostor("GET", "/changes")
    assert answer.status_code == 401 and "bad signature" in answer.json()["detail"]


def test_a_changed_body_breaks_the_signature(client, enrol):
    device = enrol()
    body = b'{"software_version":"t","free_disk_bytes":1}'
    from tests.sync.server.support import signature_headers
    headers = signature_headers(device.key, "POST", f"{API}/heartbeat", body)
    answer = client.post(f"{API}/heartbeat", content=body.replace(b"1", b"2"), headers=headers)
    assert answer.status_code == 401


def test_a_replayed_request_and_an_old_timestamp_are_refused(client, enrol):
    device = enrol()
    assert device("GET", "/changes", nonce="once-only").status_code == 200
    replay = device("GET", "/changes", nonce="once-only")
    assert replay.status_code == 401 and "replay" in replay.json()["detail"]
    stale = device("GET", "/changes", stamp_ms=int(time.time() * 1000) - 301_000)
    assert stale.status_code == 401 and "clock" in stale.json()["detail"]
    future = device("GET", "/changes", stamp_ms=int(time.time() * 1000) + 301_000)
    assert future.status_code == 401


def test_a_revoked_device_is_refused_and_cannot_enrol_again(client, enrol, database_url):
    device = enrol()
    with client.app.state.engine.begin() as conn:
        assert revoke(conn, device.key.device_id)
    answer = device("GET", "/changes")
    assert answer.status_code == 403 and "revoked" in answer.json()["detail"]
    again = Signed(client, new_key(device.key.device_id)).enrol(new_code(database_url, device.key.device_id))
    assert again.status_code == 403 and "new device id" in again.json()["detail"]


# -- push ----------------------------------------------------------------------------
def test_pushing_the_same_batch_again_gives_the_same_answer_and_changes_nothing(client, enrol):
    device = enrol()
    batch = {"events": [event("c1", "created", 1), event("c1", "materials_deposited", 2,
                                                          payload={"locker": "L1", "door": 7}),
                        event("L1-7", "opened", 3, aggregate_type="door")]}
    first = device("POST", "/events", batch)
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["applied"] * 3
    assert [r["case_state"] for r in first.json()["results"]] == ["created", "materials_deposited", None]
    rows = count_events(client)
    second = device("POST", "/events", batch)
    assert second.status_code == 200 and second.json() == first.json()
    assert count_events(client) == rows == 3


def test_a_known_uuid_with_another_body_is_a_409_naming_it_and_nothing_is_applied(client, enrol):
    device = enrol()
    original = event("c1", "created", 1)
    assert device("POST", "/events", {"events": [original]}).status_code == 200
    changed = {**original, "payload": {"tampered": True}}
    fresh = event("c2", "created", 2)
    answer = device("POST", "/events", {"events": [fresh, changed]})
    assert answer.status_code == 409
    assert answer.json()["event_ids"] == [original["id"]] and answer.json()["error"] == "conflict"
    assert count_events(client) == 1  # fresh was not applied either
    twice = device("POST", "/events", {"events": [fresh, {**fresh, "seq": 9}]})
    assert twice.status_code == 409 and twice.json()["event_ids"] == [fresh["id"]]


def test_a_transition_not_allowed_is_quarantined_with_the_current_state_and_does_not_block(client, enrol):
    device = enrol()
    batch = {"events": [event("c1", "created", 1), event("c1", "approved", 2),  # skips four states
                        event("c1", "materials_deposited", 3), event("c1", "not_a_state", 4),
                        event("c2", "created", 5)]}
    results = device("POST", "/events", batch).json()["results"]
    assert [r["status"] for r in results] == ["applied", "quarantined", "applied", "quarantined", "applied"]
    assert results[1]["case_state"] == "created"
    assert "created cannot become approved" in results[1]["reason"]
    assert "materials_deposited" in results[1]["reason"]  # where it may go
    assert results[3]["case_state"] == "materials_deposited" and "not a case state" in results[3]["reason"]
    with client.app.state.engine.connect() as conn:
        quarantined = conn.execute(select(EventRow.reason).where(EventRow.status == "quarantined")).scalars().all()
    assert len(quarantined) == 2


def test_a_case_of_another_community_is_not_touched(client, enrol):
    here, there = enrol(), enrol(community="另一社区")
    assert here("POST", "/events", {"events": [event("c1", "created", 1)]}).json()["results"][0]["status"] == "applied"
    result = there("POST", "/events", {"events": [event("c1", "materials_deposited", 1)]}).json()["results"][0]
    assert result["status"] == "quarantined" and "another community" in result["reason"]


def test_a_batch_is_validated(client, enrol):
    device = enrol()
    assert device("POST", "/events", {"events": []}).status_code == 422
    assert device("POST", "/events", {"events": [{**event("c1", "created", 1), "id": "x"}]}).status_code == 422


# -- pull --------------------------------------------------------------------------
def test_pull_gives_own_community_households_and_shared_records_in_pages(client, enrol):
    here = enrol(community="示范社区")
    with client.app.state.engine.begin() as conn:
        put(conn, "household", "h-here", {"head": "张三"}, community="示范社区")
        put(conn, "household", "h-there", {"head": "李四"}, community="另一社区")
        put(conn, "guide_item", "residence-proof", {"title": "居住证明", "materials": ["身份证"]})
        put(conn, "subsidy", "s1", {"person": "h-here", "amount": 100}, community="示范社区")
        put(conn, "certificate_template", "residence", {"version": 1})
        put(conn, "worker_key", "w1", {"public_key": "x"})
        put(conn, "revocation", "cert:2026-0001", {"reason": "lost"})
        put(conn, "config", "announcement", {"text": "周五停电"})
    cursor, seen = 0, []
    while True:
        page = here("GET", f"/changes?cursor={cursor}&limit=3").json()
        seen += [(c["kind"], c["key"]) for c in page["changes"]]
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert ("household", "h-here") in seen and ("household", "h-there") not in seen
    assert {"guide_item", "subsidy", "certificate_template", "worker_key", "revocation", "config",
            "device_key"} <= {kind for kind, _ in seen}
    assert here("GET", f"/changes?cursor={cursor}").json() == {"cursor": cursor, "changes": [], "more": False}


def test_enrolment_and_revocation_publish_device_keys(client, enrol):
    first, second = enrol(), enrol()
    with client.app.state.engine.begin() as conn:
        revoke(conn, second.key.device_id)
    changes = first("GET", "/changes").json()["changes"]
    keys = {c["key"]: c["data"] for c in changes if c["kind"] == "device_key"}
    assert keys[second.key.device_id]["revoked"] is True and keys[first.key.device_id]["revoked"] is False
    published = client.get(f"{API}/keys").json()
    assert published[second.key.device_id]["revoked"] is True


# -- heartbeat -----------------------------------------------------------------------
def test_heartbeat_records_peripheral_health(client, enrol):
    device = enrol()
    beat = {"software_version": "0.1.0", "free_disk_bytes": 10 ** 9, "outbox_pending": 3,
            "peripherals": {"printer": {"state": "degraded", "detail": "paper low", "data": {"paper": "low"}},
                            "lockboard:bus1": {"state": "ok"}}}
    answer = device("POST", "/heartbeat", beat)
    assert answer.status_code == 200 and "server_time" in answer.json()
    with client.app.state.engine.connect() as conn:
        row = conn.execute(select(Device.health, Device.last_heartbeat_at)
                           .where(Device.device_id == device.key.device_id)).one()
    assert row.health["peripherals"]["printer"] == {"state": "degraded", "detail": "paper low", "fix": "",
                                                    "data": {"paper": "low"}}
    assert row.last_heartbeat_at is not None
    assert device("POST", "/heartbeat", {**beat, "peripherals": {"x": {"state": "on fire"}}}).status_code == 422
