"""The layout editor's server side (R2.7): saving the draft validates every field (unknown binding, a box outside
the page, numbers that are not numbers → a Japanese message naming the field, nothing saved), only municipal
admins edit, every save is audited, municipality B cannot read or save A's template of the same code, and the
binding picker and live preview resolve bindings for the sample household."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.conftest import in_tenant, staff_client

A4 = (210, 297)


def text_field(key: str = "name", label: str = "氏名", binding: str = "person.name", **box: object) -> dict:
    spec = {"type": "text", "key": key, "label": label, "binding": binding, "x": 20, "y": 30, "w": 60, "h": 8}
    spec.update(box)
    return spec


def make_template(code: str = "editor_t", fields: list | None = None, name: str = "エディタ試験様式"):
    """A template with a published version 1 (effective 2000-01-01), in the current schema."""
    from django.utils import timezone

    from forms_builder.models import FormTemplate, FormVersion, VersionStatus

    template = FormTemplate.objects.create(code=code, name=name, kind="application")
    FormVersion.objects.create(template=template, number=1, status=VersionStatus.PUBLISHED,
                               effective_from=date(2000, 1, 1), published_at=timezone.now(),
                               fields=fields if fields is not None else [text_field()])
    return template


@pytest.fixture
def admin(in_a):
    from tenants.accounts.models import User

    return User.objects.get(username="admin")


@pytest.fixture
def template(in_a):
    return make_template()


def _versions(template) -> list[tuple]:  # noqa: ANN001
    return list(template.versions.order_by("pk").values_list("pk", "status", "fields"))


# ---------------------------------------------------------------------------------------------
# Save validation (services.template_draft_save, which the editor's save calls)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (text_field(binding="person.nosuch"), "「本人（この様式の人）」に項目「nosuch」はありません"),
        (text_field(binding="nowhere.name"), "データの出どころ「nowhere」はありません"),
        (text_field(binding="person.birth_date|nosuch"), "変換「nosuch」はありません"),
        (text_field(binding=""), "データの出どころ（binding）を指定してください"),
        (text_field(x=180), "用紙（210×297 mm）の外にはみ出しています"),  # 180 + 60 > 210
        (text_field(y=292), "用紙（210×297 mm）の外にはみ出しています"),  # 292 + 8 > 297
        (text_field(x=-0.5), "用紙（210×297 mm）の外にはみ出しています"),
        (text_field(x="20"), "x（mm）を数値で指定してください"),
        (text_field(y=None), "y（mm）を数値で指定してください"),
        (text_field(w=True), "w（mm）を数値で指定してください"),
        (text_field(h=float("nan")), "h（mm）を数値で指定してください"),
        (text_field(x=math.inf), "x（mm）を数値で指定してください"),
        (text_field(w=0), "幅と高さは0より大きくしてください"),
        (text_field(h=-3), "幅と高さは0より大きくしてください"),
        (text_field(size="大"), "文字の大きさは4〜72ポイント"),
        (text_field(size=float("nan")), "文字の大きさは4〜72ポイント"),
    ],
)
def test_a_bad_field_is_refused_naming_the_field_and_nothing_is_saved(admin, template, spec, expected):
    from forms_builder.services import template_draft_save

    fields = [text_field(key="ok", label="正しい欄", y=10), spec]
    before = _versions(template)
    with pytest.raises(ValidationError) as caught:
        template_draft_save(actor=admin, template=template, fields=fields)
    text = " ".join(caught.value.messages)
    assert "項目2「氏名」" in text and expected in text, text
    assert "正しい欄" not in text
    assert _versions(template) == before  # no draft created


def test_every_bad_field_is_named_at_once_and_an_existing_draft_is_left_as_it_was(admin, template):
    from forms_builder.services import template_draft_save

    good = [text_field(x=25)]
    draft = template_draft_save(actor=admin, template=template, fields=good)
    bad = [text_field(key="a", label="一", binding="person.nosuch"), text_field(key="b", label="二", x=200),
           text_field(key="c", label="三", y="abc")]
    with pytest.raises(ValidationError) as caught:
        template_draft_save(actor=admin, template=template, fields=bad)
    text = " ".join(caught.value.messages)
    assert "項目1「一」" in text and "項目2「二」" in text and "項目3「三」" in text
    draft.refresh_from_db()
    assert draft.fields == good


def test_a_duplicated_key_is_refused_so_a_copy_needs_its_own_key(admin, template):
    from forms_builder.services import template_draft_save

    with pytest.raises(ValidationError) as caught:
        template_draft_save(actor=admin, template=template, fields=[text_field(), text_field(y=50)])
    assert "キー「name」が重複しています" in " ".join(caught.value.messages)
    draft = template_draft_save(actor=admin, template=template,
                                fields=[text_field(), text_field(key="name_copy", y=50)])
    assert [f["binding"] for f in draft.fields] == ["person.name", "person.name"]


def test_only_municipal_admins_save_or_preview(template, in_a):
    from forms_builder.services import template_draft_save, template_sample_preview
    from tenants.accounts.models import User

    clerk = User.objects.get(username="staff1")
    with pytest.raises(PermissionDenied):
        template_draft_save(actor=clerk, template=template, fields=[text_field(x=40)])
    with pytest.raises(PermissionDenied):
        template_sample_preview(actor=clerk, template=template)
    assert template.versions.count() == 1


# ---------------------------------------------------------------------------------------------
# The editor's endpoints
# ---------------------------------------------------------------------------------------------
def _url(code: str, part: str = "") -> str:
    return f"/forms/templates/{code}/editor/{part}"


def _editor_data(page) -> dict:  # noqa: ANN001
    import re

    found = re.search(r'<script id="fe-data" type="application/json">(.*?)</script>', page.content.decode(), re.S)
    return json.loads(found.group(1))


def _post(client, url: str, body: object):  # noqa: ANN001
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_editor_saves_the_draft_and_audits_it(tenant_a, template):
    from audit.models import AuditEvent
    from forms_builder.selectors import draft_of, version_in_force

    client = staff_client(tenant_a, "admin")
    page = client.get(_url(template.code))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="fe-data"' in body and "vendor/interactjs/interact.min.js" in body
    assert "style=" not in body and "<script>" not in body  # strict CSP: nothing inline
    moved = [text_field(x=42.5, y=61)]
    response = _post(client, _url(template.code, "save/"), {"fields": moved})
    assert response.status_code == 200, response.content
    with in_tenant(tenant_a):
        draft = draft_of(template=template)
        assert draft.fields == moved
        assert version_in_force(template=template).fields == [text_field()]  # published stays as it was
        event = AuditEvent.objects.filter(target_type="form_template", target_id=str(template.pk)).latest("pk")
        assert event.action == "update" and event.actor == "admin" and event.details["change"] == "draft"


def test_a_refused_save_answers_400_naming_the_field_and_changes_nothing(tenant_a, template):
    from audit.models import AuditEvent

    client = staff_client(tenant_a, "admin")
    with in_tenant(tenant_a):
        before, events = _versions(template), AuditEvent.objects.count()
    response = _post(client, _url(template.code, "save/"),
                     {"fields": [text_field(binding="person.nosuch"), text_field(key="b", label="住所", w=500)]})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any("項目1「氏名」" in e and "nosuch" in e for e in errors)
    assert any("項目2「住所」" in e and "はみ出し" in e for e in errors)
    for body in ({"fields": "x"}, [1], {"fields": [1]}, {"fields": [], "page_size": ["A4"]}):
        assert _post(client, _url(template.code, "save/"), body).status_code == 400
    bad_json = client.post(_url(template.code, "save/"), data="[1, NaN]", content_type="application/json")
    assert bad_json.status_code == 400 and "「項目」" in bad_json.json()["errors"][0]
    with in_tenant(tenant_a):
        assert _versions(template) == before and AuditEvent.objects.count() == events


def test_a_clerk_cannot_open_or_save_the_editor(tenant_a, template):
    client = staff_client(tenant_a, "staff1")
    assert client.get(_url(template.code)).status_code == 403
    assert _post(client, _url(template.code, "save/"), {"fields": [text_field(x=40)]}).status_code == 403
    assert _post(client, _url(template.code, "preview/"), {"fields": [text_field(x=40)]}).status_code == 403
    with in_tenant(tenant_a):
        assert template.versions.count() == 1


def test_municipality_b_cannot_read_or_save_a_s_template_of_the_same_code(tenant_a, tenant_b):
    with in_tenant(tenant_a):
        a_template = make_template(code="editor_iso", fields=[text_field(label="A市の欄", x=11)])
        only_a = make_template(code="editor_only_a", fields=[text_field(label="A市だけ")])
    with in_tenant(tenant_b):
        make_template(code="editor_iso", fields=[text_field(label="B区の欄", x=99)])
    client_b = staff_client(tenant_b, "admin")
    page = client_b.get(_url("editor_iso"))
    assert page.status_code == 200
    assert [f["label"] for f in _editor_data(page)["fields"]] == ["B区の欄"]
    assert client_b.get(_url(only_a.code)).status_code == 404
    assert _post(client_b, _url(only_a.code, "save/"), {"fields": [text_field()]}).status_code == 404
    assert _post(client_b, _url(only_a.code, "preview/"), {"fields": [text_field()]}).status_code == 404
    saved = _post(client_b, _url("editor_iso", "save/"), {"fields": [text_field(label="B区が保存", x=5)]})
    assert saved.status_code == 200
    with in_tenant(tenant_a):
        assert [v[2] for v in _versions(a_template)] == [[text_field(label="A市の欄", x=11)]]
        assert only_a.versions.count() == 1
    with in_tenant(tenant_b):
        from forms_builder.models import FormTemplate
        from forms_builder.selectors import draft_of

        assert draft_of(template=FormTemplate.objects.get(code="editor_iso")).fields[0]["label"] == "B区が保存"


def test_publishing_the_editor_draft_follows_the_version_life_cycle(tenant_a, template):
    from forms_builder.models import FormVersion
    from forms_builder.selectors import draft_of, version_in_force

    client = staff_client(tenant_a, "admin")
    assert _post(client, _url(template.code, "save/"), {"fields": [text_field(x=33)]}).status_code == 200
    response = client.post(f"/forms/templates/{template.code}/",
                           {"action": "publish", "effective_from": date.today().isoformat()})
    assert response.status_code == 302
    with in_tenant(tenant_a):
        current = version_in_force(template=template)
        assert current.number == 2 and current.fields[0]["x"] == 33 and draft_of(template=template) is None
        with pytest.raises(ValueError):
            FormVersion.objects.get(pk=current.pk).save()
    # The next edit starts a new draft from version 2; version 2 does not change.
    assert _post(client, _url(template.code, "save/"), {"fields": [text_field(x=44)]}).status_code == 200
    with in_tenant(tenant_a):
        assert FormVersion.objects.get(pk=current.pk).fields[0]["x"] == 33


# ---------------------------------------------------------------------------------------------
# Sample household: the picker's values and the live preview
# ---------------------------------------------------------------------------------------------
def test_the_picker_shows_the_sample_household_s_values_through_the_real_sources(in_a):
    from forms_builder import sample

    household = sample.household()
    rows = {row["binding"]: row for row in sample.catalogue(household)}
    assert rows["person.name"]["sample"] == "窓口 太郎"
    assert rows["head.name"]["sample"] == "窓口 太郎"
    assert rows["person.birth_date"]["sample"] == "1980-05-01"
    assert rows["office.municipality"]["sample"] == in_a.name
    assert rows["input.new_address.town"]["sample"] == "山下町"
    assert sample.value(household, "person.birth_date|wareki") == "昭和55年5月1日"
    assert sample.value(household, "row.name", row=household.persons[2]) == "窓口 一郎"
    assert sample.value(household, "computed.school_grade", row=household.persons[2]) != ""
    assert sample.value(household, "person.nosuch") == ""
    # A source that needs a real case (the card read) shows its field's own sample.
    if "card.name" in rows:
        assert rows["card.name"]["sample"]


def test_the_preview_renders_the_unsaved_fields_with_the_sample_household(tenant_a, template):
    import base64
    import io

    import pdfplumber

    client = staff_client(tenant_a, "admin")
    response = _post(client, _url(template.code, "preview/"), {"fields": [text_field(x=50, y=100)]})
    assert response.status_code == 200
    image = response.json()["image"]
    assert image.startswith("data:image/png;base64,")
    assert base64.b64decode(image.split(",", 1)[1]).startswith(b"\x89PNG")
    pdf = client.post(_url(template.code, "preview/") + "?format=pdf",
                      {"fields": json.dumps([text_field(x=50, y=100)])})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    with pdfplumber.open(io.BytesIO(pdf.content)) as doc:
        words = doc.pages[0].extract_words()
    name = [w for w in words if w["text"].startswith("窓口")]
    assert name, words
    assert abs(name[0]["x0"] - (50 + 0.8) * 72 / 25.4) < 1.5  # the box's x plus the renderer's padding
    invalid = _post(client, _url(template.code, "preview/"), {"fields": [text_field(binding="person.nosuch")]})
    assert invalid.status_code == 200 and invalid.json()["image"] == ""
    assert any("nosuch" in p for p in invalid.json()["problems"])
    with in_tenant(tenant_a):
        assert template.versions.count() == 1  # a preview saves nothing


def test_a_circle_whose_printed_option_was_moved_off_the_page_is_refused(admin, template):
    from forms_builder.services import template_draft_save

    circle = {"type": "circle", "key": "sex", "label": "性別", "binding": "person.sex", "x": 150, "y": 40, "w": 40,
              "h": 8, "options": [{"value": "1", "x": 150, "y": 40, "w": 10, "h": 8},
                                  {"value": "2", "x": 205, "y": 40, "w": 10, "h": 8}]}
    with pytest.raises(ValidationError) as caught:
        template_draft_save(actor=admin, template=template, fields=[circle])
    assert "項目1「性別」：選択肢2が用紙の外にはみ出しています。" in caught.value.messages
    circle["options"][1]["x"] = 170
    assert template_draft_save(actor=admin, template=template, fields=[circle]).fields == [circle]
