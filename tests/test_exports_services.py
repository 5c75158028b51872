"""Export services and selectors: registry feed, download, outbox, schedules, permissions, audit, isolation."""

import json
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from tests.conftest import PASSWORD, in_tenant

JUKI = {"idou_jiyu": "tennyu", "idou_date": "2024-03-30", "todokede_date": "2024-04-01", "name": "窓口 太郎",
        "name_kana": "マドグチ タロウ", "birth_date": "1990-05-01", "sex": "1", "new_address": "鹿児島市山下町11番1号"}


def submit(n=1, **payload):
    from integration.exports.services import export_record_submit

    rows = []
    for i in range(n):
        data = {**JUKI, "name": f"窓口 太郎{i}", **payload}
        rows.append(export_record_submit(kind="juki_idou", payload=data, source="navigation",
                                         source_id=f"C-{i}", area="juki"))
    return rows


def user(username):
    from tenants.accounts.models import User

    return User.objects.get(username=username)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.LINKAGE_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def kokuho_only(in_a):
    from tenants.accounts.services import staff_create

    return staff_create(actor=None, username="kokuho-only", password=PASSWORD, areas="kokuho")


def audit_events(target_type, action=None):
    from audit.models import AuditEvent

    qs = AuditEvent.objects.filter(target_type=target_type)
    return list(qs.filter(action=action) if action else qs)


# -------------------------------------------------------------------------------------------------
# Feeding the registry
# -------------------------------------------------------------------------------------------------
def test_submit_appends_with_increasing_ids_and_audits(in_a):
    first, second = submit(2)
    assert second.pk > first.pk
    assert first.kind == "juki_idou" and first.area == "juki" and first.payload["name"] == "窓口 太郎0"
    events = audit_events("export_record", "create")
    assert {e.target_id for e in events} >= {str(first.pk), str(second.pk)}
    assert all("窓口" not in str(e.details) for e in events)  # no personal data in the trail


def test_submit_reports_every_problem_and_writes_nothing(in_a):
    from integration.exports.models import ExportRecord
    from integration.exports.services import export_record_submit

    with pytest.raises(ValidationError) as info:
        export_record_submit(kind="juki_idou", payload={"idou_jiyu": "moved", "idou_date": "2024-02-30", "x": 1},
                             source="", source_id="1", area="kokuho")
    errors = info.value.message_dict
    assert set(errors) == {"area", "source", "payload"}
    text = "\n".join(errors["payload"])
    assert "異動事由" in text and "異動日" in text and "「x」" in text and "届出日" in text and "氏名" in text
    assert not ExportRecord.objects.exists()
    with pytest.raises(ValidationError):
        export_record_submit(kind="no_such_kind", payload={}, source="x", source_id="1", area="juki")


def test_submit_refuses_area_outside_the_plan(tenant_b):
    from integration.exports.services import export_record_submit

    with in_tenant(tenant_b), pytest.raises(ValidationError) as info:
        export_record_submit(kind="inkan_haishi", payload={"haishi_jiyu": "shinsei", "haishi_date": "2024-04-01",
                                                           "todokede_date": "2024-04-01", "name": "窓口 花子"},
                             source="forms_builder", source_id="F-1", area="inkan")
    assert "契約" in str(info.value)


def test_submit_refuses_staff_without_the_area(kokuho_only):
    from integration.exports.services import export_record_submit

    with pytest.raises(PermissionDenied):
        export_record_submit(kind="juki_idou", payload=JUKI, source="navigation", source_id="1", area="juki",
                             actor=kokuho_only)


