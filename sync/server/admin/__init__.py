"""The community admin console (/admin, role admin, scoped to the admin's community)."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sync.server.admin import models  # noqa: F401  (announcements: a table and a change kind)


def install(app: FastAPI) -> None:
    """Add the console's pages and templates to the app."""
    from sync.server import web
    from sync.server.admin.pages import section_routers

    web.add_templates(Path(__file__).resolve().parent / "templates")
    for router in section_routers():
        app.include_router(router)
