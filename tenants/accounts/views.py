from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.menu import entries_for
from tenants.accounts import selectors, services
from tenants.accounts.forms import (
    ApiClientForm,
    CounterForm,
    CounterSelectForm,
    LoginForm,
    PasswordResetForm,
    StaffForm,
)
from tenants.accounts.models import Counter


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_login(request=request, username=form.cleaned_data["username"],
                                 password=form.cleaned_data["password"])
        except services.LoginError as exc:
            error = exc.message
        else:
            target = request.POST.get("next") or request.GET.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                target = ""
            return redirect("accounts:select_counter" if not target else target)
    status = 200 if not error else (429 if error == services.RATE_LIMITED_ERROR else 401)
    return render(request, "accounts/login.html", {"form": form, "error": error,
                                                   "next": request.GET.get("next", "")}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.staff_logout(request=request)
    messages.info(request, _("ログアウトしました。"))
    return redirect("accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def select_counter_view(request: HttpRequest) -> HttpResponse:
    counters = selectors.counters_for_staff(actor=request.user)
    if not counters.exists():
        messages.warning(request, _("担当の窓口がありません。業務管理者に担当窓口の設定を依頼してください。"))
        return redirect("home")
    remembered = _remembered_counter(request)
    if request.method == "GET" and request.counter is None and remembered is not None:
        # This browser sits at a counter this staff member used last time: start there (one click less);
        # the header's counter link leads back here to change it.
        try:
            counter = services.counter_select(request=request, counter_id=remembered)
        except (ValidationError, PermissionDenied):
            pass
        else:
            messages.success(request, f"「{counter.name}」で業務を開始します（この端末で前回使った窓口）。")
            return redirect(_after_counter())
    preselected = getattr(request.counter, "pk", None) or _likely_counter(request, counters)
    form = CounterSelectForm(request.POST or None, queryset=counters, initial={"counter": preselected})
    if request.method == "POST" and form.is_valid():
        try:
            counter = services.counter_select(request=request, counter_id=form.cleaned_data["counter"].pk)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"「{counter.name}」で業務を開始します。")
            response = redirect(_after_counter())
            response.set_signed_cookie(_counter_cookie(request), str(counter.pk), salt=COUNTER_COOKIE_SALT,
                                       max_age=COUNTER_COOKIE_AGE, httponly=True, samesite="Lax",
                                       secure=settings.SESSION_COOKIE_SECURE)
            return response
    return render(request, "accounts/select_counter.html", {"form": form}, status=400 if form.errors else 200)


def _likely_counter(request: HttpRequest, counters) -> int | None:  # noqa: ANN001
    """First time in this browser: preselect the only counter this staff member may use, else the only one of
    their department, so that 「この窓口で開始」 is one click (nothing is chosen when it is ambiguous)."""
    ids = list(counters.values_list("pk", "department_id")[:50])
    if len(ids) == 1:
        return ids[0][0]
    department = getattr(request.user, "department_id", None)
    mine = [pk for pk, dept in ids if department is not None and dept == department]
    return mine[0] if len(mine) == 1 else None


COUNTER_COOKIE_SALT = "madoguchi.counter"
COUNTER_COOKIE_AGE = 180 * 24 * 3600


def _counter_cookie(request: HttpRequest) -> str:
    """Per staff member and browser (cookies are per municipality host already)."""
    return f"madoguchi_counter_{request.user.pk}"


def _remembered_counter(request: HttpRequest) -> int | None:
    value = request.get_signed_cookie(_counter_cookie(request), default=None, salt=COUNTER_COOKIE_SALT)
    return int(value) if value and str(value).isdigit() else None


def _after_counter() -> str:
    """After choosing a counter, the staff member lands on 窓口受付 (the counter's work), not a generic home."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("navigation:cases:home")
    except NoReverseMatch:
        return reverse("home")


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    entries = entries_for(user=request.user, municipality=request.tenant)
    sections: dict[str, list[dict]] = {}
    for entry in entries:
        sections.setdefault(entry["section"], []).append(entry)
    return render(request, "home.html", {"sections": sections})


@login_required
@require_http_methods(["GET", "POST"])
def counters_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    counters = selectors.counters_for_admin(actor=request.user)
    editing = get_object_or_404(Counter, pk=pk) if pk else None
    initial = {}
    if editing:
        initial = {"name": editing.name, "kind": editing.kind, "department": editing.department,
                   "location": editing.location, "sort_order": editing.sort_order, "is_active": editing.is_active,
                   "staff": list(editing.staff.all())}
    form = CounterForm(request.POST or None, initial=initial or None)
    if request.method == "POST" and form.is_valid():
        try:
            counter = services.counter_save(actor=request.user, counter=editing, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"窓口「{counter.name}」を保存しました。")
            return redirect("accounts:counters")
    return render(request, "accounts/counters.html", {"counters": counters, "form": form, "editing": editing})


@login_required
@require_http_methods(["GET", "POST"])
def api_clients_view(request: HttpRequest) -> HttpResponse:
    clients = selectors.api_clients_for_admin(actor=request.user)
    form = ApiClientForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_client_create(actor=request.user, name=form.cleaned_data["name"],
                                                scopes=form.cleaned_data["scopes"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form = ApiClientForm()
    return render(request, "accounts/api_clients.html", {"clients": clients, "form": form, "issued": issued})


@login_required
@require_POST
def api_client_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(selectors.api_clients_for_admin(actor=request.user), pk=pk)
    services.api_client_revoke(actor=request.user, client=client)
    messages.success(request, f"APIクライアント「{client.name}」を無効にしました。")
    return redirect("accounts:api_clients")


def _form_errors_from(form: StaffForm | PasswordResetForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error("password" if "password" in form.fields else None, exc.messages)


@login_required
@require_http_methods(["GET", "POST"])
def staff_list_view(request: HttpRequest) -> HttpResponse:
    staff = selectors.staff_for_admin(actor=request.user)
    form = StaffForm(request.POST or None, areas=request.tenant.areas)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.staff_create(
                actor=request.user, username=data["username"], password=data["password"],
                display_name=data["display_name"], role=data["role"], department=data["department"],
                areas=data["areas"], may_view_support_measures=data["may_view_support_measures"],
            )
            if not data["is_active"]:
                services.staff_update(actor=request.user, user=user, display_name=user.display_name, role=user.role,
                                      department=user.department, areas=user.areas, is_active=False,
                                      may_view_support_measures=user.may_view_support_measures)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, f"職員「{user}」（{user.username}）を登録しました。")
            return redirect("accounts:staff")
    return render(request, "accounts/staff.html", {"staff": staff, "form": form,
                                                   "locked": selectors.locked_usernames(actor=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def staff_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(selectors.staff_for_admin(actor=request.user), pk=pk)
    action = request.POST.get("action", "save")
    initial = {"display_name": member.display_name, "role": member.role, "department": member.department,
               "areas": member.areas, "is_active": member.is_active,
               "may_view_support_measures": member.may_view_support_measures}
    # Bound only to a POST of that form: on GET ``request.POST`` is an empty QueryDict (not None), which would bind
    # the form to nothing — every field shown empty and invalid, 「有効」 unchecked (re-choosing the role and saving
    # deactivated the member).
    posted = request.method == "POST"
    form = StaffForm(request.POST if posted and action == "save" else None, initial=initial, editing=True,
                     areas=request.tenant.areas)
    password_form = PasswordResetForm(request.POST if posted and action == "password" else None)
    if request.method == "POST":
        try:
            if action == "unlock":
                services.staff_unlock(actor=request.user, user=member)
                messages.success(request, f"「{member}」のロックを解除しました。")
                return redirect("accounts:staff_edit", pk=member.pk)
            if action == "password" and password_form.is_valid():
                services.staff_set_password(actor=request.user, user=member,
                                            password=password_form.cleaned_data["password"])
                messages.success(request, f"「{member}」のパスワードを変更しました。")
                return redirect("accounts:staff_edit", pk=member.pk)
            if action == "save" and form.is_valid():
                services.staff_update(actor=request.user, user=member, **form.cleaned_data)
                messages.success(request, f"「{member}」を保存しました。")
                return redirect("accounts:staff")
        except ValidationError as exc:
            _form_errors_from(password_form if action == "password" else form, exc)
    return render(request, "accounts/staff_edit.html", {
        "member": member, "form": form, "password_form": password_form,
        "locks": selectors.login_locks_for(actor=request.user, user=member)})
