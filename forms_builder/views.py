"""Staff screens for forms: a case's documents (blanks, inputs, preview, print), issued documents, and the
admins' template list (draft JSON, background, publish) and 町字 master. Thin: validate, call, render."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from forms_builder import channels, selectors, services
from forms_builder import inputs as inputs_mod
from forms_builder import render as layout
from forms_builder import sources as src
from forms_builder.models import FormTemplate, IssuedDocument
from madoguchi.inputs import JSONInputError, json_loads
from navigation.cases import selectors as case_selectors
from navigation.cases.models import Case


def _case(request: HttpRequest, pk: int) -> Case:
    try:
        return case_selectors.case_get(actor=request.user, case_id=pk)
    except Case.DoesNotExist as exc:
        raise Http404 from exc


def _errors(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    for text in exc.messages if isinstance(exc, ValidationError) else [str(exc) or _("この操作は許可されていません。")]:
        messages.error(request, text)


def _pdf(pdf: bytes, *, name: str, disposition: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _to_forms(pk: int) -> HttpResponse:
    return redirect(reverse("forms_builder:case", args=[pk]))


def _refused(request: HttpRequest, exc: PermissionDenied, *, case_id: int | None) -> HttpResponse:
    """403 with the service's reason (the form and the missing business area), a link back to the forms."""
    return render(request, "forms_builder/refused.html",
                  {"reason": str(exc) or _("この操作は許可されていません。"), "case_id": case_id}, status=403)


def _left_out_message(request: HttpRequest, left_out: list) -> None:
    if left_out:
        messages.warning(request, _("次の申請書は含めていません：%(reasons)s")
                         % {"reasons": " ".join(p.refusal for p in left_out)})


@login_required
@require_GET
def case_forms_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    plans = selectors.case_plans(actor=request.user, case=case, counter=request.counter)
    entries = {(e.person_key, e.key): e.value for e in case.form_entries.all()}
    needed = []
    for item, person in selectors.needed_inputs(case=case):
        value = entries.get((getattr(person, "key", ""), item.key))
        needed.append(
            {
                "item": item,
                "person": person,
                "value": value,
                "name": f"in:{item.key}:{getattr(person, 'key', '')}",
                "text": inputs_mod.address_text(value) if item.kind == "address" else value,
            }
        )
    certificates = FormTemplate.objects.filter(kind="certificate", is_active=True)
    cert_kinds = {}
    for template in certificates:
        version = selectors.version_in_force(template=template)
        cert_kinds[template.code] = [
            (o["value"], o.get("label") or o["value"])
            for f in (version.fields if version else [])
            if f.get("type") == "check"
            for o in f.get("options") or []
        ]
    here = request.counter is not None and case.current_counter_id == request.counter.pk and case.is_open
    issuable, left_out = selectors.issue_split(plans)
    return render(
        request,
        "forms_builder/case.html",
        {
            "case": case,
            "plans": plans,
            "issuable": issuable,
            "left_out": left_out,
            "needed": needed,
            "towns": selectors.town_choices(),
            "can_edit": here,
            "reasons": {k: str(v) for k, v in src.REASONS.items()},
            "channels": channels.all_channels(),
            "tablet_channel": channels.get("tablet") is not None,
            "issued": selectors.issued_documents(actor=request.user, case=case),
            "certificates": certificates,
            "cert_kinds": cert_kinds,
            "total_blanks": sum(len(p.resident_blanks) for p in plans),
            "total_staff": sum(len(p.staff_typed) for p in plans),
        },
    )


@login_required
@require_POST
def case_inputs_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    values: dict[tuple[str, str], object] = {}
    for name in request.POST:
        if not name.startswith("in:"):
            continue
        _prefix, key, rest = name.split(":", 2)
        person_key, _sep, part = rest.partition(".")
        item = inputs_mod.get(key)
        if item is not None and item.kind == "address":
            values.setdefault((key, person_key), {})[part or "town"] = request.POST.get(name, "")  # type: ignore[index]
        else:
            values[(key, person_key)] = request.POST.get(name, "")
    try:
        count = services.case_entries_save(actor=request.user, counter=request.counter, case=case, values=values)
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("%(n)d 件の入力を保存しました。") % {"n": count})
    return _to_forms(pk)


