"""The wire schema shared by the appliance's sync agent and the central server.

JSON over HTTP under ``/api/v1``; pydantic models on both ends, so a field renamed
on one side fails the other's tests. Every request but enrolment is signed with the
device's Ed25519 key (:mod:`appliance.keys`)::

    X-Device:     the device id
    X-Timestamp:  Unix time in milliseconds (the server refuses more than
                  MAX_SKEW_S seconds off its clock, and then says its own time
                  in X-Server-Time)
    X-Nonce:      random, never reused (the server remembers nonces for twice
                  MAX_SKEW_S and refuses a replay)
    X-Signature:  base64 Ed25519 signature of canonical_request(...)

The signed text binds the method, the path with its query, the timestamp, the nonce
and the SHA-256 of the exact body bytes, so none can be changed or replayed.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

API = "/api/v1"
MAX_SKEW_S = 300
MAX_BATCH = 1000  # events in one push
HEADER_DEVICE, HEADER_TIMESTAMP = "X-Device", "X-Timestamp"
HEADER_NONCE, HEADER_SIGNATURE = "X-Nonce", "X-Signature"
HEADER_SERVER_TIME = "X-Server-Time"  # on a 401 for the timestamp: the server's clock, Unix ms

DeviceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
BIGINT_MAX = 2 ** 63 - 1  # PostgreSQL's bigint: a larger number must be refused, not overflow
# A count on the wire is a JSON integer: never true/false or 3.0 taken for one
Count = Annotated[int, Field(strict=True, ge=0, le=BIGINT_MAX)]


def canonical_request(method: str, path: str, timestamp_ms: int, nonce: str, body: bytes) -> bytes:
    """The bytes a device signs: method, path (with query), timestamp, nonce, body digest."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp_ms}\n{nonce}\n{digest}".encode("ascii")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _refuse_unstorable_text(value: Any, where: str = "body") -> None:
    """Every string in ``value`` (keys too, nested) must be storable text: no NUL
    character (PostgreSQL's text cannot hold one) and no unpaired surrogate (not
    encodable as UTF-8; JSON allows it as an escape). Raises ValueError naming where."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where}: text must not contain the NUL character (\\u0000)")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{where}: text must be valid Unicode (an unpaired surrogate escape "
                                 "was sent)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable_text(key, f"{where} (a key)")
            _refuse_unstorable_text(item, f"{where}.{key}" if isinstance(key, str) and key.isprintable() else where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_unstorable_text(item, f"{where}.{index}")


class Request(Model):
    """A request body: its text, however deeply nested, is checked once, here."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        # The common case at C speed: one dump shows there is nothing to find (JSON
        # escapes NUL as \u0000; an unpaired surrogate fails to encode). Only a
        # suspect body is walked, to name where the bad text is.
        try:
            text = json.dumps(data, ensure_ascii=False)
            text.encode("utf-8")
            suspect = "\\u0000" in text
        except (TypeError, ValueError):  # not plain JSON data, or a surrogate
            suspect = True
        if suspect:
            _refuse_unstorable_text(data)
        return data


# -- enrolment -------------------------------------------------------------------
class EnrolRequest(Request):
    code: Annotated[str, Field(min_length=8, max_length=64)]
    device_id: DeviceId
    public_key: Annotated[str, Field(description="base64 of the 32-byte raw Ed25519 public key")]


class EnrolResponse(Model):
    device_id: str
    community: str
    fingerprint: str


# -- events ----------------------------------------------------------------------
class Event(Model):
    """One outbox event (sync.store.outbox), as pushed."""

    id: UUID
    seq: Annotated[int, Field(strict=True, ge=1, le=BIGINT_MAX, description="the device's append order")]
    aggregate_type: Annotated[str, Field(min_length=1, max_length=40)]
    aggregate_id: Annotated[str, Field(min_length=1, max_length=120)]
    event_type: Annotated[str, Field(min_length=1, max_length=60)]
    payload: dict[str, Any]
    created_at: Annotated[str, Field(max_length=40)]

    def digest(self) -> str:
        """SHA-256 of the event's content: the same UUID with another digest is a conflict."""
        body = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                         separators=(",", ":")).encode("utf-8")).hexdigest()


class PushRequest(Request):
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_BATCH)]


class EventResult(Model):
    id: UUID
    status: Literal["applied", "quarantined"]
    reason: str | None = None  # why it was quarantined
    case_state: str | None = None  # for case events: the case's state after this event


class PushResponse(Model):
    results: list[EventResult]


