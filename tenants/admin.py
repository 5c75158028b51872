"""Vendor operations (public schema only): municipalities, domains, plans, provisioning, suspension.

Nothing here reads a municipality's schema: only the public rows are registered.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.inputs import InputDateField
from tenants import services
from tenants.accounts.models import User
from tenants.areas import BusinessArea
from tenants.models import Domain, Municipality
from tenants.tasks import provision_municipality


class AreaFilter(admin.SimpleListFilter):
    title = gettext_lazy("契約業務（プラン）")
    parameter_name = "area"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(BusinessArea.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(areas__contains=[self.value()])
        return queryset


class MunicipalityForm(forms.ModelForm):
    areas = forms.MultipleChoiceField(label=gettext_lazy("契約業務"), choices=BusinessArea.choices,
                                      widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = Municipality
        fields = ["code", "slug", "name", "name_kana", "areas", "contract_start", "contract_end"]
        field_classes = {"contract_start": InputDateField, "contract_end": InputDateField}


class MunicipalityProvisionForm(MunicipalityForm):
    admin_username = forms.CharField(label=gettext_lazy("初期管理者のユーザーID"), initial="admin", max_length=150)
    admin_password = forms.CharField(label=gettext_lazy("初期管理者のパスワード"), widget=forms.PasswordInput,
                                     min_length=12,
                                     help_text=gettext_lazy("12文字以上。英大文字・英小文字・数字・記号のうち3種類以上。"))

    class Meta(MunicipalityForm.Meta):
        fields = ["code", "slug", "name", "name_kana", "areas", "contract_start", "contract_end"]

    def clean_admin_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["admin_password"]
        validate_password(password, User(username=self.data.get("admin_username", "")))
        return password


def municipality_url(*, request: HttpRequest, slug: str) -> str:
    """The municipality's own address as its staff will open it: the scheme and port the operator reached the
    ops host with (a development server on :8000 included), the municipality's host name."""
    port = request.get_port()
    default = (request.scheme == "https" and port == "443") or (request.scheme == "http" and port == "80")
    return f"{request.scheme}://{slug}.{settings.BASE_DOMAIN}{'' if default or not port else ':' + port}/"


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "prefecture", "slug", "status", "plan", "contract_start", "contract_end")
    list_filter = ("status", AreaFilter, "prefecture")
    search_fields = ("code", "name", "name_kana", "slug")
    # Status changes only through the actions (services: audited, guarded, crypto-shredding on termination).
    readonly_fields = ("schema_name", "prefecture", "status", "suspended_reason", "data_key_destroyed_at",
                       "created_at", "updated_at")
    actions = ("suspend_selected", "reactivate_selected", "terminate_selected")
    form = MunicipalityForm

    @admin.display(description=gettext_lazy("プラン（契約業務）"))
    def plan(self, obj: Municipality) -> str:
        return "・".join(obj.area_labels()) or "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).exclude(schema_name="public")

    def has_delete_permission(self, request: HttpRequest, obj: Municipality | None = None) -> bool:
        # Ending a contract is suspension and then termination (crypto-shredding), never a row delete
        # that would orphan the schema.
        return False

    def get_form(self, request: HttpRequest, obj: Municipality | None = None, **kwargs: object) -> type:
        if obj is None:
            kwargs["form"] = MunicipalityProvisionForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Municipality | None = None) -> list[str]:
        if obj is None:
            return list(MunicipalityProvisionForm.Meta.fields) + ["admin_username", "admin_password"]
        return list(MunicipalityForm.Meta.fields) + list(self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Municipality | None = None) -> tuple:
        if obj is None:
            return ()
        return (*self.readonly_fields, "code", "slug")

    def save_model(self, request: HttpRequest, obj: Municipality, form: forms.Form, change: bool) -> None:
        if change:
            editable = [f for f in MunicipalityForm.Meta.fields if f in form.cleaned_data and f not in ("code", "slug")]
            services.municipality_update(municipality=obj, actor=request.user,
                                         **{field: form.cleaned_data[field] for field in editable})
            return
        # Provisioning needs DDL: it runs as the owner role in a Celery task after this request's transaction
        # has committed (the request neither holds the owner's credentials nor waits for the schema).
        data = form.cleaned_data
        payload = {
            "code": data["code"], "slug": data["slug"], "name": data["name"], "name_kana": data.get("name_kana", ""),
            "areas": list(data.get("areas") or []),
            "contract_start": data["contract_start"].isoformat() if data.get("contract_start") else None,
            "contract_end": data["contract_end"].isoformat() if data.get("contract_end") else None,
            "admin_username": data["admin_username"], "admin_password_hash": make_password(data["admin_password"]),
            "actor_id": request.user.pk,
        }
        transaction.on_commit(lambda: provision_municipality.apply_async(kwargs=payload))
        obj._provisioning_requested = True
        url = municipality_url(request=request, slug=data["slug"])
        messages.success(request, format_html(
            _("{name}（{code}）の開設を受け付けました。数十秒後に一覧に表示され、{link} で利用できます"
              "（結果は監査ログにも記録されます）。"),
            name=data["name"], code=data["code"], link=format_html('<a href="{}">{}</a>', url, url)))

    def log_addition(self, request: HttpRequest, obj: Municipality, message: object) -> None:
        if getattr(obj, "_provisioning_requested", False):
            return  # the row is created by the task; the task's audit event records who asked
        super().log_addition(request, obj, message)

    def response_add(self, request: HttpRequest, obj: Municipality, post_url_continue: str | None = None) -> object:
        if getattr(obj, "_provisioning_requested", False):
            return HttpResponseRedirect(reverse("admin:tenants_municipality_changelist"))
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description=gettext_lazy("選択した自治体を利用停止にする"))
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for municipality in queryset:
            services.municipality_suspend(municipality=municipality, reason=_("事業者運用による停止"),
                                          actor=request.user)
        messages.success(request, _("%(n)d 件を利用停止にしました。") % {"n": queryset.count()})

    @admin.action(description=gettext_lazy("選択した自治体を解約する（データ鍵を破棄：元に戻せません）"))
    def terminate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        not_suspended = [m for m in queryset if m.status != Municipality.Status.SUSPENDED]
        if not_suspended:
            messages.error(request, _("解約できるのは利用停止中の自治体だけです（先に利用停止にしてください）：")
                           + "、".join(str(m) for m in not_suspended))
            return
        for municipality in queryset:
            services.municipality_terminate(municipality=municipality, actor=request.user)
        messages.success(request, _("%(n)d 件を解約し、データ鍵を破棄しました。") % {"n": queryset.count()})

    @admin.action(description=gettext_lazy("選択した自治体の利用を再開する"))
    def reactivate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for municipality in queryset:
            services.municipality_reactivate(municipality=municipality, actor=request.user)
        messages.success(request, _("%(n)d 件の利用を再開しました。") % {"n": queryset.count()})


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain", "tenant__name", "tenant__code")
    list_select_related = ("tenant",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).exclude(tenant__schema_name="public")


@admin.register(User)
class OperatorAdmin(BaseUserAdmin):
    """Vendor operators (accounts in the public schema only)."""

    list_display = ("username", "email", "is_active", "is_staff", "is_superuser", "last_login")
    fieldsets = BaseUserAdmin.fieldsets

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Operators are deactivated, never deleted: the user table is shared with tenant apps whose
        # foreign keys the delete cascade would follow into tables that do not exist in public.
        return False
