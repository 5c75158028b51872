"""Staff screens for exports (thin: validate the form, call a service or selector, render)."""

from __future__ import annotations

import json
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import AuditAction
from audit.services import record
from integration.exports import selectors, services
from integration.exports.forms import DownloadForm, LayoutEditForm, LayoutImportForm, ScheduleForm
from integration.exports.layouts import ENCODINGS, FORMATS, LINE_ENDINGS
from integration.exports.models import ExportLayout
from integration.exports.render import ExportRenderError
from integration.exports.wareki import DATE_STYLES


def _add_errors(form: object, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _schedule_initial(schedule: object) -> dict | None:
    if schedule is None:
        return None
    return {"is_active": schedule.is_active, "mode": schedule.mode, "time_of_day": schedule.time_of_day,
            "interval_minutes": schedule.interval_minutes, "layout_code": schedule.layout_code}


def _kind_page(request: HttpRequest, kind_code: str, *, download_form: DownloadForm | None = None,
               schedule_form: ScheduleForm | None = None, render_errors: list[str] | None = None,
               status: int = 200) -> HttpResponse:
    kind = selectors.kind_for_staff(actor=request.user, municipality=request.tenant, kind_code=kind_code)
    layouts = selectors.layouts_for(kind=kind)
    schedule = selectors.schedule_for(kind_code=kind.code)
    is_admin = request.user.is_municipal_admin
    if download_form is None:
        download_form = DownloadForm(layouts=layouts)
    if schedule_form is None and is_admin:
        schedule_form = ScheduleForm(layouts=layouts, initial=_schedule_initial(schedule))
    context = {
        "kind": kind,
        "pending": selectors.records_pending(kind_code=kind.code).count(),
        "download_form": download_form,
        "schedule_form": schedule_form,
        "schedule": schedule,
        "layouts": layouts,
        "formats": FORMATS, "encodings": ENCODINGS, "line_endings": LINE_ENDINGS, "date_styles": DATE_STYLES,
        "batches": selectors.batches_for(actor=request.user, municipality=request.tenant, kind_code=kind.code),
        "render_errors": render_errors or [],
        "is_admin": is_admin,
        "can_view_support_measures": getattr(request.user, "can_view_support_measures", False),
    }
    return render(request, "integration_exports/kind.html", context, status=status)


@login_required
@require_GET
def index_view(request: HttpRequest) -> HttpResponse:
    overview = selectors.export_overview(actor=request.user, municipality=request.tenant)
    batches = selectors.batches_for(actor=request.user, municipality=request.tenant, limit=20)
    return render(request, "integration_exports/index.html", {"overview": overview, "batches": batches})


@login_required
@require_GET
def kind_view(request: HttpRequest, kind: str) -> HttpResponse:
    return _kind_page(request, kind)


@login_required
@require_POST
def download_view(request: HttpRequest, kind: str) -> HttpResponse:
    definition = selectors.kind_for_staff(actor=request.user, municipality=request.tenant, kind_code=kind)
    form = DownloadForm(request.POST, layouts=selectors.layouts_for(kind=definition))
    if not form.is_valid():
        return _kind_page(request, kind, download_form=form, status=400)
    data = form.cleaned_data
    try:
        exported = services.export_download(actor=request.user, municipality=request.tenant, kind_code=kind,
                                            layout_code=data["layout"], selection=data["selection"],
                                            date_from=data["date_from"], date_to=data["date_to"])
    except services.NothingToExport as exc:
        messages.info(request, exc.messages[0])
        return redirect("integration_exports:kind", kind=kind)
    except ExportRenderError as exc:
        return _kind_page(request, kind, download_form=form, render_errors=exc.messages, status=400)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _kind_page(request, kind, download_form=form, status=400)
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(exported.filename)}"
    response["X-Export-Batch"] = str(exported.batch.pk)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def schedule_view(request: HttpRequest, kind: str) -> HttpResponse:
    selectors.require_admin(actor=request.user)
    definition = selectors.kind_for_staff(actor=request.user, municipality=request.tenant, kind_code=kind)
    form = ScheduleForm(request.POST, layouts=selectors.layouts_for(kind=definition))
    if form.is_valid():
        try:
            services.schedule_save(actor=request.user, municipality=request.tenant, kind_code=kind,
                                   **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("「%(kind)s」の定期出力の設定を保存しました。") % {"kind": definition.label})
            return redirect("integration_exports:kind", kind=kind)
    return _kind_page(request, kind, schedule_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def layouts_view(request: HttpRequest) -> HttpResponse:
    rows = selectors.layout_rows(actor=request.user)
    form = LayoutImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            layout = services.layout_import(actor=request.user, municipality=request.tenant,
                                            data=form.cleaned_data["file"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("レイアウト「%(name)s」を取り込みました。") % {"name": layout.name})
            return redirect("integration_exports:layouts")
    kinds = [(kind, selectors.layouts_for(kind=kind))
             for kind in selectors.kinds_for_staff(actor=request.user, municipality=request.tenant)]
    return render(request, "integration_exports/layouts.html", {"rows": rows, "form": form, "kinds": kinds},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def layout_edit_view(request: HttpRequest, kind: str, code: str | None = None) -> HttpResponse:
    """The visual layout editor (items, headers, widths, code mappings from lists) over the JSON definition."""
    selectors.require_admin(actor=request.user)
    definition = selectors.kind_for_staff(actor=request.user, municipality=request.tenant, kind_code=kind)
    problems: list = []
    if request.method == "POST":
        form = LayoutEditForm(request.POST)
        if form.is_valid():
            try:
                layout = services.layout_save(actor=request.user, municipality=request.tenant, kind_code=kind,
                                              data=form.cleaned_data["definition"])
            except services.LayoutProblems as exc:
                problems = exc.problems
                form.add_error("definition", exc.messages)
            else:
                messages.success(request, _("レイアウト「%(name)s」を保存しました。") % {"name": layout.name})
                return redirect("integration_exports:layouts")
    else:
        start = selectors.layout_for_editing(actor=request.user, kind=definition, code=code,
                                             start_from=request.GET.get("from"))
        form = LayoutEditForm(initial={"definition": json.dumps(start, ensure_ascii=False, indent=2)})
    context = {
        "kind": definition, "code": code, "form": form, "problems": problems,
        "problem_places": [{"place": p.place, "message": p.message} for p in problems if p.place],
        "vocabulary": selectors.layout_vocabulary(actor=request.user, kind=definition),
    }
    return render(request, "integration_exports/layout_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def layout_json_view(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    definition = selectors.kind_for_staff(actor=request.user, municipality=request.tenant, kind_code=kind)
    spec = next((s for s in selectors.layouts_for(kind=definition) if s.code == code), None)
    if spec is None:
        raise Http404(_("レイアウトがありません。"))
    body = json.dumps(spec.to_dict(), ensure_ascii=False, indent=2) + "\n"
    record(action=AuditAction.EXPORT, target_type="export_layout", target_id=f"{definition.code}:{spec.code}",
           area=definition.area, details={"kind": definition.code, "layout": spec.code, "format": "json"})
    response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'layout_{kind}_{code}.json')}"
    return response


@login_required
@require_POST
def layout_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_admin(actor=request.user)
    layout = get_object_or_404(ExportLayout, pk=pk)
    try:
        services.layout_delete(actor=request.user, layout=layout)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("レイアウト「%(name)s」を削除しました。") % {"name": layout.name})
    return redirect("integration_exports:layouts")
