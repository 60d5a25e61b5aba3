"""schemathesis against the OpenAPI document of /api/v1, on PostgreSQL (production's
back-end): no server error, and every answer matches the document.

Signed endpoints are reached past authentication: the session schemathesis sends
through signs each request as an enrolled device, over the exact bytes that go on
the wire (method, raw path with query, timestamp, fresh nonce, body digest), as the
appliance does. Examples are limited per operation to keep the run in seconds.
"""
from __future__ import annotations

import base64
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

from sync.server import create_app, db
from sync.server.content import put
from sync.wire import (API, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
                       canonical_request)
from tests.sync.server.support import Signed, event, new_code, new_key, postgresql_database

UNSIGNED = (f"{API}/enrol", f"{API}/health", f"{API}/keys")
DEVICE_API = rf"^{API}/(enrol|events|changes|heartbeat|keys|attachments)(/|$)"
EXAMPLES = 15  # per operation in the fuzzing phase; the coverage phase adds every boundary case


class SigningClient(ASGIClient):
    """The ASGI session schemathesis sends through; signs each /api/v1 request as
    ``key``'s device (the hook that takes the fuzzing past authentication)."""

    def __init__(self, app, key) -> None:
        super().__init__(app)
        self.key = key

    def send(self, request, **kwargs):
        path = request.path_url
        if path.startswith(API) and not path.startswith(UNSIGNED):
            body = request.body or b""
            body = body.encode("utf-8") if isinstance(body, str) else body
            stamp, nonce = int(time.time() * 1000), secrets.token_urlsafe(12)
            signature = self.key.sign(canonical_request(request.method, path, stamp, nonce, body))
            request.headers.update({HEADER_DEVICE: self.key.device_id, HEADER_TIMESTAMP: str(stamp),
                                    HEADER_NONCE: nonce, HEADER_SIGNATURE: base64.b64encode(signature).decode()})
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
            session = SigningClient(app, key)
            yield app, session
            session.close()
        app.state.engine.dispose()


@pytest.fixture
def api_schema(fuzzed):
    app, _ = fuzzed
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# the device API; the consoles' own routes are their features' to fuzz
schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=DEVICE_API)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_answers_match_the_document(case, fuzzed):
    _, session = fuzzed
    case.call_and_validate(session=session, checks=[not_a_server_error, response_schema_conformance,
                                                    status_code_conformance, content_type_conformance,
                                                    negative_data_rejection])


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
