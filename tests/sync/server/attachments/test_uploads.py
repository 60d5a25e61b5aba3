"""Resumable attachment uploads in-process, on SQLite and PostgreSQL: interrupted and
resumed, repeated steps answered as before, damaged bytes refused, limits."""
from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from sync.server.attachments import uploads
from sync.wire import API, MAX_ATTACHMENT_BYTES, MAX_CHUNK_BYTES
from tests.sync.server.support import event, signature_headers

CHUNK = 64 * 1024


def header(data: bytes, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "case_id": "case-scan-1", "content_type": "application/pdf",
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "name": "户口本.pdf", **extra}


def put_chunk(client, device, upload_id: str, offset: int, data: bytes, *, sent: bytes | None = None):
    """PUT ``data`` signed; ``sent`` (if given) is what actually travels, as if changed on the way."""
    path = f"{API}/attachments/{upload_id}/chunks/{offset}"
    headers = {**signature_headers(device.key, "PUT", path, data), "Content-Type": "application/octet-stream"}
    return client.put(path, content=data if sent is None else sent, headers=headers)


def stored(client, upload_id: str) -> bytes:
    with client.app.state.engine.connect() as conn:
        return b"".join(uploads.read(conn, upload_id))


def test_an_upload_interrupted_midway_resumes_from_what_the_server_holds(client, enrol):
    device = enrol()
    data = os.urandom(5 * CHUNK + 123)
    created = device("POST", "/attachments", header(data))
    assert created.status_code == 201, created.text
    upload_id = created.json()["id"]
    assert created.json()["received"] == 0 and not created.json()["complete"]
    for offset in (0, CHUNK):  # two chunks, then the connection drops
        assert put_chunk(client, device, upload_id, offset, data[offset:offset + CHUNK]).status_code == 200
    # the appliance comes back knowing nothing but the upload's id: it asks
    status = device("GET", f"/attachments/{upload_id}").json()
    assert status["received"] == 2 * CHUNK and not status["complete"]
    # creating again (unsure the first create arrived) answers the same upload
    again = device("POST", "/attachments", header(data, id=upload_id))
    assert again.status_code == 200 and again.json()["received"] == 2 * CHUNK
    for offset in range(status["received"], len(data), CHUNK):
        answer = put_chunk(client, device, upload_id, offset, data[offset:offset + CHUNK])
        assert answer.status_code == 200 and answer.json()["received"] == min(len(data), offset + CHUNK)
    early = device("GET", f"/attachments/{upload_id}").json()
    assert early["received"] == len(data) and not early["complete"]
    done = device("POST", f"/attachments/{upload_id}/finish")
    assert done.status_code == 200 and done.json()["complete"], done.text
    assert device("POST", f"/attachments/{upload_id}/finish").json()["complete"]  # idempotent
    assert stored(client, upload_id) == data
    with client.app.state.engine.connect() as conn:
        linked = uploads.for_case(conn, "case-scan-1")
    assert [str(a.id) for a in linked] == [upload_id] and linked[0].name == "户口本.pdf"