# -------------------------------------------------------------------------------------------------
# Download (on demand)
# -------------------------------------------------------------------------------------------------
def test_download_pending_then_nothing_left_and_range_re_export(in_a):
    from integration.exports import selectors, services
    from integration.exports.models import ExportBatch

    records = submit(3)
    staff = user("staff1")
    exported = services.export_download(actor=staff, municipality=in_a, kind_code="juki_idou")
    text = exported.content.decode()
    assert text.count("\r\n") == 4 and "窓口 太郎2" in text
    assert exported.filename.startswith("juki_idou_462012_") and exported.filename.endswith(".csv")
    batch = exported.batch
    assert (batch.channel, batch.selection, batch.record_count) == ("download", "pending", 3)
    assert (batch.first_record_id, batch.last_record_id) == (records[0].pk, records[-1].pk)
    assert batch.sha256 == __import__("hashlib").sha256(exported.content).hexdigest()
    assert batch.actor == "staff1"
    assert selectors.records_pending(kind_code="juki_idou").count() == 0
    with pytest.raises(services.NothingToExport):
        services.export_download(actor=staff, municipality=in_a, kind_code="juki_idou")

    new = submit(1, name="後から 届いた")[0]
    today = timezone.localdate()
    again = services.export_download(actor=staff, municipality=in_a, kind_code="juki_idou", selection="range",
                                     date_from=today, date_to=today)
    assert again.batch.record_count == 4 and again.batch.params["date_from"] == today.isoformat()
    # a range re-export does not consume the pending record
    assert list(selectors.records_pending(kind_code="juki_idou")) == [new]
    assert ExportBatch.objects.count() == 2
    events = audit_events("export_batch", "export")
    assert {e.target_id for e in events} == {str(batch.pk), str(again.batch.pk)}
    first = next(e for e in events if e.target_id == str(batch.pk))
    assert first.actor == "staff1" and first.area == "juki"
    assert first.details["count"] == 3 and first.details["sha256"] == batch.sha256


def test_download_range_validation(in_a):
    from integration.exports import services

    today = timezone.localdate()
    with pytest.raises(ValidationError) as info:
        services.export_download(actor=user("staff1"), municipality=in_a, kind_code="juki_idou", selection="range",
                                 date_from=today, date_to=today - timedelta(days=1))
    assert "date_to" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.export_download(actor=user("staff1"), municipality=in_a, kind_code="juki_idou", selection="range")
    assert set(info.value.message_dict) == {"date_from", "date_to"}


def test_unencodable_download_changes_nothing(in_a):
    from integration.exports import selectors, services
    from integration.exports.models import ExportBatch
    from integration.exports.render import ExportRenderError

    submit(1)
    bad = submit(1, name="𠮷田 一郎")[0]
    with pytest.raises(ExportRenderError) as info:
        services.export_download(actor=user("staff1"), municipality=in_a, kind_code="juki_idou",
                                 layout_code="legacy_cp932_fixed")
    assert f"受付連番 {bad.pk}" in info.value.messages[0] and "氏名" in info.value.messages[0]
    assert selectors.records_pending(kind_code="juki_idou").count() == 2
    assert not ExportBatch.objects.exists()


def test_staff_without_the_area_is_refused(kokuho_only, in_a):
    from integration.exports import selectors, services

    submit(1)
    with pytest.raises(PermissionDenied):
        services.export_download(actor=kokuho_only, municipality=in_a, kind_code="juki_idou")
    with pytest.raises(PermissionDenied):
        selectors.batches_for(actor=kokuho_only, municipality=in_a, kind_code="juki_idou")
    assert [k.code for k in selectors.kinds_for_staff(actor=kokuho_only, municipality=in_a)] == ["kokuho_shikaku"]
    assert selectors.batches_for(actor=kokuho_only, municipality=in_a) == []


def test_kind_outside_the_plan_is_not_found(tenant_b):
    from integration.exports import selectors

    with in_tenant(tenant_b):
        admin = user("admin")
        with pytest.raises(Http404):
            selectors.kind_for_staff(actor=admin, municipality=tenant_b, kind_code="jidou_teate_nintei")
        codes = {k.code for k in selectors.kinds_for_staff(actor=admin, municipality=tenant_b)}
    assert codes == {"juki_idou", "certificate_request", "kokuho_shikaku"}


# -------------------------------------------------------------------------------------------------
# Outbox and schedules
# -------------------------------------------------------------------------------------------------
def test_outbox_writes_atomically_and_consumes_pending(in_a, outbox):
    from integration.exports import selectors, services

    records = submit(2)
    batch = services.outbox_export(municipality=in_a, kind_code="juki_idou", layout_code="legacy_cp932_fixed")
    folder = Path(outbox) / in_a.schema_name / "outbox"
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [batch.filename]
    assert batch.filename.endswith(f"_{records[0].pk:010d}-{records[1].pk:010d}.txt")
    content = files[0].read_bytes()
    assert __import__("hashlib").sha256(content).hexdigest() == batch.sha256
    assert "窓口 太郎1".encode("cp932") in content and content.endswith(b"\r\n")
    assert batch.channel == "outbox" and batch.record_count == 2 and batch.actor == ""
    assert selectors.records_pending(kind_code="juki_idou").count() == 0
    assert services.outbox_export(municipality=in_a, kind_code="juki_idou") is None
    assert audit_events("export_batch", "export")[-1].details["channel"] == "outbox"


