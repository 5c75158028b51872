"""The tablet's pages (no staff login: a paired tablet's cookie) and the staff side (pairing code, the case
panel polled on the forms screen, recall). Thin: validate, call a service or selector, render.

Every response of the tablet is ``Cache-Control: no-store``; no URL carries document content (only the id of
the push the tablet is showing, which no other tablet can open)."""

from __future__ import annotations

import subprocess
import tempfile
from functools import wraps
from pathlib import Path
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from forms_builder import services as forms_services
from forms_builder.tablet import selectors, services
from forms_builder.tablet.models import TabletPush
from madoguchi.inputs import JSONInputError, json_loads
from madoguchi.middleware import client_ip
from navigation.cases import selectors as case_selectors
from navigation.cases.models import Case

COOKIE = "madoguchi_tablet"
COOKIE_PATH = "/tablet/"
PAGE_DPI = "110"
MAX_PAGES = 40


def no_store(view: Any) -> Any:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store, max-age=0"
        response["Pragma"] = "no-cache"
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapped


def _tablet(request: HttpRequest) -> Any:
    return selectors.tablet_for_token(token=request.COOKIES.get(COOKIE))


def _screen_key(push: TabletPush | None) -> str:
    return f"push-{push.pk}" if push is not None else "waiting"


def _screen_context(push: TabletPush | None) -> dict[str, Any]:
    return {"push": push, "screen_key": _screen_key(push),
            "pages": range(1, min(push.document.pages, MAX_PAGES) + 1) if push is not None else range(0)}


# ---------------------------------------------------------------------------------------------
# The tablet
# ---------------------------------------------------------------------------------------------
@require_GET
@no_store
def tablet_view(request: HttpRequest) -> HttpResponse:
    tablet = _tablet(request)
    if tablet is None:
        response = render(request, "forms_tablet/pair.html", {"locked": services.pairing_locked(
            client=client_ip(request))})
        if COOKIE in request.COOKIES:
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response
    services.tablet_seen(tablet=tablet)
    return render(request, "forms_tablet/tablet.html", {"tablet": tablet,
                                                        **_screen_context(selectors.live_push(tablet=tablet))})


@require_POST
@no_store
def pair_view(request: HttpRequest) -> HttpResponse:
    try:
        tablet, token = services.tablet_pair(code=request.POST.get("code", ""), client=client_ip(request),
                                             user_agent=request.headers.get("User-Agent", ""))
    except ValidationError as exc:
        return render(request, "forms_tablet/pair.html", {"errors": exc.messages,
                                                          "locked": services.pairing_locked(client=client_ip(request))},
                      status=400)
    response = redirect(reverse("forms_tablet:tablet"))
    response.set_cookie(COOKIE, token, max_age=int(services.session_lifetime().total_seconds()), path=COOKIE_PATH,
                        secure=request.is_secure(), httponly=True, samesite="Strict")
    return response


@require_GET
@no_store
def state_view(request: HttpRequest) -> HttpResponse:
    """Polled by the tablet: 204 while its screen is current, else the new screen (HTML fragment)."""
    tablet = _tablet(request)
    if tablet is None:
        return JsonResponse({"state": "unpaired"}, status=403)
    services.tablet_seen(tablet=tablet)
    push = selectors.live_push(tablet=tablet)
    key = _screen_key(push)
    if request.GET.get("have") == key:
        return HttpResponse(status=204)
    response = render(request, "forms_tablet/_screen.html", _screen_context(push))
    response["X-Tablet-Screen"] = key
    return response


def _live(request: HttpRequest, push_id: int) -> tuple[Any, TabletPush]:
    tablet = _tablet(request)
    if tablet is None:
        raise PermissionDenied
    try:
        return tablet, selectors.push_for_tablet(tablet=tablet, push_id=push_id)
    except TabletPush.DoesNotExist as exc:
        raise Http404 from exc


@require_GET
@no_store
def page_view(request: HttpRequest, push_id: int, number: int) -> HttpResponse:
    """Page ``number`` of the pushed document as a PNG (rasterised from the stored PDF, never kept)."""
    _tablet_obj, push = _live(request, push_id)
    if not 1 <= number <= min(push.document.pages, MAX_PAGES):
        raise Http404
    pdf = forms_services.decrypt_pdf(push.document.pdf_encrypted)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", PAGE_DPI, "-f", str(number), "-l", str(number), "-singlefile",
                        str(source), str(Path(folder) / "page")], check=True, capture_output=True, timeout=30)
        png = (Path(folder) / "page.png").read_bytes()
    return HttpResponse(png, content_type="image/png")