def test_a_chunk_sent_again_is_answered_as_before_and_a_gap_or_other_bytes_are_refused(client, enrol):
    device = enrol()
    data = os.urandom(3 * CHUNK)
    upload_id = device("POST", "/attachments", header(data)).json()["id"]
    first = put_chunk(client, device, upload_id, 0, data[:CHUNK])
    repeat = put_chunk(client, device, upload_id, 0, data[:CHUNK])  # the answer to the first was lost
    assert repeat.status_code == 200 and repeat.json() == first.json()
    gap = put_chunk(client, device, upload_id, 2 * CHUNK, data[2 * CHUNK:])
    assert gap.status_code == 409 and gap.json()["received"] == CHUNK and f"offset {CHUNK}" in gap.json()["detail"]
    other = put_chunk(client, device, upload_id, 0, b"X" * CHUNK)
    assert other.status_code == 409 and "differ" in other.json()["detail"]
    # a chunk overlapping what is held: the held part matches, only the tail is added
    overlap = put_chunk(client, device, upload_id, CHUNK // 2, data[CHUNK // 2:2 * CHUNK])
    assert overlap.status_code == 200 and overlap.json()["received"] == 2 * CHUNK
    assert put_chunk(client, device, upload_id, 2 * CHUNK, data[2 * CHUNK:]).status_code == 200
    assert device("POST", f"/attachments/{upload_id}/finish").json()["complete"]
    assert stored(client, upload_id) == data


def test_a_chunk_changed_on_the_way_is_refused_and_nothing_of_it_is_stored(client, enrol):
    device = enrol()
    data = os.urandom(2 * CHUNK)
    upload_id = device("POST", "/attachments", header(data)).json()["id"]
    damaged = bytearray(data[:CHUNK])
    damaged[1000] ^= 0x40
    answer = put_chunk(client, device, upload_id, 0, data[:CHUNK], sent=bytes(damaged))
    assert answer.status_code == 401 and "bad signature" in answer.json()["detail"]
    assert device("GET", f"/attachments/{upload_id}").json()["received"] == 0


def test_a_file_damaged_before_it_was_sent_fails_its_hash_and_starts_over(client, enrol):
    device = enrol()
    data = os.urandom(2 * CHUNK)
    upload_id = device("POST", "/attachments", header(data)).json()["id"]
    damaged = data[:CHUNK - 1] + bytes([data[CHUNK - 1] ^ 1])  # a bit flipped on the appliance's disk
    assert put_chunk(client, device, upload_id, 0, damaged).status_code == 200
    assert put_chunk(client, device, upload_id, CHUNK, data[CHUNK:]).status_code == 200
    refused = device("POST", f"/attachments/{upload_id}/finish")
    assert refused.status_code == 422 and "SHA-256" in refused.json()["detail"]
    assert "offset 0" in refused.json()["detail"]
    assert device("GET", f"/attachments/{upload_id}").json() | {"received": 0} == \
        device("GET", f"/attachments/{upload_id}").json()
    assert stored(client, upload_id) == b""
    for offset in (0, CHUNK):
        assert put_chunk(client, device, upload_id, offset, data[offset:offset + CHUNK]).status_code == 200
    assert device("POST", f"/attachments/{upload_id}/finish").json()["complete"]
    assert stored(client, upload_id) == data


def test_limits_and_wrong_steps_get_clear_refusals(client, enrol):
    device = enrol()
    data = os.urandom(1000)
    too_big = device("POST", "/attachments", header(data, size=MAX_ATTACHMENT_BYTES + 1))
    assert too_big.status_code == 422 and "size" in too_big.text
    upload_id = device("POST", "/attachments", header(data)).json()["id"]
    conflict = device("POST", "/attachments", header(data, id=upload_id, sha256="0" * 64))
    assert conflict.status_code == 409 and "another header" in conflict.json()["detail"]
    past = put_chunk(client, device, upload_id, 500, data)
    assert past.status_code == 422 and "past the declared size" in past.json()["detail"]
    empty = put_chunk(client, device, upload_id, 0, b"")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    huge = put_chunk(client, device, upload_id, 0, b"x" * (MAX_CHUNK_BYTES + 1))
    assert huge.status_code == 413 and "chunks of at most" in huge.json()["detail"]
    early = device("POST", f"/attachments/{upload_id}/finish")
    assert early.status_code == 409 and early.json()["received"] == 0
    assert device("GET", f"/attachments/{uuid.uuid4()}").status_code == 404
    stranger = enrol()
    assert stranger("GET", f"/attachments/{upload_id}").status_code == 404  # not its upload
    assert put_chunk(client, stranger, upload_id, 0, data).status_code == 404
    assert client.get(f"{API}/attachments/{upload_id}").status_code == 401  # unsigned


def test_an_attachment_for_another_communitys_case_is_refused(client, enrol):
    elsewhere = enrol(community="另一社区")
    assert elsewhere("POST", "/events", {"events": [event("case-x", "created", 1)]}).status_code == 200
    device = enrol()
    refused = device("POST", "/attachments", header(b"scan", case_id="case-x"))
    assert refused.status_code == 403 and "another community" in refused.json()["detail"]
