"""The attachment API under /api/v1/attachments, signed by the device like every call.

    POST /attachments                          create (idempotent by the appliance's UUID)
    GET  /attachments/{id}                     how much the server holds
    PUT  /attachments/{id}/chunks/{offset}     raw bytes at offset (application/octet-stream)
    POST /attachments/{id}/finish              every byte there, SHA-256 checked

A chunk's body is read with a cap (``MAX_CHUNK_BYTES``): a larger one is refused
with 413 before it is read whole. The signature covers the chunk's exact bytes, so a
chunk changed on the way is refused (401) and nothing of it is stored.
"""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse

from sync.server.attachments import uploads
from sync.server.attachments.uploads import UploadRefused
from sync.server.auth import Signature, path_of, signature_of, verify
from sync.wire import (API, MAX_ATTACHMENT_BYTES, MAX_CHUNK_BYTES, AttachmentCreate, AttachmentStatus, Problem,
                       UploadConflict)

JSON_BODY_LIMIT = 16 * 1024  # an upload's header is a few hundred bytes


async def _capped_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPException(400, f"Content-Length {length[:20]!r} is not a number of bytes")
        if int(length) > limit:
            raise HTTPException(413, f"body of {length} bytes: at most {limit} in one request "
                                     f"(send the file in chunks of at most {MAX_CHUNK_BYTES} bytes)")
    if getattr(request, "_body", None) is not None:  # already read (a JSON body parameter)
        body = request._body
    else:
        parts, size = [], 0
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise HTTPException(413, f"body over {limit} bytes: send chunks of at most "
                                         f"{MAX_CHUNK_BYTES} bytes")
            parts.append(part)
        body = b"".join(parts)
    if len(body) > limit:
        raise HTTPException(413, f"body over {limit} bytes")
    return body


def _signed(limit: int):
    async def device(request: Request,
                     x_device: Annotated[str | None, Header(description="enrolled device id")] = None,
                     x_timestamp: Annotated[str | None, Header(description="Unix time, milliseconds")] = None,
                     x_nonce: Annotated[str | None, Header(description="never reused")] = None,
                     x_signature: Annotated[str | None, Header(description="base64 Ed25519 over "
                                                                            "sync.wire.canonical_request")] = None,
                     ) -> Signature:
        body = await _capped_body(request, limit)
        return signature_of(request.method, path_of(request), request.headers, body)
    return device


# Checked for form and clock first; the device's key, revocation and nonce are checked
# in the endpoint's own transaction (auth.verify), durable where it writes the upload.
SignedJson = Annotated[Signature, Depends(_signed(JSON_BODY_LIMIT))]
SignedChunk = Annotated[Signature, Depends(_signed(MAX_CHUNK_BYTES))]
UploadId = Annotated[UUID, Path(description="the upload's UUID, as created")]
REFUSED = {400: {"model": Problem, "description": "the body is not JSON, or a bad Content-Length"},
           401: {"model": Problem, "description": "not signed, bad signature, stale or replayed"},
           403: {"model": Problem, "description": "device revoked, or the case is another community's"},
           404: {"model": Problem, "description": "no such upload from this device"},
           422: {"model": Problem, "description": "malformed request: which field, and what is wrong"}}
CONFLICT = {409: {"model": UploadConflict, "description": "not where the server stands: `received` says "
                                                          "from which offset to send"}}

router = APIRouter(prefix=f"{API}/attachments", tags=["attachments"])


def _engine(request: Request):
    return request.app.state.engine


@router.post("", status_code=201, response_model=AttachmentStatus,
             responses={200: {"model": AttachmentStatus, "description": "created before with this header"},
                        **REFUSED, **CONFLICT,
                        413: {"model": Problem, "description": "body too large"}})
def create_upload(body: AttachmentCreate, signed: SignedJson, request: Request):
    with _engine(request).begin() as conn:
        created = uploads.create(conn, verify(conn, signed, durable=True), body)
    if created.new:
        return created.status
    return JSONResponse(status_code=200, content=created.status.model_dump(mode="json"))


@router.get("/{upload_id}", response_model=AttachmentStatus, responses=REFUSED)
def upload_status(upload_id: UploadId, signed: SignedJson, request: Request) -> AttachmentStatus:
    with _engine(request).begin() as conn:
        return uploads.status(conn, verify(conn, signed), str(upload_id))


CHUNK_BODY = {"requestBody": {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary", "minLength": 1, "maxLength": MAX_CHUNK_BYTES}}}}}


@router.put("/{upload_id}/chunks/{offset}", response_model=AttachmentStatus, openapi_extra=CHUNK_BODY,
            responses={**REFUSED, **CONFLICT,
                       413: {"model": Problem, "description": f"a chunk over {MAX_CHUNK_BYTES} bytes"},
                       422: {"model": Problem, "description": "empty, or past the declared size"}})
def put_chunk(upload_id: UploadId, offset: Annotated[int, Path(ge=0, le=MAX_ATTACHMENT_BYTES)],
              signed: SignedChunk, request: Request) -> AttachmentStatus:
    with _engine(request).begin() as conn:
        return uploads.put_chunk(conn, verify(conn, signed, durable=True), str(upload_id), offset, signed.body)


@router.post("/{upload_id}/finish", response_model=AttachmentStatus,
             responses={**REFUSED, **CONFLICT,
                        422: {"model": Problem, "description": "the SHA-256 did not match: the upload was "
                                                               "reset to 0 bytes; send it again"}})
def finish_upload(upload_id: UploadId, signed: SignedJson, request: Request) -> AttachmentStatus:
    with _engine(request).begin() as conn:
        done = uploads.finish(conn, verify(conn, signed, durable=True), str(upload_id))
    if not done.complete:
        raise UploadRefused(422, f"the {done.size} bytes received do not hash to the declared SHA-256 "
                                 f"{done.sha256[:12]}…: the upload was reset to 0 bytes; send the file "
                                 "again from offset 0", 0)
    return done


def refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UploadRefused)
    if exc.status == 409:
        body = UploadConflict(detail=exc.detail, received=exc.received or 0).model_dump(mode="json")
    else:
        body = {"detail": exc.detail}
    return JSONResponse(status_code=exc.status, content=body)
