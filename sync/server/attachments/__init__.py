"""Attachments uploaded by appliances in resumable chunks (a scanned document for a case).

- :mod:`sync.server.attachments.routes`   the API under /api/v1/attachments
- :mod:`sync.server.attachments.uploads`  create, chunk at an offset, status, finish, read
- :mod:`sync.server.attachments.models`   the tables (migration 0003a)

The files are stored in the database (``attachment_chunks``), linked to their case by
``attachments.case_id``: every server process sees them, and a database backup holds
them. Limits: ``sync.wire.MAX_ATTACHMENT_BYTES`` a file, ``MAX_CHUNK_BYTES`` a request.
"""
from fastapi import FastAPI

from sync.server.attachments import models  # noqa: F401 - the tables join Base.metadata


def install(app: FastAPI) -> None:
    """Add the attachment routes and the answer for a refused upload step."""
    from sync.server.attachments.routes import refused, router
    from sync.server.attachments.uploads import UploadRefused

    app.include_router(router)
    app.add_exception_handler(UploadRefused, refused)
