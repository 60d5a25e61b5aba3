"""schemathesis against the OpenAPI document, on PostgreSQL (production's back-end): no
server error, and (for the device API) every answer matches the document.

Every operation is reached as its caller: the device API and the kiosk's video API
(/api/v1/video/…) signed as an enrolled device, over the exact bytes that go on the
wire (method, raw path with query, timestamp, fresh nonce, body digest), as the
appliance does; the staff console's JSON endpoints (/staff/…) with a staff member's
session cookie and CSRF header. Examples are limited per operation to keep the run in
tens of seconds.
"""
from __future__ import annotations

import base64
import re
import secrets
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_schema_conformance,
                                               status_code_conformance)
from schemathesis.checks import not_a_server_error

from sync.server import accounts, create_app, db
from sync.server.content import put
from sync.server.video import departments
from sync.wire import (API, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
                       canonical_request)
from tests.sync.server.support import Signed, event, new_code, new_key, postgresql_database

UNSIGNED = (f"{API}/enrol", f"{API}/health", f"{API}/keys")
DEVICE_API = rf"^{API}/(health|enrol|events|changes|heartbeat|keys|attachments)(/|$)"
# the kiosk's video calls (signed like the device API) and the staff console's JSON endpoints
CALLERS_API = rf"^({API}/video/|/staff/)"
EXAMPLES = 15  # per operation in the fuzzing phase; the coverage phase adds every boundary case
STAFF_PASSWORD = "staff-pass-1"


class SigningClient(ASGIClient):
    """The ASGI session schemathesis sends through, as the right caller for each path
    (the hook that takes the fuzzing past authentication): each /api/v1 request signed
    as ``key``'s device; /staff requests with the staff member's session cookie (kept
    by this session since its sign-in) and her CSRF token on unsafe methods."""

    def __init__(self, app, key) -> None:
        super().__init__(app)
        self.key = key
        self.csrf = ""

    def sign_in_staff(self, username: str, password: str) -> None:
        token = re.search(r'name="csrf" value="([^"]+)"', self.get("/login").text).group(1)
        answer = self.post("/login", data={"username": username, "password": password, "csrf": token},
                           allow_redirects=False)
        assert answer.status_code == 303, answer.text
        self.csrf = re.search(r'data-csrf="([^"]+)"', self.get("/staff").text).group(1)

    def send(self, request, **kwargs):
        path = request.path_url
        if path.startswith(API) and not path.startswith(UNSIGNED):
            body = request.body or b""
            body = body.encode("utf-8") if isinstance(body, str) else body
            stamp, nonce = int(time.time() * 1000), secrets.token_urlsafe(12)
            signature = self.key.sign(canonical_request(request.method, path, stamp, nonce, body))
            request.headers.update({HEADER_DEVICE: self.key.device_id, HEADER_TIMESTAMP: str(stamp),
                                    HEADER_NONCE: nonce, HEADER_SIGNATURE: base64.b64encode(signature).decode()})
        elif path.startswith("/staff") and request.method not in ("GET", "HEAD", "OPTIONS"):
            request.headers["X-CSRF-Token"] = self.csrf
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def fuzzed():
    """The app on a fresh PostgreSQL database with one enrolled device, some content to
    pull and an event: (app, the signing session schemathesis sends through)."""
    with postgresql_database() as url:
        app = create_app(url)
        key = new_key("kiosk-fuzz")
        from fastapi.testclient import TestClient
        with TestClient(app) as client:
            device = Signed(client, key)
            assert device.enrol(new_code(url, key.device_id)).status_code == 201
            assert device("POST", "/events", {"events": [event("case-1", "created", 1)]}).status_code == 200
            with app.state.engine.begin() as conn:
                put(conn, "guide_item", "residence-proof", {"title": "居住证明"})
                departments.add_demo(conn)
                accounts.create_account(conn, username="wang", password=STAFF_PASSWORD, name="王", role="staff",
                                        department="civil_affairs")
            session = SigningClient(app, key)
            session.sign_in_staff("wang", STAFF_PASSWORD)
            yield app, session
            session.close()
            stop_video_hub(app)
        app.state.engine.dispose()


