"""/api/docs/ (Swagger UI) works under the strict CSP and passes axe (issue 17, item 15)."""

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import CITY_A, axe_violations

pytestmark = pytest.mark.browser


def test_api_docs_list_the_operations_under_the_strict_policy(live_server_mt, page):
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: blocked.append(str(exc)))
    response = page.goto(live_server_mt.url(CITY_A, "/api/docs/"))
    assert response.headers["content-security-policy"] == settings.CONTENT_SECURITY_POLICY
    page.locator(".opblock").first.wait_for()
    listed = page.locator(".opblock-summary-path").all_inner_texts()
    for path in ("/api/v1/navigation/determination/", "/api/v1/integration/exports/{kind}/ack/",
                 "/api/v1/integration/imports/", "/api/v1/me/"):
        assert any(path in text for text in listed), (path, listed)
    assert page.get_by_role("heading", name="Madoguchi API").is_visible()
    assert blocked == []
    assert axe_violations(page) == []  # static/css/swagger.css darkens Swagger UI's low-contrast colours


def test_api_docs_page_has_no_inline_script_or_style(db):
    body = Client(HTTP_HOST=CITY_A.host).get("/api/docs/").content.decode()
    assert "<script>" not in body and "<style" not in body and "style=" not in body
    script = Client(HTTP_HOST=CITY_A.host).get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
