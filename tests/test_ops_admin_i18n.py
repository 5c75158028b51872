"""The ops (vendor) admin in Japanese (issue 17 item 14): every model and field it shows has a Japanese name given
through gettext, not one Django derives from the attribute (`Schema name`, `Created at`)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.utils.functional import Promise

import madoguchi.urls_public  # noqa: F401  (registers the ops admin)
from tests.conftest import CITY_A, PASSWORD

OUR_APPS = ("tenants",)


def _our_models() -> list[type]:
    return [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]


def test_every_ops_admin_model_and_field_of_ours_is_named_in_japanese_through_gettext():
    models = _our_models()
    assert {m.__name__ for m in models} >= {"Municipality", "Domain"}
    from tenants.models import AuditChainKey, AuditCheckpoint, JobDispatch

    for model in [*models, JobDispatch, AuditCheckpoint, AuditChainKey]:
        assert isinstance(model._meta.verbose_name, Promise), model
        for field in model._meta.get_fields():
            if field.auto_created or not hasattr(field, "verbose_name"):
                continue
            label = field.verbose_name
            assert isinstance(label, Promise), (model.__name__, field.name, label)
            assert not str(label).isascii(), (model.__name__, field.name, str(label))


@pytest.fixture
def ops(db, django_user_model) -> Client:  # noqa: ANN001
    operator = django_user_model.objects.create_superuser("operator", "ops@example.jp", PASSWORD)
    client = Client(HTTP_HOST=settings.OPS_HOST)
    client.force_login(operator)
    return client


def test_the_change_form_and_list_show_japanese_names(ops, tenant_a):
    page = ops.get(f"/admin/tenants/municipality/{tenant_a.pk}/change/").content.decode()
    for label in ("スキーマ名", "データ鍵の破棄日時", "登録日時", "更新日時"):
        assert label in page, label
    for english in ("Schema name", "Data key destroyed at", "Created at", "Updated at"):
        assert english not in page, english
    listing = ops.get("/admin/tenants/domain/").content.decode()
    assert "ドメイン名" in listing and "主ドメイン" in listing and "Is primary" not in listing
    assert CITY_A.host in listing


def test_the_ops_admin_pages_have_no_inline_style(ops, tenant_a):
    """django-tenants' own admin index and app list carry inline styles our CSP refuses; ours do not."""
    for url in ("/admin/", "/admin/tenants/municipality/", f"/admin/tenants/municipality/{tenant_a.pk}/change/"):
        page = ops.get(url).content.decode()
        assert "<style" not in page and 'style="' not in page, url


def test_an_operator_signs_in_on_the_ops_host(db, django_user_model):
    """The session-expiry middleware must not look for the staff login on the ops host (it has none)."""
    django_user_model.objects.create_superuser("operator", "ops@example.jp", PASSWORD)
    client = Client(HTTP_HOST=settings.OPS_HOST)
    response = client.post("/admin/login/?next=/admin/", {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