def stop_video_hub(app) -> None:
    """schemathesis's ASGI client runs every app on one event loop that lives as long as
    pytest, and never runs their shutdown: end the video bus's LISTEN and sweep tasks
    there, before the database they use is dropped."""
    hub = app.state.video_hub
    if hub.loop is not None and not hub.loop.is_closed():
        for task in list(hub._tasks):
            hub.loop.call_soon_threadsafe(task.cancel)


@pytest.fixture
def api_schema(fuzzed):
    app, _ = fuzzed
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")
device_api = schema.include(path_regex=DEVICE_API)
callers_api = schema.include(path_regex=CALLERS_API)


@device_api.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_answers_match_the_document(case, fuzzed):
    _, session = fuzzed
    case.call_and_validate(session=session, checks=[not_a_server_error, response_schema_conformance,
                                                    status_code_conformance, content_type_conformance,
                                                    negative_data_rejection])


@callers_api.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_video_and_staff_endpoints_answer_no_server_error(case, fuzzed):
    """The kiosk's video API (signed) and the staff console's JSON (session and CSRF):
    whatever is sent, a 4xx that says why, never a 5xx."""
    _, session = fuzzed
    case.call_and_validate(session=session, checks=[not_a_server_error, negative_data_rejection])


# -- what the fuzzing found, kept as plain regression tests (both back-ends) ---------
def test_text_a_database_cannot_store_is_refused_with_the_field_named(client, enrol):
    device = enrol()
    nul = device("POST", "/events", {"events": [event("case\u0000x", "created", 1)]})
    assert nul.status_code == 422 and "NUL" in nul.json()["detail"] and "aggregate_id" in nul.json()["detail"]
    body = b'{"software_version": "\\ud800", "free_disk_bytes": 1}'  # an unpaired surrogate, as JSON allows
    path = f"{API}/heartbeat"
    from tests.sync.server.support import signature_headers
    lone = client.post(path, content=body, headers=signature_headers(device.key, "POST", path, body))
    assert lone.status_code == 422 and "software_version" in lone.json()["detail"]
    fine = device("POST", "/events", {"events": [event("case-\\u0000-literal", "created", 1)]})
    assert fine.status_code == 200  # a backslash and "u0000" as text is just text


def test_numbers_out_of_range_or_of_the_wrong_type_are_refused(client, enrol):
    device = enrol()
    huge = device("POST", "/events", {"events": [event("case-1", "created", 2 ** 63)]})
    assert huge.status_code == 422 and "seq" in huge.json()["detail"]
    flag = device("POST", "/heartbeat", {"software_version": "t", "free_disk_bytes": 1, "outbox_pending": True})
    assert flag.status_code == 422 and "outbox_pending" in flag.json()["detail"]
    assert device("GET", "/changes").status_code == 200  # and nothing stuck behind them


def test_the_signature_covers_the_path_as_sent_percent_escapes_and_all(client, enrol):
    device = enrol()
    escaped = "/attachments/0b1e4c9a%2D0000-4000-8000-000000000000"  # %2D is "-": the route matches
    answer = device("GET", escaped)
    assert answer.status_code == 404, answer.text  # signed over the raw path: past authentication


def test_a_cursor_past_bigint_is_refused(client, enrol):
    answer = enrol()("GET", f"/changes?cursor={2 ** 63}")
    assert answer.status_code == 422 and "cursor" in answer.json()["detail"]


def test_the_fuzzing_session_gets_past_authentication_as_each_caller(fuzzed):
    """Else the fuzzing above would only ever meet 401 and 403."""
    _, session = fuzzed
    listed = session.get(f"{API}/video/departments")
    assert listed.status_code == 200 and any(d["key"] == "civil_affairs" for d in listed.json()["departments"])
    unknown = session.post(f"{API}/video/calls/no-such-call/callback", json={"phone": "13800000000"})
    assert unknown.status_code not in (401, 403) and unknown.status_code < 500, unknown.text
    note = session.post("/staff/calls/no-such-call/note", json={"note": "called back", "follow_up": ""})
    assert note.status_code not in (401, 403) and note.status_code < 500, note.text
    assert session.get("/staff").status_code == 200