def test_schedule_save_is_admin_only_and_computes_next_run(in_a):
    from integration.exports import services

    with pytest.raises(PermissionDenied):
        services.schedule_save(actor=user("staff1"), municipality=in_a, kind_code="juki_idou", mode="daily",
                               layout_code="standard", time_of_day=time(7, 0))
    with pytest.raises(ValidationError) as info:
        services.schedule_save(actor=user("admin"), municipality=in_a, kind_code="juki_idou", mode="interval",
                               layout_code="nope", interval_minutes=1)
    assert set(info.value.message_dict) == {"interval_minutes", "layout_code"}
    schedule = services.schedule_save(actor=user("admin"), municipality=in_a, kind_code="juki_idou", mode="daily",
                                      layout_code="standard", time_of_day=time(7, 0))
    local = timezone.localtime(schedule.next_run_at)
    assert (local.hour, local.minute) == (7, 0) and schedule.next_run_at > timezone.now()
    assert audit_events("export_schedule", "create")


def test_next_run_daily_and_interval():
    from integration.exports.services import schedule_next_run

    now = timezone.make_aware(datetime(2024, 4, 1, 7, 30, 15))
    assert schedule_next_run(mode="daily", time_of_day=time(8, 0), interval_minutes=None, now=now) == \
        timezone.make_aware(datetime(2024, 4, 1, 8, 0))
    assert schedule_next_run(mode="daily", time_of_day=time(7, 30), interval_minutes=None, now=now) == \
        timezone.make_aware(datetime(2024, 4, 2, 7, 30))
    assert schedule_next_run(mode="interval", time_of_day=None, interval_minutes=5, now=now) == \
        timezone.make_aware(datetime(2024, 4, 1, 7, 35))


def test_due_schedule_runs_via_periodic_job_and_failure_keeps_records(in_a, outbox):
    from integration.exports import services
    from integration.exports.jobs import OUTBOX_JOB
    from integration.exports.models import ExportSchedule
    from tenants import jobs

    assert OUTBOX_JOB in jobs.registered()
    admin = user("admin")
    services.schedule_save(actor=admin, municipality=in_a, kind_code="juki_idou", mode="interval",
                           layout_code="legacy_cp932_fixed", interval_minutes=5)
    now = timezone.now()
    assert not OUTBOX_JOB.due(timezone.localtime(now), in_a)
    later = now + timedelta(minutes=6)
    assert OUTBOX_JOB.due(timezone.localtime(later), in_a)

    submit(1, name="𠮷田 一郎")
    [run] = services.schedule_run_due(municipality=in_a, now=later)
    schedule = ExportSchedule.objects.get(kind="juki_idou")
    assert run.status == "failed" and schedule.last_status == "failed" and "U+20BB7" in schedule.last_message
    assert schedule.next_run_at > later
    assert not (Path(outbox) / in_a.schema_name / "outbox").exists() or not any(
        (Path(outbox) / in_a.schema_name / "outbox").iterdir())

    services.schedule_save(actor=admin, municipality=in_a, kind_code="juki_idou", mode="interval",
                           layout_code="standard", interval_minutes=5)
    submit(1)
    [run] = services.schedule_run_due(municipality=in_a, now=later)
    assert run.status == "ok" and run.batch.record_count == 2
    assert (Path(outbox) / in_a.schema_name / "outbox" / run.batch.filename).exists()
    assert services.schedule_run_due(municipality=in_a, now=later) == []  # next run is in the future


def test_outbox_task_refuses_public_schema(db):
    from integration.exports.tasks import run_outbox
    from madoguchi.tasks import TenantOnlyError

    with pytest.raises(TenantOnlyError):
        run_outbox.apply(throw=True)


# -------------------------------------------------------------------------------------------------
# Cursor paging and tenant isolation
# -------------------------------------------------------------------------------------------------
def test_cursor_paging_never_skips_or_duplicates(in_a):
    from integration.exports import services
    from tenants.accounts.services import api_client_create

    client = api_client_create(actor=user("admin"), name="住民記録", scopes=["linkage:read"]).client
    submit(5)
    seen, after, pages = [], 0, 0
    while True:
        page = services.api_pull(client=client, municipality=in_a, kind_code="juki_idou", after=after, limit=2)
        seen += [r.pk for r in page.records]
        pages += 1
        if pages == 1:
            submit(3)  # records arriving between pages
        after = page.next_cursor
        if not page.has_more:
            break
    assert len(seen) == 8 and len(set(seen)) == 8 and seen == sorted(seen)
    empty = services.api_pull(client=client, municipality=in_a, kind_code="juki_idou", after=after, limit=2)
    assert empty.records == [] and empty.next_cursor == after and empty.batch is None


