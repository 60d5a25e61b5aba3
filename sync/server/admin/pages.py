"""The admin console's pages."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from sync.server.accounts import Account, signed_in
from sync.server.web import render

router = APIRouter(prefix="/admin", include_in_schema=False)
Admin = Annotated[Account, Depends(signed_in("admin"))]


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, account: Admin) -> HTMLResponse:
    return render(request, "admin/dashboard.html", section="home")