# -- what the fuzzing of the video and staff endpoints found, kept as plain regression tests --
@pytest.fixture
def kiosk_and_staff(client, enrol):
    """(a signed kiosk, a client signed in as department staff) on one app, with the demo departments."""
    from tests.sync.server.admin.conftest import csrf_in

    with client.app.state.engine.begin() as conn:
        departments.add_demo(conn)
        accounts.create_account(conn, username="wang", password=STAFF_PASSWORD, name="王", role="staff",
                                department="civil_affairs")
    kiosk = enrol()
    from fastapi.testclient import TestClient

    staff = TestClient(client.app)
    token = csrf_in(staff.get("/login").text)
    assert staff.post("/login", data={"username": "wang", "password": STAFF_PASSWORD, "csrf": token},
                      follow_redirects=False).status_code == 303
    staff.headers["X-CSRF-Token"] = re.search(r'data-csrf="([^"]+)"', staff.get("/staff").text).group(1)
    return kiosk, staff


def test_video_bodies_a_database_cannot_store_are_refused_naming_the_field(client, kiosk_and_staff):
    kiosk, _ = kiosk_and_staff
    nul = kiosk("POST", "/video/calls", {"department": "civil\u0000", "context": {}})
    assert nul.status_code == 422 and "department" in nul.json()["detail"] and "NUL" in nul.json()["detail"]
    path = f"{API}/video/calls"
    body = b'{"department": "civil_affairs", "context": {"topic": "\\ud800"}}'  # an unpaired surrogate
    from tests.sync.server.support import signature_headers
    lone = client.post(path, content=body, headers=signature_headers(kiosk.key, "POST", path, body))
    assert lone.status_code == 422 and "context.topic" in lone.json()["detail"]
    placed = kiosk("POST", "/video/calls", {"department": "civil_affairs", "context": {}})
    assert placed.status_code == 201
    call = placed.json()["call_id"]
    phone = kiosk("POST", f"/video/calls/{call}/callback", {"phone": "138\u00000000000"})
    assert phone.status_code == 422 and "phone" in phone.json()["detail"]
    assert "138" not in phone.json()["detail"]  # the value sent is never echoed: it may be personal
    assert kiosk("POST", f"/video/calls/{call}/callback", {"phone": "13800000000"}).status_code == 201


def test_a_call_id_that_is_no_uuid_is_a_422_not_a_database_error(client, kiosk_and_staff):
    kiosk, staff = kiosk_and_staff
    answer = kiosk("POST", "/video/calls/%00/callback", {"phone": "13800000000"})
    assert answer.status_code == 422 and "call_id" in answer.json()["detail"]
    assert staff.post("/staff/calls/%00/note", json={"note": "x"}).status_code == 422
    assert staff.get("/staff/calls/%00/recording").status_code == 422


def test_a_console_body_with_an_unpaired_surrogate_is_a_422_not_a_500(client, kiosk_and_staff):
    """FastAPI's own 422 echoes the input, and an unpaired surrogate cannot be written
    as UTF-8: the answer is then the device API's Problem, naming the field."""
    _, staff = kiosk_and_staff
    answer = staff.post("/staff/calls/0b1e4c9a-0000-4000-8000-000000000000/note",
                        content=b'{"note": "\\ud800", "follow_up": ""}', headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "body.note" in answer.json()["detail"]
    plain = staff.post("/staff/calls/0b1e4c9a-0000-4000-8000-000000000000/note", json={"note": 5})
    assert plain.status_code == 422 and isinstance(plain.json()["detail"], list)  # FastAPI's answer otherwise


def test_the_recordings_list_answers_on_both_back_ends(client, kiosk_and_staff):
    """It grouped by the call's json context: PostgreSQL cannot compare json (a 500)."""
    from datetime import datetime, timezone

    from sync.server.video.models import RecordingChunk

    kiosk, staff = kiosk_and_staff
    assert staff.get("/staff/recordings").status_code == 200  # none yet
    placed = kiosk("POST", "/video/calls", {"department": "civil_affairs", "context": {"topic": "高龄补贴"}})
    assert placed.status_code == 201
    with client.app.state.engine.begin() as conn:
        conn.execute(RecordingChunk.__table__.insert().values(call_id=placed.json()["call_id"], seq=0,
                                                              data=b"\x1a\x45\xdf\xa3webm",
                                                              received_at=datetime.now(timezone.utc)))
    page = staff.get("/staff/recordings")
    assert page.status_code == 200 and f"/staff/calls/{placed.json()['call_id']}/recording" in page.text