def test_tenant_b_sees_none_of_a(in_a, tenant_b):
    from integration.exports import selectors, services
    from integration.exports.models import ExportBatch, ExportRecord

    submit(2)
    services.export_download(actor=user("staff1"), municipality=in_a, kind_code="juki_idou")
    with in_tenant(tenant_b):
        assert not ExportRecord.objects.exists() and not ExportBatch.objects.exists()
        admin_b = user("admin")
        assert selectors.batches_for(actor=admin_b, municipality=tenant_b) == []
        assert all(row.pending == 0 for row in selectors.export_overview(actor=admin_b, municipality=tenant_b))


def test_linkage_disclosure_follows_plan_layouts_and_schedules(in_a, tenant_b):
    from integration.exports import selectors, services

    services.schedule_save(actor=user("admin"), municipality=in_a, kind_code="juki_idou", mode="daily",
                           layout_code="standard", time_of_day=time(6, 30))
    entries = {e["kind"]: e for e in selectors.linkage_disclosure(municipality=in_a)}
    juki = entries["juki_idou"]
    assert juki["frequency"] == "毎日 06:30 に送信フォルダへ"
    assert {"異動事由", "新住所"} <= {i["label"] for i in juki["items"]}
    assert {m["code"] for m in juki["methods"]} == {"download", "outbox", "api"}
    assert [layout["code"] for layout in juki["layouts"]] == ["standard", "legacy_cp932_fixed"]
    assert entries["kokuho_shikaku"]["frequency"] == "職員が都度ダウンロード"
    with in_tenant(tenant_b):
        assert {e["kind"] for e in selectors.linkage_disclosure(municipality=tenant_b)} == {
            "juki_idou", "certificate_request", "kokuho_shikaku"}


def test_the_same_record_id_and_layout_code_in_both_cities_stay_apart(in_a, tenant_b):
    """A record, a batch and an imported layout exist in A and B under the same id / code: each city
    hands over and sees only its own."""
    from integration.exports import selectors, services
    from integration.exports.models import ExportBatch, ExportRecord

    (record_a,) = submit(1, name="A市 太郎")
    layout = {"madoguchi_export_layout": 1, "kind": "juki_idou", "code": "mine", "name": "A市の様式",
              "columns": [{"item": "_id"}, {"item": "name"}]}
    services.layout_import(actor=user("admin"), municipality=in_a, content=json.dumps(layout).encode())
    file_a = services.export_download(actor=user("staff1"), municipality=in_a, kind_code="juki_idou",
                                      layout_code="mine")
    with in_tenant(tenant_b):
        ExportRecord.objects.create(pk=record_a.pk, kind="juki_idou", area="juki", source="navigation",
                                    payload={**JUKI, "name": "B区 花子"})
        services.layout_import(actor=user("admin"), municipality=tenant_b,
                               content=json.dumps({**layout, "name": "B区の様式",
                                                   "columns": [{"item": "name"}, {"item": "_id"}]}).encode())
        file_b = services.export_download(actor=user("admin"), municipality=tenant_b, kind_code="juki_idou",
                                          layout_code="mine")
        text_b = file_b.content.decode()
        assert "B区 花子" in text_b and "A市 太郎" not in text_b and text_b.startswith("氏名,")
        kind_b = selectors.kind_require(municipality=tenant_b, kind_code="juki_idou")
        assert [s.name for s in selectors.layouts_for(kind=kind_b) if s.code == "mine"] == ["B区の様式"]
        ExportBatch.objects.filter(pk=file_b.batch.pk).update(id=file_a.batch.pk)
        (batch_b,) = selectors.batches_for(actor=user("admin"), municipality=tenant_b)
        assert batch_b.pk == file_a.batch.pk and batch_b.filename == file_b.filename
    text_a = file_a.content.decode()
    assert "A市 太郎" in text_a and "B区 花子" not in text_a and text_a.startswith("受付連番,")
    assert ExportRecord.objects.get(pk=record_a.pk).payload["name"] == "A市 太郎"
    (batch_a,) = selectors.batches_for(actor=user("admin"), municipality=in_a)
    assert batch_a.filename == file_a.filename
