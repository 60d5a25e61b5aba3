"""Announcements, the service guide, subsidy records and certificate templates of the
admin's community (sync.server.admin.catalogue)."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from sync.server.admin import catalogue
from sync.server.admin.catalogue import Invalid
from sync.server.admin.pages import Admin, engine_of
from sync.server.admin.sheets import write_csv
from sync.server.web import redirect, render

router = APIRouter(prefix="/admin", include_in_schema=False)


def _fields(form) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if k != "csrf"}


def _missing(request: Request, back: str) -> HTMLResponse:
    return render(request, "error.html", status=404, title=("找不到", "Not found"),
                  message=("本社区没有这一项（或它由街道统一发布，不能在这里修改）。",
                           "This community has no such record (or the street office publishes it: not editable here)."),
                  back=back)


# -- announcements ------------------------------------------------------------------
@router.get("/announcements", response_class=HTMLResponse)
def announcements(request: Request, account: Admin) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        found = catalogue.records(conn, "announcement", account.community)
    found.sort(key=lambda a: (a.get("order", 0), a.get("starts") or "", a["_key"]))
    return render(request, "admin/announcements.html", section="announcements", items=found,
                  state=catalogue.announcement_state)


@router.get("/announcements/new", response_class=HTMLResponse)
def announcement_new(request: Request, account: Admin) -> HTMLResponse:
    return render(request, "admin/announcement_form.html", section="announcements", item={}, ident=None, problems=[])


@router.get("/announcements/{ident}", response_class=HTMLResponse)
def announcement_edit(request: Request, account: Admin, ident: str) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        item = catalogue.record(conn, "announcement", account.community, ident)
    if item is None:
        return _missing(request, "/admin/announcements")
    return render(request, "admin/announcement_form.html", section="announcements", item=item, ident=ident,
                  problems=[])


async def _announcement_post(request: Request, account, ident: str | None) -> Response:
    form = _fields(await request.form())

    def work() -> Response:
        with engine_of(request).begin() as conn:
            if ident and catalogue.record(conn, "announcement", account.community, ident) is None:
                return _missing(request, "/admin/announcements")
            if form.get("action") == "delete" and ident:
                catalogue.remove(conn, "announcement", account.community, ident)
                return redirect("/admin/announcements", "公告已删除，终端下次同步后不再显示。 / Deleted; kiosks stop "
                                                        "showing it at their next sync.")
            try:
                catalogue.save_announcement(conn, account.community, form, ident)
            except Invalid as exc:
                return render(request, "admin/announcement_form.html", status=422, section="announcements",
                              item=form, ident=ident, problems=exc.problems)
        return redirect("/admin/announcements", "公告已发布，终端下次同步即可显示。 / Published; kiosks show it at "
                                                "their next sync.")
    return await run_in_threadpool(work)


@router.post("/announcements/new")
async def announcement_create(request: Request, account: Admin) -> Response:
    return await _announcement_post(request, account, None)


@router.post("/announcements/{ident}")
async def announcement_update(request: Request, account: Admin, ident: str) -> Response:
    return await _announcement_post(request, account, ident)


# -- the service guide ------------------------------------------------------------------
@router.get("/guide", response_class=HTMLResponse)
def guide(request: Request, account: Admin, q: str = "") -> HTMLResponse:
    with engine_of(request).connect() as conn:
        found = catalogue.records(conn, "guide_item", account.community, q)
    return render(request, "admin/guide.html", section="guide", items=found, q=q)


def _guide_form(request: Request, item: dict, ident: str | None, problems: list, status: int = 200) -> HTMLResponse:
    materials = item.get("materials")
    return render(request, "admin/guide_form.html", status=status, section="guide", item=item, ident=ident,
                  problems=problems, sizes=catalogue.SIZES,
                  materials=materials if isinstance(materials, str) else catalogue.materials_text(materials or []),
                  keywords=item.get("keywords") if isinstance(item.get("keywords"), str)
                  else "，".join(item.get("keywords") or []))


@router.get("/guide/new", response_class=HTMLResponse)
def guide_new(request: Request, account: Admin) -> HTMLResponse:
    return _guide_form(request, {"size": "M"}, None, [])


@router.get("/guide/{ident}", response_class=HTMLResponse)
def guide_edit(request: Request, account: Admin, ident: str) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        item = catalogue.record(conn, "guide_item", account.community, ident)
    if item is None:
        return _missing(request, "/admin/guide")
    return _guide_form(request, item, ident, [])


async def _guide_post(request: Request, account, ident: str | None) -> Response:
    form = _fields(await request.form())

    def work() -> Response:
        with engine_of(request).begin() as conn:
            if ident and catalogue.record(conn, "guide_item", account.community, ident) is None:
                return _missing(request, "/admin/guide")
            if form.get("action") == "delete" and ident:
                catalogue.remove(conn, "guide_item", account.community, ident)
                return redirect("/admin/guide", f"已删除事项 {ident}。 / Deleted item {ident}.")
            try:
                saved = catalogue.save_guide_item(conn, account.community, {**form, "_new": "" if ident else "1"},
                                                  ident)
            except Invalid as exc:
                return _guide_form(request, form, ident, exc.problems, 422)
        return redirect("/admin/guide", f"已保存事项 {saved}，终端下次同步即可看到。 / Saved {saved}; kiosks get it at "
                                        f"their next sync.")
    return await run_in_threadpool(work)


@router.post("/guide/new")
async def guide_create(request: Request, account: Admin) -> Response:
    return await _guide_post(request, account, None)


@router.post("/guide/{ident}")
async def guide_update(request: Request, account: Admin, ident: str) -> Response:
    return await _guide_post(request, account, ident)


# -- subsidy records ------------------------------------------------------------------
@router.get("/subsidies", response_class=HTMLResponse)
def subsidies(request: Request, account: Admin, q: str = "") -> HTMLResponse:
    from appliance.privacy import mask_id_number

    with engine_of(request).connect() as conn:
        found = catalogue.records(conn, "subsidy", account.community, q, shared=False)
    for item in found:
        item["masked"] = mask_id_number(item.get("id_number", ""))
    return render(request, "admin/subsidies.html", section="subsidies", items=found, q=q,
                  states=catalogue.SUBSIDY_STATES, states_en=catalogue.SUBSIDY_STATES_EN, problems=[], filename="")


def _subsidy_form(request: Request, item: dict, ident: str | None, problems: list, status: int = 200):
    return render(request, "admin/subsidy_form.html", status=status, section="subsidies", item=item, ident=ident,
                  problems=problems, states=catalogue.SUBSIDY_STATES, states_en=catalogue.SUBSIDY_STATES_EN)


@router.get("/subsidies/new", response_class=HTMLResponse)
def subsidy_new(request: Request, account: Admin) -> HTMLResponse:
    return _subsidy_form(request, {"program": "高龄补贴", "status": "active"}, None, [])


@router.get("/subsidies/export.csv")
def subsidy_export(request: Request, account: Admin) -> Response:
    with engine_of(request).connect() as conn:
        rows = catalogue.subsidy_rows(conn, account.community)
    name = quote(f"补贴-{account.community}.csv")
    return Response(write_csv(catalogue.SUBSIDY_SHEET, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=\"subsidies.csv\"; filename*=UTF-8''{name}",
                             "Cache-Control": "no-store"})


@router.post("/subsidies/import", response_class=HTMLResponse)
def subsidy_import(request: Request, account: Admin, file: Annotated[UploadFile, File()]) -> Response:
    data = file.file.read(11 * 1024 * 1024)
    with engine_of(request).begin() as conn:
        count, problems = catalogue.import_subsidies(conn, account.community, data)
    if problems:
        return render(request, "admin/subsidies.html", status=422, section="subsidies", items=[], q="",
                      states=catalogue.SUBSIDY_STATES, states_en=catalogue.SUBSIDY_STATES_EN, problems=problems,
                      filename=file.filename or "")
    return redirect("/admin/subsidies", f"已导入 {count} 条补贴记录。 / Imported {count} subsidy records.")


@router.get("/subsidies/{ident:path}", response_class=HTMLResponse)
def subsidy_edit(request: Request, account: Admin, ident: str) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        item = catalogue.record(conn, "subsidy", account.community, ident)
    if item is None:
        return _missing(request, "/admin/subsidies")
    return _subsidy_form(request, item, ident, [])


async def _subsidy_post(request: Request, account, ident: str | None) -> Response:
    form = _fields(await request.form())

    def work() -> Response:
        with engine_of(request).begin() as conn:
            if ident and catalogue.record(conn, "subsidy", account.community, ident) is None:
                return _missing(request, "/admin/subsidies")
            if form.get("action") == "delete" and ident:
                catalogue.remove(conn, "subsidy", account.community, ident)
                return redirect("/admin/subsidies", "已删除补贴记录。 / Subsidy record deleted.")
            try:
                if ident:  # the ID number and program make the record's key: never changed by the form
                    old = catalogue.record(conn, "subsidy", account.community, ident)
                    form.update(id_number=old["id_number"], program=old["program"])
                catalogue.save_subsidy(conn, account.community, catalogue.subsidy_from_form(form))
            except Invalid as exc:
                return _subsidy_form(request, form, ident, exc.problems, 422)
        return redirect("/admin/subsidies", "补贴记录已保存。 / Subsidy record saved.")
    return await run_in_threadpool(work)


@router.post("/subsidies/new")
async def subsidy_create(request: Request, account: Admin) -> Response:
    return await _subsidy_post(request, account, None)


@router.post("/subsidies/{ident:path}")
async def subsidy_update(request: Request, account: Admin, ident: str) -> Response:
    return await _subsidy_post(request, account, ident)


# -- certificate templates ------------------------------------------------------------
def _templates_page(request: Request, account, problems: list, status: int = 200) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        found = catalogue.records(conn, "certificate_template", account.community)
    published = {item.get("template_id") for item in found}
    shipped = [(ident, catalogue.check_template(ident, path.read_bytes())["name"])
               for ident, path in catalogue.shipped_templates().items() if ident not in published]
    return render(request, "admin/templates.html", status=status, section="templates", items=found, shipped=shipped,
                  problems=problems)


@router.get("/templates", response_class=HTMLResponse)
def templates(request: Request, account: Admin) -> HTMLResponse:
    return _templates_page(request, account, [])


@router.post("/templates/shipped/{ident}", response_class=HTMLResponse)
def template_shipped(request: Request, account: Admin, ident: str) -> Response:
    """Publish a template shipped with the software (assets/forms) as this community's."""
    path = catalogue.shipped_templates().get(ident)
    if path is None:
        return _missing(request, "/admin/templates")
    try:
        with engine_of(request).begin() as conn:
            version = catalogue.save_template(conn, account.community, ident, path.read_bytes(), account.username)
    except Invalid as exc:
        return _templates_page(request, account, exc.problems, 422)
    return redirect(f"/admin/templates/{ident}", f"已发布 {ident} 第 {version} 版，终端下次同步即可使用。 / Published "
                                                 f"{ident} version {version}; kiosks use it after their next sync.")


