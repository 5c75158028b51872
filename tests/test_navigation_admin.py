"""Catalogue editor screens, the API, permissions and tenant isolation."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.conf import settings
from django.test import Client

from audit.models import AuditEvent
from navigation import services
from navigation.models import CatalogueVersion, Procedure, Rule
from tenants.accounts.models import User
from tenants.accounts.services import api_client_create
from tests.conftest import CITY_A, CITY_B, in_tenant, staff_client


@pytest.fixture
def catalogue_a(tenant_a):  # noqa: ANN001
    with in_tenant(tenant_a):
        services.catalogue_install_default(effective_from=date(2026, 1, 1))
    return tenant_a


@pytest.fixture
def catalogue_b(tenant_b):  # noqa: ANN001
    with in_tenant(tenant_b):
        services.catalogue_install_default(effective_from=date(2026, 1, 1))
    return tenant_b


def test_editor_is_for_municipal_admins_only(catalogue_a):  # noqa: ANN001
    admin = staff_client(catalogue_a, "admin")
    body = admin.get("/navi/admin/").content.decode()
    assert "手続カタログの編集" in body and "第1版" in body and "現在適用中" in body
    assert "手続カタログの編集" in admin.get("/").content.decode()
    staff = staff_client(catalogue_a, "staff1")
    assert "手続カタログの編集" not in staff.get("/").content.decode()
    assert staff.get("/navi/admin/").status_code == 403
    assert staff.get("/navi/admin/procedures/").status_code == 403
    assert staff.post("/navi/admin/publish/", {"effective_from": "2026-12-01"}).status_code == 403
    assert staff.post("/navi/admin/try/", {"events": ["tennyu"], "on": "2026-06-01"}).status_code == 403
    assert staff.get("/navi/admin/export/").status_code == 403
    with in_tenant(catalogue_a):
        assert CatalogueVersion.objects.count() == 1


def test_edit_a_rule_with_validation_errors_shown_on_the_field(catalogue_a):  # noqa: ANN001
    admin = staff_client(catalogue_a, "admin")
    with in_tenant(catalogue_a):
        rule = Rule.objects.get(code="kaigo_shutoku.age65")
    url = f"/navi/admin/rules/{rule.pk}/"
    page = admin.get(url).content.decode()
    assert "使える変数" in page and "person.age" in page and "試す（下書きで判定）" in page
    form = {"code": rule.code, "procedure": "kaigo_shutoku", "scope": "person", "order": 1,
            "condition": json.dumps({"and": [{"var": "person.subject"}, {">=": [{"var": "person.agge"}, 65]}]}),
            "reason": "{person.name}さんは65歳以上です。"}
    response = admin.post(url, form)
    body = response.content.decode()
    assert response.status_code == 400 and 'aria-invalid="true"' in body
    assert "未知の変数「person.agge」" in body and "condition.and[1].&gt;=[0].var" in body
    broken = admin.post(url, {**form, "condition": "{\"and\": ["}).content.decode()
    assert "JSONとして読めません" in broken
    ok = admin.post(url, {**form, "condition": json.dumps({">=": [{"var": "person.age"}, 64]})})
    assert ok.status_code == 302
    with in_tenant(catalogue_a):
        rule.refresh_from_db()
        assert rule.condition == {">=": [{"var": "person.age"}, 64]}
        assert AuditEvent.objects.filter(action="update", target_type="catalogue_rule", target_id=rule.code).exists()
    assert "未公開の変更があります" in admin.get("/navi/admin/").content.decode()


def test_try_it_panel_runs_the_draft_and_the_rule_being_edited(catalogue_a):  # noqa: ANN001
    admin = staff_client(catalogue_a, "admin")
    persons = [{"key": "g", "name": "祖母", "birth_date": "1950-01-01", "relationship": "世帯主"},
               {"key": "c", "name": "孫", "birth_date": "2016-09-01", "relationship": "子の子"}]
    response = admin.post("/navi/admin/try/", {
        "try-events": ["tennyu"], "try-on": "2026-06-01", "try-persons": json.dumps(persons, ensure_ascii=False),
        "try-answers": json.dumps({"case": {"inkan_wish_any": False}, "persons": {"g": {"care_certified": False}}}),
        "condition": json.dumps({">=": [{"var": "person.age"}, 65]}), "scope": "person"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<td>祖母</td><td>該当</td>" in body and "<td>孫</td><td>非該当</td>" in body
    assert "後期高齢者医療の加入" in body and "学齢簿への記載・転入学の手続" in body
    assert "次に尋ねる質問" in body and "parent_public_servant" in body
    bad = admin.post("/navi/admin/try/", {"try-events": ["tennyu"], "try-on": "2026-06-01",
                                          "try-persons": json.dumps([{"key": "x"}])}).content.decode()
    assert "persons[0].birth_date: 生年月日は必須です" in bad


def test_try_it_with_a_mirror_household_is_audited(catalogue_a):  # noqa: ANN001
    from integration.models import Resident

    with in_tenant(catalogue_a):
        Resident.objects.create(atena_no="T1", household_no="HT", name="試験 一郎", birth_date=date(1950, 5, 5),
                                sex="1", relationship="世帯主")
    admin = staff_client(catalogue_a, "admin")
    body = admin.post("/navi/admin/try/", {"try-events": ["tenshutsu"], "try-on": "2026-06-01",
                                           "try-household_no": "HT",
                                           "try-answers": '{"case": {"moving_destination": "domestic"}}'})
    body = body.content.decode()
    assert "転出届" in body and "試験 一郎" in body
    with in_tenant(catalogue_a):
        assert AuditEvent.objects.filter(action="view", target_type="household", target_id="HT").exists()


def test_publish_from_the_screen_creates_a_new_version(catalogue_a):  # noqa: ANN001
    admin = staff_client(catalogue_a, "admin")
    with in_tenant(catalogue_a):
        procedure = Procedure.objects.get(code="kokuho_kanyu")
    form = admin.get(f"/navi/admin/procedures/{procedure.pk}/")
    assert "国民健康保険の加入" in form.content.decode()
    response = admin.post(f"/navi/admin/procedures/{procedure.pk}/", {
        "code": "kokuho_kanyu", "name": "国民健康保険の加入（資格取得）", "area": "kokuho",
        "events": ["tennyu", "shussei", "shibou"], "counter": "保険年金窓口 12番", "order": 190,
        "documents": "本人確認書類\n資格喪失証明書"})
    assert response.status_code == 302
    today = date.today().isoformat()
    confirm = admin.post("/navi/admin/publish/", {"effective_from": today, "note": "窓口番号の変更"}).content.decode()
    assert "公開の確認" in confirm and "国民健康保険の加入（資格取得）" in confirm
    # the fields that changed, in Japanese, in the form's order
    assert "：名称・表示順・異動事由・職員向けの案内・持ち物・担当窓口・担当部署" in confirm
    with in_tenant(catalogue_a):
        assert CatalogueVersion.objects.count() == 1  # nothing published before the confirmation
    # no counter of the municipality serves 「保険年金窓口 12番」 yet: refused, naming it and its procedure
    refused = admin.post("/navi/admin/publish/", {"effective_from": today, "note": "窓口番号の変更", "confirm": "1"},
                         follow=True).content.decode()
    assert "担当窓口「保険年金窓口 12番」に対応する窓口がありません（手続：kokuho_kanyu）" in refused
    home = admin.get("/navi/admin/").content.decode()
    assert "保険年金窓口 12番" in home and "対応する窓口がありません（公開できません）" in home
    with in_tenant(catalogue_a):
        from tenants.accounts.models import Counter

        counter = Counter.objects.create(name="国保 12番")
    mapped = admin.post("/navi/admin/counters/", {"catalogue_counter": "保険年金窓口 12番", "counter": counter.pk},
                        follow=True).content.decode()
    assert "担当窓口「保険年金窓口 12番」の対応を保存しました。" in mapped
    published = admin.post("/navi/admin/publish/", {"effective_from": today, "note": "窓口番号の変更", "confirm": "1"},
                           follow=True).content.decode()
    assert "第2版を公開しました" in published
    with in_tenant(catalogue_a):
        v2 = CatalogueVersion.objects.get(number=2)
        item = next(p for p in v2.snapshot["procedures"] if p["code"] == "kokuho_kanyu")
        assert item["counter"] == "保険年金窓口 12番" and item["documents"] == ["本人確認書類", "資格喪失証明書"]
        v1 = CatalogueVersion.objects.get(number=1)
        assert next(p for p in v1.snapshot["procedures"] if p["code"] == "kokuho_kanyu")["counter"] == "保険年金窓口"


def test_b_cannot_see_or_edit_a_catalogue_draft(catalogue_a, catalogue_b):  # noqa: ANN001
    admin_a = staff_client(catalogue_a, "admin")
    admin_a.post("/navi/admin/procedures/new/", {"code": "a_only_procedure", "name": "A市独自の手続",
                                                  "area": "juki", "events": ["tennyu"], "order": 5})
    with in_tenant(catalogue_a):
        a_item = Procedure.objects.get(code="a_only_procedure")
    admin_b = staff_client(catalogue_b, "admin")
    assert "A市独自の手続" not in admin_b.get("/navi/admin/procedures/").content.decode()
    assert "A市独自の手続" in admin_a.get("/navi/admin/procedures/").content.decode()
    with in_tenant(catalogue_b):
        assert not Procedure.objects.filter(code="a_only_procedure").exists()
        b_has_same_pk = Procedure.objects.filter(pk=a_item.pk, area__in=catalogue_b.areas).exists()
    response = admin_b.post(f"/navi/admin/procedures/{a_item.pk}/", {
        "code": "a_only_procedure", "name": "書換え", "area": "juki", "events": ["tennyu"], "order": 5})
    assert response.status_code == (302 if b_has_same_pk else 404)
    with in_tenant(catalogue_a):
        assert Procedure.objects.get(pk=a_item.pk).name == "A市独自の手続"
    # The A admin's session is not valid on B's host. B's admin gets A's password hash, so that the
    # refusal can only come from the tenant separation (sessions per schema, bound to their schema),
    # not from a credential that differs.
    with in_tenant(catalogue_a):
        password_a = User.objects.get(username="admin").password
    with in_tenant(catalogue_b):
        User.objects.filter(username="admin").update(password=password_a)
    cookie = admin_a.cookies[settings.SESSION_COOKIE_NAME].value
    at_a = Client(HTTP_HOST=CITY_A.host)
    at_a.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert at_a.get("/navi/admin/").status_code == 200  # the cookie is a live admin session at A
    at_b = Client(HTTP_HOST=CITY_B.host)
    at_b.cookies[settings.SESSION_COOKIE_NAME] = cookie
    refused = at_b.get("/navi/admin/")
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/login/")


def test_plan_without_kaigo_never_shows_its_procedures(catalogue_b):  # noqa: ANN001
    admin_b = staff_client(catalogue_b, "admin")
    listing = admin_b.get("/navi/admin/procedures/").content.decode()
    assert "介護保険 第1号被保険者の資格取得" not in listing and "契約していない業務" in listing
    data = staff_client(catalogue_b, "staff1").get("/api/v1/navigation/catalogue/").json()
    assert {p["area"] for p in data["procedures"]} == {"juki", "kokuho"}


def test_api_catalogue_and_determination_for_api_clients_with_scope(catalogue_a):  # noqa: ANN001
    with in_tenant(catalogue_a):
        admin = User.objects.get(username="admin")
        token = api_client_create(actor=admin, name="住民向けナビ", scopes=["navigation:read"]).token
        other = api_client_create(actor=admin, name="連携", scopes=["linkage:write"]).token
    api = Client(HTTP_HOST=CITY_A.host)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    catalogue = api.get("/api/v1/navigation/catalogue/?on=2026-06-01", **auth).json()
    assert catalogue["version"]["number"] == 1 and len(catalogue["events"]) == 8
    assert any(p["code"] == "kaigo_shutoku" for p in catalogue["procedures"])
    assert api.get("/api/v1/navigation/catalogue/", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 403
    assert api.get("/api/v1/navigation/catalogue/").status_code in (401, 403)
    body = {"events": ["tennyu"], "on": "2026-06-01",
            "persons": [{"key": "a", "name": "転入 太郎", "birth_date": "1955-01-01", "relationship": "世帯主"}],
            "answers": {"case": {"any_employee_insurance": False}}}
    first = api.post("/api/v1/navigation/determination/", body, content_type="application/json", **auth).json()
    assert first["complete"] is False
    # every question that can still change the result, in asking order (case-wide before per-person)
    assert [(q["code"], q["person_key"]) for q in first["questions"]] == [
        ("disability_certified", "a"), ("care_certified", "a"), ("inkan_wish_any", None), ("inkan_wish", "a"),
        ("card_holding_any", None), ("card_holding", "a"), ("student_special", "a")]
    body["answers"] = {"case": {"any_employee_insurance": False, "inkan_wish_any": "いいえ",
                                "card_holding_any": True},
                       "persons": {"a": {"disability_certified": "no", "care_certified": False,
                                         "card_holding": "はい", "student_special": "いいえ"}}}
    final = api.post("/api/v1/navigation/determination/", body, content_type="application/json", **auth).json()
    assert final["complete"] is True and final["questions"] == []
    assert {p["procedure"]["code"] for p in final["procedures"]} == {
        "juki_tennyu", "juki_card_henkou", "kokuho_kanyu", "kokuho_kourei_jukyusha", "kaigo_shutoku"}
    reasons = next(p for p in final["procedures"] if p["procedure"]["code"] == "kaigo_shutoku")["reasons"]
    assert reasons == ["転入 太郎さんは71歳（65歳以上）です。"]
    bad = api.post("/api/v1/navigation/determination/", {**body, "events": ["nope"], "answers": {
        "case": {"funeral_held": "maybe"}}}, content_type="application/json", **auth)
    assert bad.status_code == 400
    assert any("nope" in e for e in bad.json()["errors"])
    assert any("funeral_held" in e for e in bad.json()["errors"])
    mirror = api.post("/api/v1/navigation/determination/", {"events": ["tennyu"], "household_no": "H1"},
                      content_type="application/json", **auth)
    assert mirror.status_code == 403


def test_api_is_documented_in_openapi(tenant_a):  # noqa: ANN001
    schema = Client(HTTP_HOST=CITY_A.host).get("/api/schema/").content.decode()
    assert "/api/v1/navigation/determination/" in schema and "/api/v1/navigation/catalogue/" in schema
    assert "必要な手続の判定と次の質問" in schema
