"""Municipal-admin screens of the linkage side. Thin: services and selectors do the work and checks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditAction
from audit.services import record
from integration import disclosure, labels, selectors, services
from integration.forms import (
    CodePointForm,
    GaijiUploadForm,
    ImportUploadForm,
    LayoutEditor,
    LayoutFileForm,
    ScheduleForm,
)
from integration.gaiji import code_points
from integration.models import ImportRun, LinkageLayout
from integration.records_editor import records_summary
from integration.targets import target_for


def _errors_to_form(form: object, exc: ValidationError) -> None:
    if hasattr(exc, "message_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _layouts_ready(request: HttpRequest) -> None:
    """Shipped layouts are loaded lazily the first time an admin opens the linkage screens."""
    if not LinkageLayout.objects.exists():
        services.layouts_ensure_shipped(actor=request.user)


@login_required
@require_http_methods(["GET", "POST"])
def index_view(request: HttpRequest) -> HttpResponse:
    layouts = selectors.linkage_layouts(actor=request.user).filter(is_active=True)
    _layouts_ready(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None, layouts=layouts)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = services.import_submit(layout=form.cleaned_data["layout"], source=upload, file_name=upload.name,
                                         via=ImportRun.Source.UPLOAD, actor=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("「%(file)s」を受け付けました。検証と反映の進み具合はこの画面で確認できます。")
                             % {"file": run.file_name})
            return redirect("integration:run", pk=run.pk)
    return render(request, "integration/index.html", {
        "form": form,
        "runs": selectors.import_runs(actor=request.user, limit=20),
        "attention": selectors.runs_needing_attention(actor=request.user),
        "schedules": selectors.schedule_statuses(actor=request.user),
        "inbox": services.linkage_dir("inbox"),
    })


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """A download (never cached: the files hold or describe personal data)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _run_context(request: HttpRequest, pk: int) -> dict:
    try:
        run = selectors.import_run_get(actor=request.user, pk=pk)
    except ImportRun.DoesNotExist:
        raise Http404(_("取込履歴がありません")) from None
    return {"run": run, "stale": services.run_is_stale(run=run), "phases": labels.run_phases(run.timings),
            "file_kind": labels.file_kind(run.file_kind)}


@login_required
def run_view(request: HttpRequest, pk: int) -> HttpResponse:
    context = _run_context(request, pk)
    run = context["run"]
    record(action=AuditAction.VIEW, target_type="linkage_run", target_id=run.pk, area=run.layout.area or "",
           details={"errors_shown": min(run.error_count, len(run.errors))})
    return render(request, "integration/run.html", context)


@login_required
def run_errors_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's errors as a CSV file (to send to the core-system vendor); audited as an export."""
    run = _run_context(request, pk)["run"]
    response = _attachment(selectors.import_run_errors_csv(run=run), "text/csv; charset=utf-8",
                           f"linkage-run-{run.pk}-errors.csv")
    record(action=AuditAction.EXPORT, target_type="linkage_run", target_id=run.pk, area=run.layout.area or "",
           details={"errors": len(run.errors), "error_count": run.error_count, "format": "csv"})
    return response