@router.get("/templates/{ident}", response_class=HTMLResponse)
def template_view(request: Request, account: Admin, ident: str) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        item = catalogue.record(conn, "certificate_template", account.community, ident)
    if item is None:
        return _missing(request, "/admin/templates")
    return render(request, "admin/template.html", section="templates", item=item, problems=[])


@router.post("/templates", response_class=HTMLResponse)
def template_upload(request: Request, account: Admin, file: Annotated[UploadFile, File()],
                    template_id: Annotated[str, Form()] = "") -> Response:
    """A new template, or a new version of ``template_id`` (the file's name then does not matter)."""
    data = file.file.read(512 * 1024)
    ident = template_id or (file.filename or "").rsplit("/", 1)[-1].removesuffix(".toml")
    try:
        with engine_of(request).begin() as conn:
            version = catalogue.save_template(conn, account.community, ident, data, account.username)
    except Invalid as exc:
        with engine_of(request).connect() as conn:
            current = catalogue.record(conn, "certificate_template", account.community, ident) if template_id else None
        if current:
            return render(request, "admin/template.html", status=422, section="templates", item=current,
                          problems=exc.problems)
        return _templates_page(request, account, exc.problems, 422)
    return redirect(f"/admin/templates/{ident}", f"已发布 {ident} 第 {version} 版，终端下次同步即可使用。 / Published "
                                                 f"{ident} version {version}; kiosks use it after their next sync.")
