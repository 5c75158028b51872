"""Staff screens of the card: the desk panel (polled by htmx every second, like the cases queue), the
case panel, station administration, and the JPKI card steps. Thin: validate, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mynacard import selectors, services
from mynacard.forms import DeskCreateForm, PolicyForm, StationRegisterForm
from mynacard.jpki import REASONS as JPKI_REASONS
from mynacard.models import CardLoginPolicy, JpkiChallenge, JpkiPurpose, ReaderStation
from mynacard.verify import REASONS as CARD_REASONS
from tenants.accounts import services as account_services

SESSION_CARD_OK = "mynacard_card_ok"
SESSION_CARD_REQUIRED = "mynacard_card_required"
SESSION_CHALLENGE = "mynacard_challenge"


def _errors(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    texts = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
    for text in texts:
        messages.error(request, text)


def _panel_context(request: HttpRequest) -> dict:
    panel = selectors.desk_panel(actor=request.user, counter=request.counter)
    return {"panel": panel, "card_reasons": CARD_REASONS}


@login_required
@require_GET
def desk_view(request: HttpRequest) -> HttpResponse:
    return render(request, "mynacard/desk.html", _panel_context(request))


@login_required
@require_GET
def desk_panel_view(request: HttpRequest) -> HttpResponse:
    """The fragment htmx polls every second: station state, PIN confirmation, reads to attach."""
    return render(request, "mynacard/_desk_panel.html", _panel_context(request))


@login_required
@require_POST
def desk_sit_view(request: HttpRequest) -> HttpResponse:
    try:
        desk = account_services.desk_sit(actor=request.user, desk_id=int(request.POST.get("desk", 0)))
    except (ValidationError, ValueError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [_("席を選んでください。")])))
    else:
        messages.success(request, _("「%(desk)s」に着席しました。") % {"desk": desk})
    return redirect("mynacard:desk")


@login_required
@require_POST
def pin_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.pin_confirm(actor=request.user, station_id=pk)
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    if request.headers.get("HX-Request"):
        return render(request, "mynacard/_desk_panel.html", _panel_context(request))
    return redirect(request.POST.get("next") or reverse("mynacard:desk"))


@login_required
@require_POST
def attach_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        read = services.card_read_attach(actor=request.user, card_read_id=pk, case_id=int(request.POST.get("case", 0)))
    except (ValidationError, PermissionDenied, ValueError) as exc:
        _errors(request, exc if not isinstance(exc, ValueError) else ValidationError(_("受付を選んでください。")))
        return redirect("mynacard:desk")
    return redirect("navigation:cases:case", read.case_id)


@login_required
@require_POST
def my_number_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.my_number_request(actor=request.user, station_id=pk, purpose=request.POST.get("purpose", ""))
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.info(request, _("次の読み取りで個人番号も読み取ります。カードを置き直してもらってください。"))
    case_id = request.POST.get("case", "")
    return redirect("navigation:cases:case", int(case_id)) if case_id.isdigit() else redirect("mynacard:desk")


@login_required
@require_POST
def my_number_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a 個人番号 read from the card once, for the purpose given (audited by the selector)."""
    try:
        number = selectors.card_my_number(actor=request.user, card_read_id=pk, purpose=request.POST.get("purpose", ""))
    except PermissionDenied as exc:
        return render(request, "mynacard/_my_number.html", {"error": str(exc)}, status=403)
    response = render(request, "mynacard/_my_number.html", {"number": number})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def case_panel_view(request: HttpRequest, case_id: int) -> HttpResponse:
    persons = selectors.card_panel_for_case(actor=request.user, case_id=case_id)
    identity = (JpkiChallenge.objects.filter(case_id=case_id, purpose=JpkiPurpose.IDENTITY)
                .order_by("-created_at").first())
    template = "mynacard/_case_live.html" if request.GET.get("live") else "mynacard/_case_panel.html"
    return render(request, template, {
        "persons": persons, "case_id": case_id, "identity": identity, "jpki_reasons": JPKI_REASONS,
        "panel": selectors.desk_panel(actor=request.user, counter=request.counter)})


@login_required
@require_POST
def identity_view(request: HttpRequest, case_id: int) -> HttpResponse:
    panel = selectors.desk_panel(actor=request.user, counter=request.counter)
    if not panel.stations:
        messages.error(request, _("この席にカードリーダー端末がありません。"))
    elif case_id not in {c.pk for c in panel.open_cases}:
        raise Http404
    else:
        try:
            services.jpki_challenge_create(actor=request.user, station_id=panel.stations[0].station.pk,
                                           purpose=JpkiPurpose.IDENTITY, case_id=case_id)
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc)
        else:
            messages.info(request, _("端末で利用者証明用電子証明書の暗証番号を入力してもらってください。"))
    return redirect("navigation:cases:case", case_id)


