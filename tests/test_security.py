"""Security defaults: production settings pass `check --deploy`, refuse to start without secrets; headers."""

import base64
import os
import secrets
import subprocess
import sys

from django.conf import settings
from django.test import Client

from tests.conftest import CITY_A, CITY_B, ROOT


def _check(env_overrides):
    env = {**os.environ, **env_overrides, "DJANGO_SETTINGS_MODULE": "madoguchi.settings.production"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright in tests only
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _production_env(**overrides):
    return {"DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "MADOGUCHI_KEK": base64.b64encode(secrets.token_bytes(32)).decode(),
            "MADOGUCHI_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "DATABASE_URL": "postgresql://madoguchi_app@db.invalid/madoguchi",
            "DATABASE_OWNER_URL": "postgresql://madoguchi_owner@db.invalid/madoguchi",
            "MADOGUCHI_AUDIT_ANCHOR_URL": "s3://madoguchi-audit-anchors/checkpoints", **overrides}


def test_production_settings_pass_check_deploy():
    result = _check(_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_a_local_anchor_folder_and_an_application_that_is_its_own_owner():
    result = _check(_production_env(MADOGUCHI_AUDIT_ANCHOR_URL="file:///var/anchors",
                                    DATABASE_OWNER_URL="postgresql://madoguchi_app@db.invalid/madoguchi"))
    assert result.returncode != 0
    assert "madoguchi.W001" in result.stdout + result.stderr and "madoguchi.W002" in result.stdout + result.stderr


def test_production_settings_refuse_missing_secrets():
    result = _check({"DJANGO_SECRET_KEY": "", "MADOGUCHI_KEK": ""})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr
    result = _check({"DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "MADOGUCHI_KEK": ""})
    assert result.returncode != 0 and "MADOGUCHI_KEK" in result.stderr
    result = _check({"DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "MADOGUCHI_AUDIT_SIGNING_KEY": "",
                     "MADOGUCHI_KEK": base64.b64encode(secrets.token_bytes(32)).decode()})
    assert result.returncode != 0 and "MADOGUCHI_AUDIT_SIGNING_KEY" in result.stderr


def test_security_headers_and_request_id(tenant_a):
    response = Client(HTTP_HOST=CITY_A.host).get("/accounts/login/", HTTP_X_REQUEST_ID="abc-12345678")
    assert response["X-Request-ID"] == "abc-12345678"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "object-src 'none'" in response["Content-Security-Policy"]
    bad = Client(HTTP_HOST=CITY_A.host).get("/accounts/login/", HTTP_X_REQUEST_ID="<script>")
    assert bad["X-Request-ID"] != "<script>" and len(bad["X-Request-ID"]) == 32


def test_health_endpoint_answers_on_any_host(db):
    for host in ("127.0.0.1", "nowhere.localhost", CITY_A.host):
        response = Client(HTTP_HOST=host).get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_access_log_is_one_json_line_with_request_id(tenant_a, caplog):
    import json
    import logging

    from madoguchi.logging import JsonFormatter, RequestContextFilter

    with caplog.at_level(logging.INFO, logger="madoguchi.access"):
        Client(HTTP_HOST=CITY_A.host).get("/accounts/login/", HTTP_X_REQUEST_ID="log-test-000001")
    record = next(r for r in caplog.records if r.name == "madoguchi.access")
    RequestContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "log-test-000001" and line["status"] == 200
    assert line["tenant"] == tenant_a.schema_name and line["path"] == "/accounts/login/"


def test_client_address_behind_trusted_load_balancer(tenant_a, settings):
    from django.test import RequestFactory

    from madoguchi.middleware import client_ip

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.5"  # no proxy trusted: the header is ignored
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"  # the spoofed left-most entry is not used


def test_login_rate_limit_is_per_client_behind_the_load_balancer(tenant_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_RATE_PER_MINUTE = 2
    lb = {"REMOTE_ADDR": "10.0.0.5"}
    for _ in range(2):
        Client(HTTP_HOST=CITY_A.host, HTTP_X_FORWARDED_FOR="198.51.100.1", **lb).post(
            "/accounts/login/", {"username": "x", "password": "Wrong-password-1"})
    blocked = Client(HTTP_HOST=CITY_A.host, HTTP_X_FORWARDED_FOR="198.51.100.1", **lb).post(
        "/accounts/login/", {"username": "x", "password": "Wrong-password-1"})
    assert "試行回数が多すぎます" in blocked.content.decode()
    other = Client(HTTP_HOST=CITY_A.host, HTTP_X_FORWARDED_FOR="198.51.100.2", **lb).post(
        "/accounts/login/", {"username": "x", "password": "Wrong-password-1"})
    assert "試行回数が多すぎます" not in other.content.decode()


def _assert_security_headers(response, where: str) -> None:
    assert "frame-ancestors 'none'" in response.get("Content-Security-Policy", ""), where
    assert "object-src 'none'" in response["Content-Security-Policy"], where
    assert response.get("X-Frame-Options") == "DENY", where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("Referrer-Policy") == "same-origin", where


def test_every_response_path_carries_csp_and_frame_options(tenant_a, tenant_b):
    """Also the responses made before the view runs: unknown host, suspended municipality, the health
    probe, static files, CSRF failure, 404/403 handlers, the API and the ops host (issue 11, finding 7)."""
    from tenants.models import Municipality

    paths = {
        "unknown host": (Client(HTTP_HOST="nowhere.localhost").get("/"), 404),
        "unknown host, other path": (Client(HTTP_HOST="nowhere.localhost").get("/accounts/login/"), 404),
        "health probe": (Client(HTTP_HOST="nowhere.localhost").get("/healthz"), 200),
        "static file": (Client(HTTP_HOST=CITY_A.host).get("/static/js/app.js"), 200),
        "login page": (Client(HTTP_HOST=CITY_A.host).get("/accounts/login/"), 200),
        "tenant 404": (Client(HTTP_HOST=CITY_A.host).get("/no-such-page/"), 404),
        "csrf failure": (Client(HTTP_HOST=CITY_A.host, enforce_csrf_checks=True).post(
            "/accounts/login/", {"username": "x", "password": "y"}), 403),
        "api without token": (Client(HTTP_HOST=CITY_A.host).get("/api/v1/me/"), 401),
        "ops host": (Client(HTTP_HOST=settings.OPS_HOST).get("/admin/login/"), 200),
    }
    Municipality.objects.filter(pk=tenant_b.pk).update(status=Municipality.Status.SUSPENDED)
    paths["suspended municipality"] = (Client(HTTP_HOST=CITY_B.host).get("/"), 503)
    for where, (response, status) in paths.items():
        assert response.status_code == status, (where, response.status_code)
        _assert_security_headers(response, where)

