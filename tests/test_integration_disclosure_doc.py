"""R3.7 disclosure document (PDF) and CSV, their audit, the exports' layout JSON audit, API rate limits."""

from __future__ import annotations

import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.throttling import ScopedRateThrottle

from audit.models import AuditEvent
from integration.models import ImportRun, LinkageLayout
from integration.services import layout_save, layout_to_dict, layouts_ensure_shipped
from madoguchi.principals import SYSTEM
from tests.conftest import in_tenant, staff_client
from tests.test_integration_import import person, std_csv
from tests.test_integration_screens import _api_token


@pytest.fixture
def shipped_a(in_a):
    layouts_ensure_shipped()
    return LinkageLayout.objects.get(key="juki_standard_csv")


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def _only_a_layout(shipped_a: LinkageLayout, name: str) -> None:
    data = layout_to_dict(layout=shipped_a)
    data.pop("schedule")
    layout_save(actor=SYSTEM, data={**data, "key": "a_only", "name": name}, create=True)


def test_disclosure_document_lists_linkages_and_is_audited(tenant_a, tenant_b, shipped_a, tmp_path):
    with in_tenant(tenant_a):
        _only_a_layout(shipped_a, "本市独自の住民ファイル")
        seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    response = staff_client(tenant_a, "admin").get("/linkage/disclosure/document.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content, tmp_path)
    assert "データ連携の公開情報" in text and tenant_a.name in text and "令和" in text
    assert "本市独自の住民ファイル" in text and "支援措置（DV等・緊急）" in text
    assert "宛名番号" in text and "5 分ごと" in text
    with in_tenant(tenant_a):
        event = AuditEvent.objects.filter(seq__gt=seq, action="export", target_type="linkage_disclosure").get()
        assert event.details["format"] == "pdf"
    with in_tenant(tenant_b):
        layouts_ensure_shipped()
    text_b = _pdf_text(staff_client(tenant_b, "admin").get("/linkage/disclosure/document.pdf").content, tmp_path)
    assert tenant_b.name in text_b and "本市独自の住民ファイル" not in text_b
    assert staff_client(tenant_a, "staff1").get("/linkage/disclosure/document.pdf").status_code == 403


def test_disclosure_csv_neutralises_formulas_and_is_audited(tenant_a, shipped_a):
    with in_tenant(tenant_a):
        _only_a_layout(shipped_a, '=HYPERLINK("http://example.invalid","x")')
        seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    body = staff_client(tenant_a, "admin").get("/linkage/disclosure/download/").content.decode("utf-8-sig")
    cells = [cell for line in body.splitlines() for cell in line.split(",")]
    assert not any(cell.lstrip('"').startswith(("=", "+", "@")) for cell in cells)
    assert "'=HYPERLINK" in body
    with in_tenant(tenant_a):
        assert AuditEvent.objects.filter(seq__gt=seq, action="export", target_type="linkage_disclosure",
                                         details__format="csv").exists()


def test_layout_json_export_is_audited(tenant_a, shipped_a):
    with in_tenant(tenant_a):
        seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    assert staff_client(tenant_a, "admin").get("/linkage/layouts/juki_standard_csv/export/").status_code == 200
    with in_tenant(tenant_a):
        assert AuditEvent.objects.filter(seq__gt=seq, action="export", target_type="linkage_layout",
                                         target_id="juki_standard_csv").exists()


def test_api_uploads_are_rate_limited_per_municipality(tenant_a, tenant_b, shipped_a, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES,
                                                                "api_upload": "2/min"})
    token_a = _api_token(tenant_a, ["linkage:write"])
    client_a = Client(HTTP_HOST="testa.localhost", HTTP_AUTHORIZATION=f"Bearer {token_a}")

    def upload(client: Client) -> object:
        file = SimpleUploadedFile("juki.csv", std_csv([person(1)]), content_type="text/csv")
        return client.post("/api/v1/integration/imports/", {"layout": "juki_standard_csv", "file": file})

    assert [upload(client_a).status_code for _ in range(2)] == [202, 202]
    refused = upload(client_a)
    assert refused.status_code == 429 and "待ってから再度送信してください" in refused.json()["detail"]
    assert int(refused["Retry-After"]) > 0
    assert client_a.get("/api/v1/integration/imports/").status_code == 200  # reading has its own limit
    with in_tenant(tenant_a):
        assert ImportRun.objects.count() == 2

    with in_tenant(tenant_b):
        layouts_ensure_shipped()
    token_b = _api_token(tenant_b, ["linkage:write"])
    client_b = Client(HTTP_HOST="testb.localhost", HTTP_AUTHORIZATION=f"Bearer {token_b}")
    assert upload(client_b).status_code == 202  # city A's traffic does not throttle city B