def _json_body(request: HttpRequest) -> dict:
    try:
        data = json_loads(request.body, field=_("送信内容"))
    except JSONInputError as exc:
        raise ValidationError({"body": [str(exc)]}) from exc
    if not isinstance(data, dict):
        raise ValidationError({"body": [_("送信内容の形式が正しくありません。")]})
    return data


@require_POST
@no_store
def sign_view(request: HttpRequest, push_id: int) -> HttpResponse:
    tablet, push = _live(request, push_id)
    try:
        data = _json_body(request)
        services.signature_submit(tablet=tablet, push_id=push.pk, strokes=data.get("strokes"),
                                  png=data.get("png"))
    except ValidationError as exc:
        return JsonResponse({"ok": False, "errors": exc.messages}, status=400)
    except PermissionDenied:
        raise Http404 from None
    return JsonResponse({"ok": True})


@require_POST
@no_store
def correction_view(request: HttpRequest, push_id: int) -> HttpResponse:
    tablet, push = _live(request, push_id)
    try:
        data = _json_body(request)
        text = data.get("text", "")
        if not isinstance(text, str):
            raise ValidationError({"text": [_("お問い合わせの内容は文字でお書きください。")]})
        services.correction_request(tablet=tablet, push_id=push.pk, text=text)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "errors": exc.messages}, status=400)
    except PermissionDenied:
        raise Http404 from None
    return JsonResponse({"ok": True})


# ---------------------------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------------------------
def _desk_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    desk = selectors.desk_of(actor=request.user)
    return {"desk": desk, "tablet": selectors.desk_tablet(desk=desk), **extra}


@login_required
@require_GET
def desk_view(request: HttpRequest) -> HttpResponse:
    return render(request, "forms_tablet/desk.html", _desk_context(request))


@login_required
@require_POST
@no_store
def code_view(request: HttpRequest) -> HttpResponse:
    try:
        code, pairing = services.pairing_code_create(actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        for text in getattr(exc, "messages", [str(exc)]):
            messages.error(request, text)
        return redirect("forms_tablet:desk")
    url = request.build_absolute_uri(reverse("forms_tablet:tablet")) + f"#code={code}"
    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2)
    return render(request, "forms_tablet/desk.html", _desk_context(request, code=code, pairing=pairing, qr=qr,
                                                                   tablet_url=url.split("#")[0]))


@login_required
@require_POST
def unpair_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.tablet_unpair(actor=request.user, tablet_id=pk)
    except (ValidationError, PermissionDenied) as exc:
        for text in getattr(exc, "messages", [str(exc)]):
            messages.error(request, text)
    else:
        messages.success(request, _("タブレットの接続を解除しました。"))
    return redirect("forms_tablet:desk")


def _case(request: HttpRequest, pk: int) -> Case:
    try:
        return case_selectors.case_get(actor=request.user, case_id=pk)
    except Case.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_GET
@no_store
def case_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The case's tablet state on the forms screen, polled; 204 while nothing changed (``?v=``)."""
    case = _case(request, pk)
    state = selectors.case_tablet_state(actor=request.user, case=case)
    if request.GET.get("v") == state.version:
        return HttpResponse(status=204)
    return render(request, "forms_tablet/_case_panel.html", {"case": case, "state": state})


@login_required
@require_POST
def recall_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        services.push_recall(actor=request.user, case=case)
    except (ValidationError, PermissionDenied) as exc:
        for text in getattr(exc, "messages", [str(exc)]):
            messages.error(request, text)
    else:
        messages.success(request, _("タブレットから取り消しました。"))
    return redirect("forms_builder:case", case.pk)


@login_required
@require_POST
def signed_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Print the signed PDF (built now if it was not yet); a new audited issue like any reprint."""
    case = _case(request, pk)
    signature = selectors.signed_signature(case=case)
    if signature is None:
        messages.error(request, _("署名済みの申請書はありません"
                                  "（署名の後に内容が変わった場合は署名し直しが必要です）。"))
        return redirect("forms_builder:case", case.pk)
    document = signature.signed_document or services.signed_document_build(signature=signature)
    if document is None:
        messages.error(request, _("署名の後に申請書の内容が変わりました。署名し直してもらってください。"))
        return redirect("forms_builder:case", case.pk)
    try:  # a reprint: the signed forms must be of business areas the staff member holds
        issued = forms_services.document_reissue(actor=request.user, document=document, channel="print",
                                                 request=request)
    except PermissionDenied as exc:
        return render(request, "forms_builder/refused.html", {"reason": str(exc), "case_id": case.pk}, status=403)
    response = HttpResponse(issued.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="signed-{case.label}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