# ---------------------------------------------------------------------------------------------
# Administration: desks, stations (credential shown once), card login policy
# ---------------------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def admin_stations_view(request: HttpRequest) -> HttpResponse:
    stations = selectors.stations_for_admin(actor=request.user)  # raises PermissionDenied for non-admins
    desk_form, station_form = DeskCreateForm(prefix="desk"), StationRegisterForm(prefix="station")
    policy = CardLoginPolicy.objects.first()
    policy_form = PolicyForm(prefix="policy", initial={"roles": policy.required_roles if policy else []})
    issued = None
    action = request.POST.get("action")
    try:
        if action == "desk":
            desk_form = DeskCreateForm(request.POST, prefix="desk")
            if desk_form.is_valid():
                account_services.desk_save(actor=request.user, counter=desk_form.cleaned_data["counter"],
                                           name=desk_form.cleaned_data["name"])
                messages.success(request, _("席を追加しました。"))
                return redirect("mynacard:admin_stations")
        elif action == "station":
            station_form = StationRegisterForm(request.POST, prefix="station")
            if station_form.is_valid():
                issued = services.station_register(actor=request.user, desk_id=station_form.cleaned_data["desk"].pk,
                                                   name=station_form.cleaned_data["name"],
                                                   server=f"{request.scheme}://{request.get_host()}")
                stations = selectors.stations_for_admin(actor=request.user)
        elif action == "revoke":
            services.station_revoke(actor=request.user, station_id=int(request.POST.get("station", 0)))
            messages.success(request, _("端末の資格情報を無効にしました。"))
            return redirect("mynacard:admin_stations")
        elif action == "policy":
            policy_form = PolicyForm(request.POST, prefix="policy")
            if policy_form.is_valid():
                services.card_login_policy_set(actor=request.user, roles=policy_form.cleaned_data["roles"])
                messages.success(request, _("カードでのログインの設定を保存しました。"))
                return redirect("mynacard:admin_stations")
    except ValidationError as exc:
        target = {"desk": desk_form, "station": station_form, "policy": policy_form}.get(action)
        if target is not None and hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                target.add_error(field if field in target.fields else None, errors)
        else:
            _errors(request, exc)
    except ReaderStation.DoesNotExist as exc:
        raise Http404 from exc
    response = render(request, "mynacard/admin_stations.html", {
        "stations": stations, "desk_form": desk_form, "station_form": station_form, "policy_form": policy_form,
        "issued": issued})
    if issued is not None:
        response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# JPKI card steps for staff: second login factor and registering one's own card
# ---------------------------------------------------------------------------------------------
def _card_step(request: HttpRequest, *, purpose: str, template: str) -> HttpResponse:
    stations = list(ReaderStation.objects.filter(is_active=True).select_related("desk__counter"))
    challenge = None
    if request.method == "POST":
        try:
            station_id = int(request.POST.get("station", 0))
            challenge = services.jpki_challenge_create(actor=request.user, station_id=station_id, purpose=purpose)
        except (ValidationError, PermissionDenied, ValueError) as exc:
            _errors(request, exc if not isinstance(exc, ValueError) else ValidationError(_("端末を選んでください。")))
        else:
            request.session[SESSION_CHALLENGE] = challenge.pk
    return render(request, template, {"stations": stations, "challenge": challenge})


@login_required
@require_http_methods(["GET", "POST"])
def card_login_view(request: HttpRequest) -> HttpResponse:
    if request.session.get(SESSION_CARD_OK):
        return redirect("home")
    return _card_step(request, purpose=JpkiPurpose.STAFF_LOGIN, template="mynacard/card_login.html")


@login_required
@require_http_methods(["GET", "POST"])
def my_card_view(request: HttpRequest) -> HttpResponse:
    return _card_step(request, purpose=JpkiPurpose.STAFF_REGISTER, template="mynacard/my_card.html")


@login_required
@require_GET
def card_login_status_view(request: HttpRequest) -> HttpResponse:
    """Polled by htmx while the staff member uses their card at the station."""
    challenge = JpkiChallenge.objects.filter(pk=request.session.get(SESSION_CHALLENGE), user=request.user).first()
    if challenge is None:
        raise Http404
    if challenge.completed_at and challenge.succeeded and challenge.purpose == JpkiPurpose.STAFF_LOGIN:
        request.session[SESSION_CARD_OK] = True
        request.session.pop(SESSION_CHALLENGE, None)
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("home")
        return response
    return render(request, "mynacard/_challenge_status.html", {"challenge": challenge, "jpki_reasons": JPKI_REASONS})