@login_required
def run_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The fragment htmx polls while a run is in progress (no inline script: CSP)."""
    context = _run_context(request, pk)
    response = render(request, "integration/_run_progress.html", context)
    if not context["run"].is_running:
        response["HX-Refresh"] = "true"  # reload once so the result and errors are shown
    return response


@login_required
@require_POST
def run_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_context(request, pk)["run"]
    try:
        new_run = services.import_retry(run=run, actor=request.user)
    except ValidationError as exc:
        messages.error(request, pgettext("separator", "；").join(exc.messages))
        return redirect("integration:run", pk=run.pk)
    messages.success(request, _("再実行を受け付けました。"))
    return redirect("integration:run", pk=new_run.pk)


@login_required
@require_http_methods(["GET", "POST"])
def layouts_view(request: HttpRequest) -> HttpResponse:
    layouts = selectors.linkage_layouts(actor=request.user)
    _layouts_ready(request)
    form = LayoutFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            layout = services.layout_import_json(actor=request.user, data=form.cleaned_data["file"])
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("レイアウト「%(name)s」を登録しました。") % {"name": layout.name})
            return redirect("integration:layout", key=layout.key)
    return render(request, "integration/layouts.html", {
        "layouts": layouts, "form": form, "targets": selectors.layout_targets(actor=request.user)},
        status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def layout_new_view(request: HttpRequest) -> HttpResponse:
    """A new layout: for a target (``?target=residents``) or as a copy of a layout (``?copy=<key>``)."""
    targets = dict(selectors.layout_targets(actor=request.user))
    copy_of = _layout(request, request.GET["copy"]) if request.GET.get("copy") else None
    target_key = copy_of.target if copy_of else request.GET.get("target", "")
    if target_key not in targets:
        messages.error(request, _("取込先を選んでください（契約している業務の取込先のみ選べます）。"))
        return redirect("integration:layouts")
    editor = LayoutEditor(target=target_for(target_key), data=request.POST or None, copy_of=copy_of)
    if request.method == "POST" and editor.is_valid():
        try:
            layout = services.layout_save(actor=request.user, data=editor.to_data(), create=True)
        except ValidationError as exc:
            editor.add_errors(exc)
        else:
            messages.success(request, _("レイアウト「%(name)s」を作成しました。") % {"name": layout.name})
            return redirect("integration:layout", key=layout.key)
    return render(request, "integration/layout_edit.html", {"editor": editor, "layout": None, "copy_of": copy_of},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def layout_edit_view(request: HttpRequest, key: str) -> HttpResponse:
    layout = _layout(request, key)
    if layout.direction != LinkageLayout.Direction.IN:
        raise Http404(_("このレイアウトは出力レイアウトの画面で編集します"))
    editor = LayoutEditor(target=target_for(layout.target), data=request.POST or None, layout=layout,
                          creating=False)
    if request.method == "POST" and editor.is_valid():
        try:
            services.layout_save(actor=request.user, data=editor.to_data(), key=layout.key)
        except ValidationError as exc:
            editor.add_errors(exc)
        else:
            messages.success(request, _("レイアウト「%(name)s」を保存しました。") % {"name": layout.name})
            return redirect("integration:layout", key=layout.key)
    return render(request, "integration/layout_edit.html", {"editor": editor, "layout": layout, "copy_of": None},
                  status=400 if request.method == "POST" else 200)


def _layout(request: HttpRequest, key: str) -> LinkageLayout:
    layout = selectors.linkage_layouts(actor=request.user, direction=None).filter(key=key).first()
    if layout is None:
        raise Http404(_("レイアウトがありません"))
    return layout


@login_required
@require_http_methods(["GET", "POST"])
def layout_view(request: HttpRequest, key: str) -> HttpResponse:
    layout = _layout(request, key)
    schedule = layout.schedules.first()
    initial = {"kind": "nightly", "at_time": "02:00", "deadline_time": "08:00", "is_active": True}
    if schedule:
        initial = {"kind": schedule.kind, "at_time": schedule.at_time, "every_minutes": schedule.every_minutes,
                   "deadline_time": schedule.deadline_time, "is_active": schedule.is_active}
    form = ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.schedule_save(actor=request.user, layout=layout, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("スケジュールを保存しました。"))
            return redirect("integration:layout", key=layout.key)
    target = target_for(layout.target)
    columns = [{**c, "spec": target.field(c.get("field", ""))} for c in layout.columns]
    return render(request, "integration/layout.html", {
        "layout": layout, "columns": columns, "form": form, "schedule": schedule, "target": target,
        # the folder under the municipality's SFTP root, never the server's own path
        "inbox": f"inbox/{layout.key}/", "op_codes": labels.op_codes(layout.op_codes),
        "date_formats": labels.date_formats(layout.date_formats),
        "code_tables": labels.code_tables(target, layout.code_tables),
        "key_labels": labels.key_labels(target, layout.key_fields), "records": records_summary(layout)})


@login_required
def layout_export_view(request: HttpRequest, key: str) -> HttpResponse:
    layout = _layout(request, key)
    response = HttpResponse(services.layout_export_json(layout=layout), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{layout.key}.json"'
    record(action=AuditAction.EXPORT, target_type="linkage_layout", target_id=layout.key)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def gaiji_view(request: HttpRequest) -> HttpResponse:
    mappings = selectors.gaiji_mappings(actor=request.user)
    form = GaijiUploadForm(request.POST or None, request.FILES or None, prefix="upload")
    lookup = CodePointForm(request.GET or None)
    points = code_points(lookup.cleaned_data["text"]) if request.GET and lookup.is_valid() else None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.gaiji_upload(actor=request.user, data=form.cleaned_data["file"].read(),
                                           replace=form.cleaned_data["replace"])
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request,
                             _("外字変換表を登録しました（追加 %(created)s 件・更新 %(updated)s 件）。") % result)
            return redirect("integration:gaiji")
    return render(request, "integration/gaiji.html", {"mappings": mappings, "form": form, "lookup": lookup,
                                                      "points": points})


@login_required
def disclosure_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_municipal_admin:
        raise PermissionDenied(_("業務管理者のみが利用できます。"))
    _layouts_ready(request)
    return render(request, "integration/disclosure.html", {"linkages": disclosure.linkages()})


DISCLOSURE_FORMATS = {  # format → (renderer, content type)
    "csv": (disclosure.disclosure_csv, "text/csv; charset=utf-8"),
    "pdf": (disclosure.disclosure_pdf, "application/pdf"),  # R3.7: the document to publish
}


def _disclosure_file(request: HttpRequest, fmt: str) -> HttpResponse:
    """The disclosure as a file, generated from the current definitions; admins only, audited."""
    if not request.user.is_municipal_admin:
        raise PermissionDenied(_("業務管理者のみが利用できます。"))
    _layouts_ready(request)
    render_file, content_type = DISCLOSURE_FORMATS[fmt]
    response = _attachment(render_file(municipality_name=connection.tenant.name), content_type,
                           f"linkage-disclosure.{fmt}")
    record(action=AuditAction.EXPORT, target_type="linkage_disclosure", target_id="", details={"format": fmt})
    return response


@login_required
def disclosure_download_view(request: HttpRequest) -> HttpResponse:
    return _disclosure_file(request, "csv")


@login_required
def disclosure_pdf_view(request: HttpRequest) -> HttpResponse:
    return _disclosure_file(request, "pdf")
