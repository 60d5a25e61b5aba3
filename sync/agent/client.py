"""The agent's HTTP client: signed requests to the server through ``requests``.

The transport is injectable: pass a ``requests`` adapter (``HTTPAdapter`` subclass)
and it is mounted for every URL, so tests make the network offline, slow, failing
with 5xx or conflicting, deterministically, without patching anything::

    client = ServerClient("http://127.0.0.1:8000", key, adapter=FlakyAdapter(seed=1))

Errors are translated here (:mod:`sync.errors`): no answer, a timeout or a 5xx is
:class:`ServerUnreachable` (try again later); a 409 on push is
:class:`EventConflict`; any other 4xx is :class:`ServerRefused`.

An appliance's clock can be far off (no RTC battery, NTP not reached yet after an
outage). When the server refuses a signature's timestamp, the client takes the
server's clock from the answer (``X-Server-Time``), keeps the offset, and signs the
request again once; it does not touch the system clock.
"""
from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter

from appliance.keys import DeviceKey, encode_public_key
from sync.errors import EventConflict, ServerRefused, ServerUnreachable, UploadConflict
from sync.wire import (API, HEADER_DEVICE, HEADER_NONCE, HEADER_SERVER_TIME, HEADER_SIGNATURE,
                       HEADER_TIMESTAMP, AttachmentCreate, AttachmentStatus, Conflict, EnrolRequest,
                       EnrolResponse, Event, Heartbeat, HeartbeatResponse, PullResponse, PushRequest,
                       PushResponse, canonical_request)

M = TypeVar("M", bound=BaseModel)


class ServerClient:
    def __init__(self, base_url: str, key: DeviceKey, *, adapter: HTTPAdapter | None = None,
                 timeout: float = 30.0, connect_timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.clock = clock
        self.clock_offset_s = 0.0  # the server's clock minus ours, once a timestamp was refused
        self.timeout = (connect_timeout, timeout)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment between appliance and server
        if adapter is not None:
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    # -- the calls ---------------------------------------------------------------
    def enrol(self, code: str) -> EnrolResponse:
        body = EnrolRequest(code=code, device_id=self.key.device_id,
                            public_key=encode_public_key(self.key.public_key))
        return self._call("POST", "/enrol", body, EnrolResponse, signed=False)

    def push(self, events: list[Event]) -> PushResponse:
        return self._call("POST", "/events", PushRequest(events=events), PushResponse)

    def pull(self, cursor: int, limit: int = 500) -> PullResponse:
        return self._call("GET", f"/changes?cursor={int(cursor)}&limit={int(limit)}", None, PullResponse)

    def heartbeat(self, beat: Heartbeat) -> HeartbeatResponse:
        return self._call("POST", "/heartbeat", beat, HeartbeatResponse)

    # attachments: every step idempotent; a 409 is UploadConflict with what the server holds
    def create_upload(self, header: AttachmentCreate) -> AttachmentStatus:
        return self._call("POST", "/attachments", header, AttachmentStatus)

    def upload_status(self, upload_id: str) -> AttachmentStatus:
        return self._call("GET", f"/attachments/{upload_id}", None, AttachmentStatus)

    def put_chunk(self, upload_id: str, offset: int, data: bytes) -> AttachmentStatus:
        return self._call("PUT", f"/attachments/{upload_id}/chunks/{int(offset)}", data, AttachmentStatus)

    def finish_upload(self, upload_id: str) -> AttachmentStatus:
        return self._call("POST", f"/attachments/{upload_id}/finish", None, AttachmentStatus)

    # -- plumbing ----------------------------------------------------------------
    def _call(self, method: str, path: str, body: BaseModel | bytes | None, answer: type[M], *,
              signed: bool = True) -> M:
        """``body``: a model sent as JSON, or raw bytes sent as application/octet-stream."""
        if isinstance(body, bytes):
            data, content_type = body, "application/octet-stream"
        else:
            data = body.model_dump_json().encode("utf-8") if body is not None else b""
            content_type = "application/json"
        for attempt in (1, 2):
            request = requests.Request(method, f"{self.base_url}{API}{path}", data=data or None,
                                       headers={"Content-Type": content_type} if data else {})
            prepared = self.session.prepare_request(request)
            if signed:
                self._sign(prepared, data)
            try:
                response = self.session.send(prepared, timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                raise ServerUnreachable(f"{method} {self.base_url}{API}{path}: {type(exc).__name__}: {exc}",
                                        hint="the agent tries again with backoff; events stay queued") from exc
            with response:
                if attempt == 1 and signed and self._clock_refused(response):
                    continue
                return self._answer(method, path, response, answer)
        raise AssertionError("unreachable")

    def _clock_refused(self, response: requests.Response) -> bool:
        """A 401 about the timestamp: learn the server's clock from its Date header."""
        if response.status_code != 401 or "clock" not in response.text:
            return False
        try:
            if HEADER_SERVER_TIME in response.headers:
                server_now = int(response.headers[HEADER_SERVER_TIME]) / 1000
            else:  # a proxy's own 401 page may still carry a Date
                server_now = parsedate_to_datetime(response.headers["Date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return False
        self.clock_offset_s = server_now - self.clock()
        return True

    def _sign(self, prepared: requests.PreparedRequest, data: bytes) -> None:
        stamp = int((self.clock() + self.clock_offset_s) * 1000)
        nonce = secrets.token_urlsafe(18)
        signature = self.key.sign(canonical_request(prepared.method or "GET", prepared.path_url, stamp, nonce, data))
        prepared.headers.update({HEADER_DEVICE: self.key.device_id, HEADER_TIMESTAMP: str(stamp),
                                 HEADER_NONCE: nonce, HEADER_SIGNATURE: base64.b64encode(signature).decode()})

    def _answer(self, method: str, path: str, response: requests.Response, answer: type[M]) -> M:
        where = f"{method} {API}{path}"
        status = response.status_code
        if status >= 500:
            raise ServerUnreachable(f"{where}: server error HTTP {status}",
                                    hint="the agent tries again with backoff; events stay queued")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status == 409 and isinstance(payload, dict) and payload.get("error") == "conflict":
            conflict = Conflict.model_validate(payload)
            raise EventConflict([str(i) for i in conflict.event_ids], conflict.detail)
        if status == 409 and isinstance(payload, dict) and payload.get("error") == "upload_conflict":
            raise UploadConflict(int(payload.get("received") or 0), payload.get("detail"))
        if status >= 400:
            detail = payload.get("detail") if isinstance(payload, dict) else response.text[:200]
            raise ServerRefused(status, detail)
        try:
            return answer.model_validate(payload)
        except ValidationError as exc:
            raise ServerUnreachable(f"{where}: the answer is not a {answer.__name__} "
                                    f"({exc.error_count()} error(s))",
                                    hint="a server of another version, or a proxy's page") from None