class Conflict(Model):
    """The body of a 409: nothing of the batch was applied."""

    error: Literal["conflict"] = "conflict"
    detail: str
    event_ids: list[UUID]


# -- changes ---------------------------------------------------------------------
ChangeKind = Literal["household", "subsidy", "guide_item", "certificate_template",
                     "worker_key", "device_key", "revocation", "config", "announcement", "case"]
CHANGE_KINDS: frozenset[str] = frozenset(ChangeKind.__args__)  # what this release understands
# A ``case`` change (key: the case id) is a case's state at the server, published to the
# appliances of the case's community whenever it moves (an appliance's event, a console
# action, the phone pages). Its data, nothing personal (no name, ID, phone or note):
#   {"case", "state", "event" (the last event's type), "event_at" (its time, UTC ISO 8601),
#    "kind" (dropoff, report, …), "item_id", "item" (the service item's name), "next_step"}
# ``next_step`` names what happens next for the resident (the kiosk's progress.next_<it>).


class Change(Model):
    """One row of the feed. ``kind`` is a plain string on the wire so that a kind added by
    a newer server reaches an older agent as a change it skips (with a log line), never as
    a page it cannot read: :func:`known` says whether this release understands it."""

    seq: int
    kind: Annotated[str, Field(min_length=1, max_length=40)]
    key: str
    data: dict[str, Any] | None  # None: the record was deleted
    changed_at: datetime


def known(change: Change) -> bool:
    return change.kind in CHANGE_KINDS


class PullResponse(Model):
    cursor: int  # pass it back as ?cursor= to get what changed after
    changes: list[Change]
    more: bool  # another page is waiting


# -- heartbeat -------------------------------------------------------------------
class PeripheralHealth(Model):
    """One device's health, in the words of ``python -m drivers doctor`` (drivers.health)."""

    state: Literal["ok", "degraded", "down", "absent"]
    detail: str = ""  # what was seen, one line
    fix: str = ""  # what to do next
    data: dict[str, Any] = {}  # machine-readable extras: paper, door states …

    @classmethod
    def from_health(cls, health: Any) -> PeripheralHealth:
        """From a drivers.health.Health (duck-typed: sync does not import drivers)."""
        return cls(state=health.state, detail=health.detail, fix=getattr(health, "fix", ""),
                   data=dict(getattr(health, "data", {}) or {}))


# Which program of the appliance beats: a kiosk+locker box runs two sync agents under
# one device key, the kiosk app's and the locker daemon's, each with its own peripherals;
# ``python -m sync.agent`` is "agent". The server keeps each source's latest beat and
# merges them (sync.server.heartbeats); a beat without one (an older appliance) is
# the source "appliance".
HeartbeatSource = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")]


class Heartbeat(Request):
    software_version: str
    source: HeartbeatSource | None = None  # kiosk, locker, agent …
    free_disk_bytes: Count
    outbox_pending: Count = 0
    peripherals: dict[str, PeripheralHealth] = {}  # by doctor's device name: printer, lockboard bus0 …


class HeartbeatResponse(Model):
    server_time: datetime


class Problem(Model):
    """Any other error answer."""

    detail: str


# -- attachments (sync.server.attachments) ------------------------------------------
# A file for a case (a scanned document …) goes up in chunks: create the upload, PUT
# raw bytes at offsets (application/octet-stream, signed like any call), ask how much
# the server has (GET), finish (the server checks the SHA-256). Every step may be
# repeated after a dropped connection or a server restart.
MAX_ATTACHMENT_BYTES = 32 * 1024 * 1024
MAX_CHUNK_BYTES = 1024 * 1024
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex SHA-256")]
MimeType = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.+-]{0,40}/[a-z0-9][a-z0-9.+-]{0,80}$",
                                description="e.g. image/jpeg, application/pdf")]


class AttachmentCreate(Request):
    id: Annotated[UUID, Field(description="chosen by the appliance: creating again is idempotent")]
    case_id: Annotated[str, Field(min_length=1, max_length=120)]
    content_type: MimeType
    size: Annotated[int, Field(strict=True, ge=1, le=MAX_ATTACHMENT_BYTES)]
    sha256: Sha256Hex
    name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class AttachmentStatus(Model):
    id: UUID
    case_id: str
    content_type: str
    name: str
    size: int
    sha256: str
    received: int  # bytes the server holds, from offset 0: send the next chunk from here
    complete: bool  # finished and its SHA-256 checked


class UploadConflict(Model):
    """The body of a 409 on an upload: where the server stands."""

    error: Literal["upload_conflict"] = "upload_conflict"
    detail: str
    received: int
