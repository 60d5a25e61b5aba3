"""The FastAPI application: the sync API under /api/v1, OpenAPI at /openapi.json
(and /docs). Endpoints are plain ``def``: they run in the thread pool, each request
on its own pooled connection, and keep nothing between requests."""
from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, select

from sync.server import accounts, admin, attachments, db, keys, migrations, notify, phone, video, web, worker
from sync.server.auth import Signature, authenticate, body_of, path_of, signature_of, verify
from sync.server.content import now, pull
from sync.server.devices import EnrolmentRefused, enrol, heartbeat
from sync.server.ingest import Conflicts, Device, apply_batch
from sync.server.models import Device as DeviceRow
from sync.wire import (API, BIGINT_MAX, Conflict, EnrolRequest, EnrolResponse, Heartbeat, HeartbeatResponse, Problem,
                       PullResponse, PushRequest, PushResponse)

VERSION = "1"


def _device(request: Request, body: Annotated[bytes, Depends(body_of)],
            x_device: Annotated[str | None, Header(description="enrolled device id")] = None,
            x_timestamp: Annotated[str | None, Header(description="Unix time, milliseconds")] = None,
            x_nonce: Annotated[str | None, Header(description="never reused")] = None,
            x_signature: Annotated[str | None, Header(description="base64 Ed25519 over "
                                                                   "sync.wire.canonical_request")] = None,
            ) -> Device:
    return authenticate(request.app.state.engine, request.method, path_of(request), request.headers, body)


SignedDevice = Annotated[Device, Depends(_device)]


def _signature(request: Request, body: Annotated[bytes, Depends(body_of)],
               x_device: Annotated[str | None, Header(description="enrolled device id")] = None,
               x_timestamp: Annotated[str | None, Header(description="Unix time, milliseconds")] = None,
               x_nonce: Annotated[str | None, Header(description="never reused")] = None,
               x_signature: Annotated[str | None, Header(description="base64 Ed25519 over "
                                                                      "sync.wire.canonical_request")] = None,
               ) -> Signature:
    return signature_of(request.method, path_of(request), request.headers, body)


# Checked for form and clock before the endpoint runs; the endpoint verifies the key,
# the revocation and the nonce in its own transaction (auth.verify): one transaction
# a request on the hot paths (pull, heartbeat), not two.
Signed = Annotated[Signature, Depends(_signature)]
NOT_JSON = {400: {"model": Problem, "description": "the body is not JSON (or not UTF-8)"}}
REFUSED = {**NOT_JSON,
           401: {"model": Problem, "description": "not signed, bad signature, stale or replayed"},
           403: {"model": Problem, "description": "device revoked"},
           422: {"model": Problem, "description": "malformed request: which field, and what is wrong"}}


DEVICE_API = tuple(f"{API}/{name}" for name in ("enrol", "events", "changes", "heartbeat", "keys", "attachments",
                                                 "video"))


async def malformed(request: Request, exc: Exception):
    """A request the device API cannot parse is answered as a Problem whose ``detail``
    names each field and what is wrong with it (never the value sent: it may be
    personal). Other paths (the consoles, their own APIs) keep FastAPI's answer, unless
    it cannot be written: it echoes the input, and an unpaired surrogate escape in it
    is not UTF-8 (a 500, found by schemathesis on /staff)."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(DEVICE_API):
        try:
            return await request_validation_exception_handler(request, exc)
        except UnicodeEncodeError:
            pass
    problems = [f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
                for error in exc.errors()]
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return JSONResponse(status_code=422, content={"detail": "malformed request: " + "; ".join(problems[:5]) + more})


def create_app(database_url: str = db.DEFAULT_URL, *, migrate: bool = True,
               engine: Engine | None = None, server_key_id: str = keys.DEFAULT_KEY_ID) -> FastAPI:
    """The app on its own engine (disposed when the app shuts down). The server's
    signing key ``server_key_id`` is created and published if the database has none
    (:mod:`sync.server.keys`)."""
    own_engine = engine is None
    engine = engine or db.create(database_url)
    try:
        if migrate:
            migrations.upgrade(engine)
        with engine.begin() as conn:
            keys.ensure(conn, server_key_id)
    except BaseException:
        if own_engine:
            engine.dispose()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="Community kiosk sync server", version=VERSION, lifespan=lifespan,
                  description="Appliances enrol, push events, pull changes and send heartbeats. "
                              "Every call but enrolment and health is signed with the device's "
                              "Ed25519 key (see sync/wire.py).")
    app.state.engine = engine
    app.state.server_key_id = server_key_id
    app.add_exception_handler(RequestValidationError, malformed)

    @app.get(f"{API}/health")
    def health(response: Response) -> dict[str, str]:
        """For a proxy's or a monitor's health check: 200 once the database answers; the
        ``X-Served-By`` header names the machine and the worker process that answered."""
        with engine.connect() as conn:
            conn.execute(select(1))
        response.headers["X-Served-By"] = f"{socket.gethostname()}:{os.getpid()}"
        return {"status": "ok", "database": engine.dialect.name}

    @app.post(f"{API}/enrol", status_code=201, response_model=EnrolResponse,
              responses={**NOT_JSON, 403: {"model": Problem}, 422: {"model": Problem}})
    def enrol_device(request: EnrolRequest) -> EnrolResponse:
        try:
            with engine.begin() as conn:
                return enrol(conn, request)
        except EnrolmentRefused as exc:
            raise HTTPException(exc.status, exc.detail) from None

    @app.post(f"{API}/events", response_model=PushResponse,
              responses={409: {"model": Conflict, "description": "a known event UUID with other content; "
                                                                 "nothing of the batch was applied"},
                         **REFUSED})
    def push(batch: PushRequest, device: SignedDevice):
        try:
            return PushResponse(results=apply_batch(engine, device, batch.events))
        except Conflicts as exc:
            return JSONResponse(status_code=409, content=Conflict(
                detail=str(exc), event_ids=exc.event_ids).model_dump(mode="json"))

    @app.get(f"{API}/changes", response_model=PullResponse, responses=REFUSED)
    def changes(signed: Signed, cursor: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> PullResponse:
        with engine.begin() as conn:
            return pull(conn, verify(conn, signed).community, cursor, limit)

    @app.post(f"{API}/heartbeat", response_model=HeartbeatResponse, responses=REFUSED)
    def beat(body: Heartbeat, signed: Signed) -> HeartbeatResponse:
        with engine.begin() as conn:
            heartbeat(conn, verify(conn, signed).device_id, body)
        return HeartbeatResponse(server_time=now())

    @app.get(f"{API}/keys")
    def public_keys() -> dict[str, dict[str, object]]:
        """Every device's public key and the server's own (worker and booking codes), in
        the trusted-keys format of appliance.keys (public)."""
        rows = DeviceRow.__table__
        with engine.connect() as conn:
            found = {r.device_id: {"public_key": r.public_key, "revoked": r.revoked_at is not None}
                     for r in conn.execute(select(rows.c.device_id, rows.c.public_key, rows.c.revoked_at)
                                           .order_by(rows.c.device_id))}
            return {**found, **keys.public_keys(conn)}

    # Each feature of the server adds its own routes (and mounts) in its package.
    for feature in (web, accounts, admin, worker, notify, attachments, video, phone):
        feature.install(app)
    return app
