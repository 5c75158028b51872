"""Linkage screens and API: admin only, Japanese, tenant-isolated, htmx progress, API upload with scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integration.models import ImportRun, LinkageLayout, Resident
from integration.services import import_submit, layouts_ensure_shipped
from madoguchi.principals import SYSTEM
from tests.conftest import in_tenant, staff_client
from tests.test_integration_import import person, std_csv


@pytest.fixture
def shipped_a(in_a):
    layouts_ensure_shipped()
    return LinkageLayout.objects.get(key="juki_standard_csv")


def test_staff_cannot_open_linkage_screens(tenant_a, shipped_a):
    client = staff_client(tenant_a, "staff1")
    for url in ("/linkage/", "/linkage/layouts/", "/linkage/gaiji/", "/linkage/disclosure/"):
        assert client.get(url).status_code == 403, url


def test_admin_uploads_and_sees_the_result_in_japanese(tenant_a, shipped_a, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client = staff_client(tenant_a, "admin")
    page = client.get("/linkage/")
    assert page.status_code == 200 and "ファイルを取り込む" in page.content.decode()
    upload = SimpleUploadedFile("juki.csv", std_csv([person(1), person(2, sex="7")]), content_type="text/csv")
    response = client.post("/linkage/", {"layout": shipped_a.pk, "file": upload})
    assert response.status_code == 302
    with in_tenant(tenant_a):
        run = ImportRun.objects.get()
    # eager in tests: the task ran on commit; in this rolled-back test run it explicitly
    if run.status == ImportRun.Status.QUEUED:
        from integration.services import import_execute

        with in_tenant(tenant_a):
            run = import_execute(actor=SYSTEM, run_id=run.pk)
    body = client.get(f"/linkage/runs/{run.pk}/").content.decode()
    assert "エラー" in body and "3" in body and "性別" in body and "コード「7」はコード表（sex）にありません" in body
    assert "データは変更していません" in body
    fragment = client.get(f"/linkage/runs/{run.pk}/progress/")
    assert fragment.status_code == 200 and fragment["HX-Refresh"] == "true"


def test_progress_fragment_polls_while_running(tenant_a, shipped_a):
    with in_tenant(tenant_a):
        run = import_submit(actor=SYSTEM,
                            layout=shipped_a, source=std_csv([person(1)]), file_name="a.csv", run_async=True)
        ImportRun.objects.filter(pk=run.pk).update(status="validating", rows_total=10, rows_validated=5)
    client = staff_client(tenant_a, "admin")
    # a worker is executing it: it holds the run's advisory lock in its own session
    import psycopg

    from integration.services import RUN_LOCK_CLASS, RUN_LOCK_SQL, run_lock_key
    from tests.conftest import _test_database_url

    with psycopg.connect(_test_database_url(), autocommit=True) as worker:
        worker.execute(RUN_LOCK_SQL.format(function="pg_advisory_lock"),
                       [RUN_LOCK_CLASS, run_lock_key(run, schema_name=tenant_a.schema_name)])
        body = client.get(f"/linkage/runs/{run.pk}/progress/").content.decode()
        assert 'hx-trigger="every 1s"' in body and "<progress" in body and "検証済み 5 行" in body
        assert "<script" not in body
    # the worker is gone: the screen says so and stops polling
    body = client.get(f"/linkage/runs/{run.pk}/progress/").content.decode()
    assert "中断の可能性" in body and "hx-trigger" not in body


def test_tenant_isolation_of_runs_rows_and_layouts(tenant_a, tenant_b, shipped_a):
    with in_tenant(tenant_a):
        run = import_submit(actor=SYSTEM,
                            layout=shipped_a, source=std_csv([person(1)]), file_name="a.csv", run_async=False)
        assert Resident.objects.count() == 1
    with in_tenant(tenant_b):
        assert not ImportRun.objects.filter(pk=run.pk).exists()
        assert not Resident.objects.exists()
        assert not LinkageLayout.objects.filter(pk=shipped_a.pk, key=shipped_a.key).exists()
    client_b = staff_client(tenant_b, "admin")
    assert client_b.get(f"/linkage/runs/{run.pk}/").status_code == 404
    assert client_b.get(f"/linkage/runs/{run.pk}/progress/").status_code == 404
    assert client_b.post(f"/linkage/runs/{run.pk}/retry/").status_code == 404
    assert "a.csv" not in client_b.get("/linkage/").content.decode()
    with in_tenant(tenant_a):
        LinkageLayout.objects.filter(key="juki_legacy_fixed").update(name="A市だけの名前")
    # B has its own shipped layouts (juki): the same key shows B's layout, never A's edit.
    page_b = client_b.get("/linkage/layouts/juki_legacy_fixed/")
    assert page_b.status_code == 200 and "A市だけの名前" not in page_b.content.decode()
    with in_tenant(tenant_a):
        assert ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.SUCCEEDED).exists()
        assert ImportRun.objects.count() == 1
    # A's API token at B's host is refused and creates nothing there.
    from django.test import Client

    token = _api_token(tenant_a, ["linkage:write"])
    at_b = Client(HTTP_HOST="testb.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    upload = SimpleUploadedFile("juki.csv", std_csv([person(1)]), content_type="text/csv")
    assert at_b.post("/api/v1/integration/imports/", {"layout": "juki_standard_csv", "file": upload}
                     ).status_code in (401, 403)
    with in_tenant(tenant_b):
        assert not ImportRun.objects.exists()


def test_layout_export_and_import_round_trip(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    exported = client.get("/linkage/layouts/juki_standard_csv/export/")
    assert exported.status_code == 200 and exported["Content-Disposition"].endswith('juki_standard_csv.json"')
    data = exported.content.decode().replace("juki_standard_csv", "my_copy")
    data = data.replace("住民記録（標準CSV・全件）", "写し")
    response = client.post("/linkage/layouts/", {"file": SimpleUploadedFile("l.json", data.encode())})
    assert response.status_code == 302
    with in_tenant(tenant_a):
        copy = LinkageLayout.objects.get(key="my_copy")
        assert copy.columns == shipped_a.columns and copy.name == "写し"
    broken = data.replace('"field": "birth_date"', '"field": "birthday"')
    page = client.post("/linkage/layouts/", {"file": SimpleUploadedFile("l.json", broken.encode())})
    assert "項目「birthday」は取込先「住民」にありません" in page.content.decode()


def test_gaiji_upload_and_code_point_lookup(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    csv_data = "外字コード,UCS,MJ文字図形名,備考\nU+E000,U+20BB7,MJ000000,つちよし\nU+E001,U+845B U+E0102,,\n"
    assert client.post("/linkage/gaiji/", {"upload-file": SimpleUploadedFile("g.csv", csv_data.encode())}
                       ).status_code == 302
    body = client.get("/linkage/gaiji/", {"text": "葛\U000e0102"}).content.decode()
    assert "U+845B U+E0102" in body and "U+20BB7" in body
    bad = client.post("/linkage/gaiji/", {"upload-file": SimpleUploadedFile("g.csv", "外字コード,UCS\nA,B\n".encode())})
    assert "2行目" in bad.content.decode()


def test_disclosure_lists_every_linkage(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    body = client.get("/linkage/disclosure/").content.decode()
    assert "住民記録（標準CSV・全件）" in body and "毎日 02:00" in body and "5 分ごと" in body
    assert "生年月日" in body and "和暦" in body and "資格情報（学齢簿）" in body
    download = client.get("/linkage/disclosure/download/")
    text = download.content.decode("utf-8-sig")
    assert text.startswith("自治体,連携名,方向,方法,対象,形式,頻度,項目,内容")
    assert "支援措置（DV等・緊急）" in text


def test_schedule_late_and_failed_runs_are_flagged(tenant_a, shipped_a):
    from datetime import timedelta

    from django.utils import timezone

    with in_tenant(tenant_a):
        schedule = shipped_a.schedules.get()
        run = import_submit(actor=SYSTEM,
                            layout=shipped_a, source=std_csv([person(1)]), file_name="late.csv", run_async=False,
                            schedule=schedule)
        ImportRun.objects.filter(pk=run.pk).update(deadline=timezone.now() - timedelta(hours=1))
    body = staff_client(tenant_a, "admin").get("/linkage/").content.decode()
    assert "確認が必要な取込があります" in body and "完了期限に間に合いませんでした" in body and "遅延" in body


def _api_token(municipality, scopes):  # noqa: ANN001,ANN202
    import secrets

    from tenants.accounts.models import User
    from tenants.accounts.services import api_client_create

    with in_tenant(municipality):
        admin = User.objects.get(username="admin")
        return api_client_create(actor=admin, name=f"住基システム{secrets.token_hex(2)}", scopes=scopes).token


def test_api_upload_status_and_errors(tenant_a, shipped_a, settings):
    from django.test import Client

    token = _api_token(tenant_a, ["linkage:write"])
    client = Client(HTTP_HOST="testa.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    upload = SimpleUploadedFile("juki.csv", std_csv([person(1), person(1)]), content_type="text/csv")
    response = client.post("/api/v1/integration/imports/", {"layout": "juki_standard_csv", "file": upload})
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    with in_tenant(tenant_a):
        from integration.services import import_execute

        import_execute(actor=SYSTEM, run_id=run_id)
    detail = client.get(f"/api/v1/integration/imports/{run_id}/").json()
    assert detail["status"] == "failed" and detail["errors"][0]["line"] == 3
    assert "重複" in detail["errors"][0]["message"]
    assert client.get("/api/v1/integration/imports/").status_code == 200
    unknown = client.post("/api/v1/integration/imports/", {"layout": "nope", "file": SimpleUploadedFile("a", b"x")})
    assert unknown.status_code == 400


def test_api_requires_scope_and_is_tenant_scoped(tenant_a, tenant_b, shipped_a):
    from django.test import Client

    read_only = _api_token(tenant_a, ["linkage:read"])
    client = Client(HTTP_HOST="testa.localhost", HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert client.get("/api/v1/integration/imports/").status_code == 403
    token = _api_token(tenant_a, ["linkage:write"])
    with in_tenant(tenant_a):
        run = import_submit(actor=SYSTEM,
                            layout=shipped_a, source=std_csv([person(1)]), file_name="a.csv", run_async=False)
    at_b = Client(HTTP_HOST="testb.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert at_b.get(f"/api/v1/integration/imports/{run.pk}/").status_code in (401, 403)
    staff = staff_client(tenant_a, "staff1")
    assert staff.get(f"/api/v1/integration/imports/{run.pk}/").status_code == 403


def test_run_errors_download_as_csv(tenant_a, tenant_b, shipped_a):
    import csv
    import io

    from audit.models import AuditEvent

    with in_tenant(tenant_a):
        run = import_submit(actor=SYSTEM, layout=shipped_a, file_name="bad.csv", run_async=False,
                            source=std_csv([person(1), person(2, sex="7"), person(3, birth_date="2024-02-30")]))
        assert run.status == ImportRun.Status.FAILED and run.error_count == 2
    admin = staff_client(tenant_a, "admin")
    page = admin.get(f"/linkage/runs/{run.pk}/").content.decode()
    assert f'href="/linkage/runs/{run.pk}/errors.csv"' in page and "エラー一覧をCSVでダウンロード" in page

    response = admin.get(f"/linkage/runs/{run.pk}/errors.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="linkage-run-{run.pk}-errors.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["行", "項目", "内容"]
    assert rows[1] == ["3", "性別", "コード「7」はコード表（sex）にありません"], rows
    assert rows[2][:2] == ["4", "生年月日"] and len(rows) == 3
    with in_tenant(tenant_a):
        event = AuditEvent.objects.filter(target_type="linkage_run", target_id=str(run.pk)).latest("seq")
        assert event.action == "export" and event.details["error_count"] == 2

    # a label typed by an admin or a value quoted from the file never runs as a formula; kept vs counted
    with in_tenant(tenant_a):
        ImportRun.objects.filter(pk=run.pk).update(error_count=1500, errors=[
            {"line": 5, "column": "=HYPERLINK(\"http://x\")", "message": "@SUM(A1) は読めません"}])
    rows = list(csv.reader(io.StringIO(admin.get(f"/linkage/runs/{run.pk}/errors.csv").content.decode("utf-8-sig"))))
    assert rows[1] == ["5", "'=HYPERLINK(\"http://x\")", "'@SUM(A1) は読めません"]
    assert rows[2] == ["", "", "ほかに 1499 件のエラーがあります（最初の 1 件だけを記録しています）"]

    assert staff_client(tenant_a, "staff1").get(f"/linkage/runs/{run.pk}/errors.csv").status_code == 403
    assert staff_client(tenant_b, "admin").get(f"/linkage/runs/{run.pk}/errors.csv").status_code == 404
