"""Staff screens for exports: menu entry, list with pending counts, download, schedule, layouts JSON."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import PASSWORD, staff_client
from tests.test_exports_services import submit


def test_home_menu_has_the_export_entry_in_section_renkei(staff_a):
    page = staff_a.get("/").content.decode()
    assert "連携" in page and "受付データの出力" in page and "/linkage/exports/" in page


def test_index_shows_pending_counts_for_the_staff_areas(in_a, staff_a):
    submit(2)
    response = staff_a.get("/linkage/exports/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "住民異動届" in page and "2件" in page and "国保資格取得・喪失届" in page


def test_kind_page_in_japanese_and_download_returns_csv(in_a, staff_a):
    from integration.exports.models import ExportBatch

    submit(2)
    page = staff_a.get("/linkage/exports/juki_idou/").content.decode()
    assert "住民異動届の出力" in page and "未出力の受付データ: 2件" in page and "CSVをダウンロード" in page
    assert "定期出力の設定を保存" not in page  # staff cannot edit schedules
    response = staff_a.post("/linkage/exports/juki_idou/download/", {"selection": "pending", "layout": "standard"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment; filename*=UTF-8''juki_idou_462012_" in response["Content-Disposition"]
    assert response.content.decode().startswith("受付連番,受付日,受付元番号,異動事由")
    batch = ExportBatch.objects.get()
    assert response["X-Export-Batch"] == str(batch.pk) and batch.actor == "staff1"
    again = staff_a.post("/linkage/exports/juki_idou/download/", {"selection": "pending", "layout": "standard"},
                         follow=True)
    assert "出力する「住民異動届」の受付データはありません" in again.content.decode()
    history = staff_a.get("/linkage/exports/juki_idou/").content.decode()
    assert batch.sha256 in history and "未出力の受付データ: 0件" in history


def test_download_errors_are_shown_and_nothing_is_exported(in_a, staff_a):
    from integration.exports.models import ExportBatch

    bad = submit(1, name="𠮷田 一郎")[0]
    response = staff_a.post("/linkage/exports/juki_idou/download/",
                            {"selection": "pending", "layout": "legacy_cp932_fixed"})
    page = response.content.decode()
    assert response.status_code == 400 and f"受付連番 {bad.pk}" in page and "U+20BB7" in page
    response = staff_a.post("/linkage/exports/juki_idou/download/", {"selection": "range", "layout": "standard"})
    assert response.status_code == 400 and "開始日を入力してください" in response.content.decode()
    assert not ExportBatch.objects.exists()


def test_staff_without_the_area_gets_403(in_a):
    from tenants.accounts.services import staff_create

    staff_create(actor=None, username="kokuho-only", password=PASSWORD, areas="kokuho")
    client = staff_client(in_a, "kokuho-only")
    assert client.get("/linkage/exports/juki_idou/").status_code == 403
    assert client.post("/linkage/exports/juki_idou/download/",
                       {"selection": "pending", "layout": "standard"}).status_code == 403
    assert "住民異動届" not in client.get("/linkage/exports/").content.decode()


def test_kind_outside_the_plan_is_404(tenant_b):
    client = staff_client(tenant_b, "admin")
    assert client.get("/linkage/exports/inkan_haishi/").status_code == 404


def test_admin_edits_the_outbox_schedule_staff_cannot(in_a, admin_a, staff_a):
    from integration.exports.models import ExportSchedule

    form = {"is_active": "on", "mode": "daily", "time_of_day": "07:00", "layout_code": "legacy_cp932_fixed"}
    assert staff_a.post("/linkage/exports/juki_idou/schedule/", form).status_code == 403
    response = admin_a.post("/linkage/exports/juki_idou/schedule/", form, follow=True)
    assert "定期出力の設定を保存しました" in response.content.decode()
    schedule = ExportSchedule.objects.get(kind="juki_idou")
    assert schedule.time_of_day.strftime("%H:%M") == "07:00" and schedule.layout_code == "legacy_cp932_fixed"
    bad = admin_a.post("/linkage/exports/juki_idou/schedule/", {**form, "mode": "interval", "time_of_day": ""})
    assert bad.status_code == 400 and "間隔は5〜1440分" in bad.content.decode()


def test_layout_json_export_and_import(in_a, admin_a, staff_a):
    from integration.exports.models import ExportLayout

    exported = admin_a.get("/linkage/exports/juki_idou/layouts/standard.json")
    assert exported.status_code == 200 and "attachment" in exported["Content-Disposition"]
    definition = json.loads(exported.content)
    assert definition["kind"] == "juki_idou" and definition["columns"][0] == {"item": "_id", "header": "受付連番"}
    definition.update(code="city_sjis", name="A市住基（SJIS・和暦）", encoding="cp932", date_style="wareki_kanji")
    upload = SimpleUploadedFile("layout.json", json.dumps(definition, ensure_ascii=False).encode())
    response = admin_a.post("/linkage/exports/layouts/", {"file": upload}, follow=True)
    assert "取り込みました" in response.content.decode()
    assert ExportLayout.objects.filter(code="city_sjis").exists()
    submit(1)
    download = admin_a.post("/linkage/exports/juki_idou/download/", {"selection": "pending", "layout": "city_sjis"})
    assert "令和6年3月30日".encode("cp932") in download.content

    broken = {**definition, "code": "Bad", "date_style": "nope"}
    bad = admin_a.post("/linkage/exports/layouts/",
                       {"file": SimpleUploadedFile("x.json", json.dumps(broken).encode())})
    page = bad.content.decode()
    assert bad.status_code == 400 and "code:" in page and "date_style:" in page
    assert admin_a.post("/linkage/exports/layouts/",
                        {"file": SimpleUploadedFile("x.json", b"{not json")}).status_code == 400
    assert staff_a.get("/linkage/exports/layouts/").status_code == 403


def test_b_screens_show_none_of_a(in_a, tenant_b):
    submit(3)
    staff_client(in_a, "staff1").post("/linkage/exports/juki_idou/download/",
                                      {"selection": "pending", "layout": "standard"})
    page = staff_client(tenant_b, "admin").get("/linkage/exports/juki_idou/").content.decode()
    assert "未出力の受付データ: 0件" in page and "出力の記録はまだありません" in page
