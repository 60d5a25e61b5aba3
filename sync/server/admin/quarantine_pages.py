"""The quarantine page: events that could not be applied, with the reason; retry or dismiss."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server.admin import quarantine
from sync.server.admin.pages import Admin, engine_of
from sync.server.web import redirect, render

router = APIRouter(prefix="/admin/quarantine", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def listing(request: Request, account: Admin) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        events = quarantine.listing(conn, account.community)
    return render(request, "admin/quarantine.html", section="quarantine", events=events)


@router.post("/{event_id}/retry")
def retry(request: Request, account: Admin, event_id: str) -> Response:
    try:
        with engine_of(request).begin() as conn:
            outcome = quarantine.retry(conn, account.community, event_id, account.username)
    except quarantine.NotInQuarantine as exc:
        return redirect("/admin/quarantine", str(exc))
    if outcome.applied:
        return redirect("/admin/quarantine", f"事件已处理，事项现在的状态：{outcome.state}。 / Applied; the case is now "
                                             f"{outcome.state}.")
    return redirect("/admin/quarantine", f"仍然无法处理：{outcome.reason} / Still refused: {outcome.reason}")


@router.post("/{event_id}/dismiss")
def dismiss(request: Request, account: Admin, event_id: str) -> Response:
    try:
        with engine_of(request).begin() as conn:
            quarantine.dismiss(conn, account.community, event_id, account.username)
    except quarantine.NotInQuarantine as exc:
        return redirect("/admin/quarantine", str(exc))
    return redirect("/admin/quarantine", "已忽略该事件。 / Event dismissed.")