@login_required
@require_POST
def case_fill_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        services.case_field_fill(
            actor=request.user,
            counter=request.counter,
            case=case,
            template_code=request.POST.get("template", ""),
            field_key=request.POST.get("field", ""),
            person_key=request.POST.get("person", ""),
            value=request.POST.get("value", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("空欄に入力しました。"))
    return _to_forms(pk)


@login_required
@require_POST
def case_certificate_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        services.certificate_request_set(
            actor=request.user,
            counter=request.counter,
            case=case,
            template_code=request.POST.get("template", ""),
            kind=request.POST.get("kind", ""),
            copies=request.POST.get("copies", ""),
            purpose=request.POST.get("purpose", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("証明書の交付請求を追加しました。"))
    return _to_forms(pk)


@login_required
@require_GET
def case_preview_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        pdf = services.case_preview(
            actor=request.user, case=case, counter=request.counter, codes=request.GET.getlist("doc") or None
        )
    except ValidationError as exc:
        _errors(request, exc)
        return _to_forms(pk)
    except PermissionDenied as exc:
        return _refused(request, exc, case_id=case.pk)
    return _pdf(pdf, name=f"preview-{case.label}.pdf", disposition="inline")


@login_required
@require_POST
def case_issue_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        issued = services.document_issue(
            actor=request.user,
            counter=request.counter,
            case=case,
            channel=request.POST.get("channel", "print"),
            codes=request.POST.getlist("doc") or None,
            request=request,
        )
    except ValidationError as exc:
        _errors(request, exc)
        return _to_forms(pk)
    except PermissionDenied as exc:
        return _refused(request, exc, case_id=case.pk)
    if issued.delivery.pdf is not None:  # the forms page said beforehand which forms the bundle leaves out
        return _pdf(
            issued.delivery.pdf,
            name=f"forms-{case.label}-{issued.document.pk}.pdf",
            disposition=issued.delivery.disposition,
        )
    messages.success(request, issued.delivery.message)
    _left_out_message(request, issued.left_out)
    return _to_forms(pk)


@login_required
@require_POST
def document_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Reprint / re-download a stored document (a new audited issue of the same bytes)."""
    try:
        document = selectors.issued_get(actor=request.user, pk=pk)
    except IssuedDocument.DoesNotExist as exc:
        raise Http404 from exc
    try:
        issued = services.document_reissue(
            actor=request.user, document=document, channel=request.POST.get("channel", "download"), request=request
        )
    except ValidationError as exc:
        _errors(request, exc)
        return _to_forms(document.case_id) if document.case_id else redirect("home")
    except PermissionDenied as exc:
        return _refused(request, exc, case_id=document.case_id)
    if issued.delivery.pdf is None:  # a channel that delivers elsewhere (the tablet)
        messages.success(request, issued.delivery.message)
        return _to_forms(document.case_id) if document.case_id else redirect("home")
    return _pdf(
        issued.pdf,
        name=f"forms-{issued.document.pk}.pdf",
        disposition=issued.delivery.disposition if issued.delivery.pdf is not None else "inline",
    )


@login_required
@require_GET
def address_search_view(request: HttpRequest) -> HttpResponse:
    from django.http import JsonResponse

    rows = selectors.address_search(actor=request.user, query=request.GET.get("q", ""))
    return JsonResponse(
        {"results": [{"code": a.code, "name": a.name, "kana": a.kana, "postcode": a.postcode} for a in rows]}
    )


# ---------------------------------------------------------------------------------------------
# Admins: templates, versions, backgrounds, 町字 master
# ---------------------------------------------------------------------------------------------
@login_required
@require_GET
def templates_view(request: HttpRequest) -> HttpResponse:
    selectors.require_admin(request.user)
    rows = []
    for template in selectors.templates_list(actor=request.user):
        rows.append(
            {
                "template": template,
                "current": selectors.version_in_force(template=template),
                "draft": selectors.draft_of(template=template),
            }
        )
    return render(request, "forms_builder/templates.html", {"rows": rows, "sources": src.all_sources()})


@login_required
def template_view(request: HttpRequest, code: str) -> HttpResponse:
    import json

    selectors.require_admin(request.user)
    try:
        template = selectors.template_get(actor=request.user, code=code)
    except FormTemplate.DoesNotExist as exc:
        raise Http404 from exc
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "publish":
                services.template_publish(
                    actor=request.user,
                    template=template,
                    effective_from=date.fromisoformat(request.POST.get("effective_from", "")),
                )
                messages.success(request, _("公開しました。"))
            else:
                background = False
                upload = request.FILES.get("background")
                if upload is not None:
                    background = services.background_upload(
                        actor=request.user, file_name=upload.name, data=upload.read()
                    )
                try:
                    fields = json_loads(request.POST.get("fields") or "[]", field=_("項目"))
                except JSONInputError as exc:
                    raise ValidationError(exc.message) from exc
                services.template_draft_save(
                    actor=request.user,
                    template=template,
                    fields=fields,
                    html=request.POST.get("html", ""),
                    page_size=request.POST.get("page_size") or None,
                    orientation=request.POST.get("orientation") or None,
                    background=background,
                )
                messages.success(request, _("下書きを保存しました。"))
        except ValueError:
            messages.error(request, _("適用開始日を YYYY-MM-DD で入力してください。"))
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc)
        return redirect(reverse("forms_builder:template", args=[code]))
    draft = selectors.draft_of(template=template)
    current = selectors.version_in_force(template=template)
    shown = draft or current
    return render(
        request,
        "forms_builder/template.html",
        {
            "template": template,
            "draft": draft,
            "current": current,
            "versions": template.versions.order_by("-number"),
            "fields_json": json.dumps(shown.fields if shown else [], ensure_ascii=False, indent=1),
            "html": shown.html if shown else "",
            "shown": shown,
        },
    )


@login_required
@require_POST
def addresses_upload_view(request: HttpRequest) -> HttpResponse:
    selectors.require_admin(request.user)
    if request.POST.get("action") == "seed":
        templates, towns = services.forms_setup()
        messages.success(request, _("標準様式 %(t)d 件を導入し、住民記録から町字 %(n)d 件を追加しました。")
                         % {"t": templates, "n": towns})
        return redirect("forms_builder:templates")
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError(_("町字の CSV ファイルを選んでください。"))
        count = services.address_areas_import(actor=request.user, data=upload.read(), file_name=upload.name)
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("町字 %(n)d 件を取り込みました。") % {"n": count})
    return redirect("forms_builder:templates")


# ---------------------------------------------------------------------------------------------
# Admins: the layout editor (R2.7) — drag fields on the page, pick bindings, preview with the sample household
# ---------------------------------------------------------------------------------------------
def _admin_template(request: HttpRequest, code: str) -> FormTemplate:
    selectors.require_admin(request.user)
    try:
        return selectors.template_get(actor=request.user, code=code)
    except FormTemplate.DoesNotExist as exc:
        raise Http404 from exc


def _json_error(messages_: list[str], status: int) -> HttpResponse:
    from django.http import JsonResponse

    return JsonResponse({"errors": messages_}, status=status, json_dumps_params={"ensure_ascii": False})


def _editor_body(request: HttpRequest) -> dict:
    """The editor posts JSON (``fields``, ``page_size``, ``orientation``); the preview's PDF link posts a form."""
    if request.content_type == "application/json":
        try:
            body = json_loads(request.body, field=_("項目"))
        except JSONInputError as exc:
            raise ValidationError(exc.message) from exc
    else:
        try:
            body = {"fields": json_loads(request.POST.get("fields") or "null", field=_("項目"))}
        except JSONInputError as exc:
            raise ValidationError(exc.message) from exc
    if not isinstance(body, dict):
        raise ValidationError(_("「項目」：JSON のオブジェクトで送ってください。"))
    for name in ("page_size", "orientation"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ValidationError(_("用紙の大きさ・向きが正しくありません。"))
    return body


@login_required
@require_GET
def template_editor_view(request: HttpRequest, code: str) -> HttpResponse:
    from forms_builder import sample

    template = _admin_template(request, code)
    draft = selectors.draft_of(template=template)
    current = selectors.version_in_force(template=template)
    shown = draft or current
    width, height = layout.page_mm(shown.page_size, shown.orientation) if shown else layout.page_mm("A4", "portrait")
    data = {
        "fields": shown.fields if shown else [],
        "page": {"w": width, "h": height, "size": shown.page_size if shown else "A4",
                 "orientation": shown.orientation if shown else "portrait"},
        "background": reverse("forms_builder:template_background", args=[code])
        if shown and shown.background_id else None,
        "catalogue": sample.catalogue(sample.household(staff=request.user, counter=request.counter)),
        "types": list(layout.FIELD_TYPES),
        "bound": list(layout.BOUND_TYPES),
        "filters": list(src.FILTERS),
        "urls": {
            "save": reverse("forms_builder:template_editor_save", args=[code]),
            "preview": reverse("forms_builder:template_editor_preview", args=[code]),
        },
    }
    return render(
        request,
        "forms_builder/editor.html",
        {"template": template, "draft": draft, "current": current, "shown": shown, "data": data,
         "flowing": bool(shown and shown.html)},
    )


@login_required
@require_GET
def template_background_view(request: HttpRequest, code: str) -> HttpResponse:
    template = _admin_template(request, code)
    shown = selectors.draft_of(template=template) or selectors.version_in_force(template=template)
    if shown is None or shown.background is None:
        raise Http404
    response = HttpResponse(bytes(shown.background.png), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_POST
def template_editor_save_view(request: HttpRequest, code: str) -> HttpResponse:
    """Save the editor's fields as the draft: 200 with the saved fields, or 400 naming every bad field."""
    from django.http import JsonResponse

    try:
        template = _admin_template(request, code)
        body = _editor_body(request)
        draft = services.template_draft_save(
            actor=request.user,
            template=template,
            fields=body.get("fields"),
            page_size=body.get("page_size"),
            orientation=body.get("orientation"),
        )
    except PermissionDenied as exc:
        return _json_error([str(exc) or _("この操作は許可されていません。")], 403)
    except ValidationError as exc:
        return _json_error(exc.messages, 400)
    return JsonResponse(
        {"message": _("下書きを保存しました。"), "fields": draft.fields, "updated_at": draft.updated_at.isoformat()},
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@require_POST
def template_editor_preview_view(request: HttpRequest, code: str) -> HttpResponse:
    """The live preview with the sample household: JSON with a PNG of the page (the editor), or the PDF
    (``?format=pdf``, the 「PDF で開く」 link)."""
    import base64

    from django.http import JsonResponse

    as_pdf = request.GET.get("format") == "pdf"
    try:
        template = _admin_template(request, code)
        body = _editor_body(request)
        content, problems = services.template_sample_preview(
            actor=request.user, template=template, fields=body.get("fields"),
            page_size=body.get("page_size"), orientation=body.get("orientation"), as_png=not as_pdf)
    except PermissionDenied as exc:
        return _json_error([str(exc) or _("この操作は許可されていません。")], 403)
    except ValidationError as exc:
        return _json_error(exc.messages, 400)
    if as_pdf:
        if not content:
            return _json_error(problems, 400)
        return _pdf(content, name=f"preview-{template.code}.pdf", disposition="inline")
    image = "data:image/png;base64," + base64.b64encode(content).decode() if content else ""
    return JsonResponse({"image": image, "problems": problems}, json_dumps_params={"ensure_ascii": False})
