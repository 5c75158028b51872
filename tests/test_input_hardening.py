"""No server error on bad input (issue 11, finding 4): every API and every JSON form answers 4xx with a
Japanese message naming the field, and writes nothing.

- schemathesis generates requests (valid and invalid) for every operation of the OpenAPI schema;
- every API view that parses a JSON body (found through the URL resolver) and every form field that
  takes JSON (found by walking the project's form classes) gets deeply nested and wrongly typed JSON;
- the source holds no other JSON parser of outside input, and every date field entered by people or
  systems is bounded (9999-12-31 overflowed the first ``+ 1 day``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import pytest
import requests
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from madoguchi.inputs import MAX_JSON_DEPTH, ApiDateField, InputDateField, JSONFileField, JSONTextField
from tests.conftest import CITY_A, in_tenant, staff_client

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("madoguchi", "tenants", "audit", "integration", "navigation", "forms_builder", "mynacard")


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


DEEP = [nested(MAX_JSON_DEPTH + 1), "[" * 100_000 + "]" * 100_000]
# Wrongly typed values for a JSON document or any member of one.
WRONG_VALUES: list[object] = [[], {}, "x", 1, -1.5, None, True, ["x"], {"x": 1}, 10**400 // 10**390, "9999-12-31"]


def _row_counts() -> dict[str, tuple[int, int, int]]:
    """Rows inserted, updated and deleted so far in this (test) transaction, per table of any schema.

    ``pg_stat_xact_user_tables`` counts the current transaction's writes, so a request that "writes
    nothing" leaves every figure as it was.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_del"
                       " FROM pg_stat_xact_user_tables")
        return {row[0]: row[1:] for row in cursor.fetchall()
                # the bearer token's last use is stamped on every API call, accepted or not
                if not row[0].endswith(".accounts_apiclient")}


def _changed(before: dict, after: dict) -> dict:
    return {t: (before.get(t), n) for t, n in after.items() if before.get(t, (0, 0, 0)) != n}


@pytest.fixture
def api_token(tenant_a):  # noqa: ANN001
    from tenants.accounts.models import User
    from tenants.accounts.services import api_client_create

    with in_tenant(tenant_a):
        admin = User.objects.get(username="admin")
        return api_client_create(actor=admin, name="fuzz", scopes=["navigation:read", "linkage:read",
                                                                   "linkage:write"]).token


@pytest.fixture
def published(tenant_a):  # noqa: ANN001
    from navigation.services import catalogue_install_default

    with in_tenant(tenant_a):
        catalogue_install_default()
    return tenant_a


def _api_client(token: str) -> Client:
    return Client(HTTP_HOST=CITY_A.host, HTTP_AUTHORIZATION=f"Bearer {token}")


# ---------------------------------------------------------------------------------------------
# schemathesis over the whole OpenAPI schema
# ---------------------------------------------------------------------------------------------
def test_schemathesis_finds_no_server_error_in_the_whole_api(published, api_token):  # noqa: ANN001
    """Every operation, valid and invalid generated requests, a valid token: no 5xx.

    Requests go through Django's test client (same connection and transaction as the test) so the
    rolled-back test database stays clean; schemathesis only generates and serialises the cases.
    """
    import schemathesis
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hsettings
    from schemathesis import GenerationMode

    client = _api_client(api_token)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = json.loads(response.content)
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, [op.label for op in operations]

    failures: list[str] = []
    seen: dict[str, set[int]] = {}

    def send(case) -> None:  # noqa: ANN001
        kwargs = case.as_transport_kwargs(base_url=f"http://{CITY_A.host}")
        kwargs.pop("timeout", None)
        kwargs.pop("allow_redirects", None)
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {api_token}"}
        prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in {
            "method", "url", "headers", "params", "data", "json", "files", "cookies"}}).prepare()
        path = prepared.path_url
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in prepared.headers.items()
                 if name.lower() not in {"content-type", "content-length", "host"}}
        answer = client.generic(prepared.method, path, data=body,
                                content_type=prepared.headers.get("Content-Type", ""), **extra)
        seen.setdefault(case.operation.label, set()).add(answer.status_code)
        if answer.status_code >= 500:
            failures.append(f"{case.operation.label} {path} {body[:200]!r} → {answer.status_code}")

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:  # noqa: BLE001,S112 - an operation with nothing invalid to generate
                continue

            @hsettings(max_examples=20, deadline=None, database=None, derandomize=True,
                       phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(strategy)
            def run(case) -> None:  # noqa: ANN001
                send(case)

            run()
    assert not failures, "\n".join(failures[:20])
    # The token was accepted everywhere: the fuzzing reached the views, not only the authentication.
    assert all(not codes & {401, 403} for codes in seen.values()), {
        op: codes for op, codes in seen.items() if codes & {401, 403}}
    assert 400 in seen["POST /api/v1/navigation/determination/"] and 200 in seen["GET /api/v1/me/"], seen


# ---------------------------------------------------------------------------------------------
# Every view that accepts JSON
# ---------------------------------------------------------------------------------------------
def _patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            found.extend(_patterns(pattern, prefix + str(pattern.pattern)))
        elif isinstance(pattern, URLPattern):
            found.append((prefix + str(pattern.pattern), pattern.callback))
    return found


def json_api_views() -> list[tuple[str, type[APIView], list[str]]]:
    """(route, view class, write methods) of every DRF view that parses a JSON body."""
    found = []
    for route, callback in _patterns(get_resolver(settings.ROOT_URLCONF)):
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if not (inspect.isclass(cls) and issubclass(cls, APIView)):
            continue
        if not any(isinstance(parser, JSONParser) for parser in cls().get_parsers()):
            continue
        methods = [m for m in ("post", "put", "patch") if hasattr(cls, m)]
        if methods:
            found.append((route, cls, methods))
    return found


def _route_url(route: str) -> str:
    return "/" + route.replace("<slug:kind>", "juki_idou").replace("<int:pk>", "1").lstrip("^")


def test_the_json_api_views_are_found_through_the_url_resolver():
    routes = {route for route, _cls, _methods in json_api_views()}
    # The two known ones; a new JSON view is picked up without being named here.
    assert "api/v1/navigation/determination/" in routes
    assert "api/v1/integration/exports/<slug:kind>/ack/" in routes
    # The upload API takes multipart only, so it is not a JSON view.
    assert "api/v1/integration/imports/" not in routes


@pytest.mark.parametrize("route", [r for r, _c, _m in json_api_views()])
def test_deep_and_wrongly_typed_json_to_every_json_api_view(route, published, api_token):  # noqa: ANN001
    client = _api_client(api_token)
    url = _route_url(route)
    cls = next(c for r, c, _m in json_api_views() if r == route)
    with in_tenant(published):
        before = _row_counts()
    bodies = [*DEEP, *(json.dumps(v) for v in WRONG_VALUES)]
    # Every known member of the request, wrongly typed in turn (taken from the view's own serializer).
    fields = _request_fields(cls)
    bodies += [json.dumps({name: value}) for name in fields for value in WRONG_VALUES]
    bodies += [json.dumps({"events": ["tennyu"], "persons": [{"birth_date": "1980-01-01"}], "answers": v})
               for v in ({"case": []}, {"case": ["x"]}, {"persons": ["x"]}, {"persons": {"p1": []}},
                         {"case": {"moving_destination": {"a": 1}}})]
    bodies += ['{"events": ["tennyu"], "on": "9999-12-31", "persons": [{"birth_date": "9999-12-31"}]}',
               '{"events": ["tennyu"], "persons": [{"birth_date": "1980-01-01", "eligibilities": [{}]}]}',
               '{"cursor": 1e999}', '{"cursor": NaN}', '{"cursor": ' + "9" * 5000 + "}"]
    for method in next(m for r, _c, m in json_api_views() if r == route):
        for body in bodies:
            response = client.generic(method.upper(), url, data=body, content_type="application/json")
            assert 400 <= response.status_code < 500, (method, body[:120], response.status_code, response.content[:300])
            assert response["Content-Type"].startswith("application/json")
            payload = json.loads(response.content)
            assert _japanese(payload), (body[:120], payload)
        # multipart and form bodies where JSON is expected
        multipart = client.generic(method.upper(), url, data=b'--x\r\nContent-Disposition: form-data; name="a"'
                                   b"\r\n\r\n1\r\n--x--\r\n", content_type="multipart/form-data; boundary=x")
        assert multipart.status_code == 415 and "application/json" in json.loads(multipart.content)["detail"]
        form = client.post(url, {"events": "tennyu", "persons": "x"})
        assert form.status_code == 415
    with in_tenant(published):
        assert _changed(before, _row_counts()) == {}


def _request_fields(cls: type[APIView]) -> list[str]:
    names: set[str] = set()
    for name in ("post", "put", "patch"):
        handler = getattr(cls, name, None)
        if handler is None:
            continue
        source = inspect.getsource(handler)
        for serializer in _serializers():
            if f"{serializer.__name__}(data=" in source:
                names.update(serializer().fields)
    return sorted(names)


def _japanese(value: object) -> bool:
    text = json.dumps(value, ensure_ascii=False)
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def test_the_nested_error_names_the_body_and_the_typed_error_names_the_field(published, api_token):  # noqa: ANN001
    client = _api_client(api_token)
    deep = client.generic("POST", "/api/v1/navigation/determination/", data=DEEP[1], content_type="application/json")
    assert deep.status_code == 400 and "リクエスト本文" in deep.json()["detail"] and "入れ子" in deep.json()["detail"]
    typed = client.generic("POST", "/api/v1/navigation/determination/", content_type="application/json",
                           data=json.dumps({"events": ["tennyu"], "persons": [{"birth_date": "1980-01-01"}],
                                            "answers": {"case": ["x"]}}))
    assert typed.status_code == 400 and any("answers.case" in e for e in typed.json()["errors"])
    date_out = client.generic("POST", "/api/v1/navigation/determination/", content_type="application/json",
                              data=json.dumps({"events": ["tennyu"], "on": "9999-12-31",
                                               "persons": [{"birth_date": "1980-01-01"}]}))
    assert date_out.status_code == 400 and "2999-12-31" in date_out.json()["on"][0]
    catalogue = client.get("/api/v1/navigation/catalogue/?on=9999-12-31")
    assert catalogue.status_code == 400 and "「on」" in catalogue.json()["on"][0]
    ack = client.generic("POST", "/api/v1/integration/exports/juki_idou/ack/", data="[" * 5000 + "]" * 5000,
                         content_type="application/json")
    assert ack.status_code == 400 and "入れ子が深すぎます" in ack.json()["detail"]


# ---------------------------------------------------------------------------------------------
# Every form field that takes JSON
# ---------------------------------------------------------------------------------------------
def _project_modules() -> list[object]:
    modules = []
    for package in PROJECT_PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if any(part in info.name for part in (".migrations", ".management", ".settings")) \
                    or info.name in {"madoguchi.wsgi", "madoguchi.asgi", "madoguchi.launcher"}:
                continue
            modules.append(importlib.import_module(info.name))
    return modules


def _classes(base: type) -> list[type]:
    _project_modules()
    found, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return [c for c in found if c.__module__.split(".")[0] in PROJECT_PACKAGES]


def _serializers() -> list[type]:
    return _classes(serializers.Serializer)


def json_form_fields() -> set[tuple[str, str]]:
    """(form class, field name) of every JSON field a project form declares."""
    return {(f"{form.__module__}.{form.__qualname__}", name) for form in _classes(forms.BaseForm)
            for name, field in getattr(form, "base_fields", {}).items()
            if isinstance(field, JSONTextField | JSONFileField)}


# Where each JSON form field is posted. A new JSON field fails
# test_every_json_form_field_is_exercised until it is added here.
JSON_FORM_POSTS = {
    ("navigation.forms.ProcedureForm", "export"): ("/navi/admin/procedures/new/", "export", False),
    ("navigation.forms.RuleForm", "condition"): ("/navi/admin/rules/new/", "condition", False),
    ("navigation.forms.TryForm", "persons"): ("/navi/admin/try/", "try-persons", False),
    ("navigation.forms.TryForm", "answers"): ("/navi/admin/try/", "try-answers", False),
    ("navigation.forms.TryRuleForm", "condition"): ("/navi/admin/try/", "condition", False),
    ("navigation.forms.ImportForm", "file"): ("/navi/admin/import/", "file", True),
    ("integration.forms.LayoutFileForm", "file"): ("/linkage/layouts/", "file", True),
    ("integration.exports.forms.LayoutImportForm", "file"): ("/linkage/exports/layouts/", "file", True),
    ("integration.exports.forms.LayoutEditForm", "definition"): ("/linkage/exports/layouts/juki_idou/new/",
                                                                 "definition", False),
    ("integration.forms.LayoutSettingsForm", "records"): ("/linkage/layouts/juki_standard_csv/edit/",
                                                          "layout-records", False),
}


def test_every_json_form_field_is_exercised():
    assert json_form_fields() == set(JSON_FORM_POSTS)


def _valid_documents(tenant) -> dict[str, object]:  # noqa: ANN001
    """A valid document per uploaded kind, to mistype member by member."""
    from integration.exports.layouts import builtin_layouts
    from integration.exports.registry import get as get_kind
    from integration.models import LinkageLayout
    from integration.services import layout_to_dict, layouts_ensure_shipped
    from navigation.services import catalogue_export
    from tenants.accounts.models import User

    with in_tenant(tenant):
        layouts_ensure_shipped()
        admin = User.objects.get(username="admin")
        return {
            "/navi/admin/import/": catalogue_export(actor=admin),
            "/linkage/layouts/": layout_to_dict(layout=LinkageLayout.objects.get(key="juki_standard_csv")),
            "/linkage/exports/layouts/": {**builtin_layouts(get_kind("juki_idou"))[0].to_dict(), "code": "mine"},
        }


MISTYPES: list[object] = [[], {}, "x", 1, None]


def _mistyped(document: object, limit: int = 15) -> list[object]:
    """The document with one member replaced by a wrongly typed value, for the first ``limit`` members."""
    variants: list[object] = []

    def walk(node: object, replace) -> None:  # noqa: ANN001
        if len(variants) >= limit * len(MISTYPES):
            return
        for value in MISTYPES:
            if type(value) is not type(node):
                variants.append(replace(value))
        if isinstance(node, dict):
            for key in list(node)[:12]:
                walk(node[key], lambda v, k=key, n=node: replace({**n, k: v}))
        elif isinstance(node, list):
            for index in range(min(len(node), 3)):
                walk(node[index], lambda v, i=index, n=node: replace([*n[:i], v, *n[i + 1:]]))

    walk(document, lambda v: v)
    return variants


@pytest.mark.parametrize("key", sorted(JSON_FORM_POSTS))
def test_deep_and_wrongly_typed_json_to_every_json_form(key, published):  # noqa: ANN001
    """Nested or unreadable JSON: 4xx naming the field, nothing written. Wrongly typed values and
    documents (member by member): never a 5xx, and whenever the answer is 4xx nothing was written."""
    url, name, is_file = JSON_FORM_POSTS[key]
    label = _field_label(key)
    expected = _field(key).expected
    admin = staff_client(published, "admin")
    base = {"try-events": ["tennyu"], "try-on": "2026-06-01", "code": "x_new", "name": "名前", "area": "juki",
            "events": ["tennyu"], "order": 1, "procedure": "juki_tennyu", "scope": "person", "reason": "理由"}
    refused: list[object] = [*DEEP, "{", "[1, 2", "NaN", '"x\\ud800"', "1" * 5000]
    if expected is not None:
        refused += [json.dumps(v) for v in WRONG_VALUES if not isinstance(v, expected)]
    others: list[object] = [json.dumps(v) for v in WRONG_VALUES if expected is None or isinstance(v, expected)]
    if is_file:
        refused += [b"\xff\xfe\x00{", b"\x89PNG\r\n"]
        others += [json.dumps(doc, ensure_ascii=False) for doc in _mistyped(_valid_documents(published)[url])]

    def post(value: object):  # noqa: ANN202
        if is_file:
            content = value if isinstance(value, bytes) else str(value).encode()
            return admin.post(url, {**base, name: SimpleUploadedFile("x.json", content,
                                                                    content_type="application/json")})
        return admin.post(url, {**base, name: value})

    for value in refused:
        with in_tenant(published):
            before = _row_counts()
        response = post(value)
        assert 400 <= response.status_code < 500, (url, str(value)[:80], response.status_code)
        body = response.content.decode()
        assert f"「{label}」" in body, (url, label, body[-800:])
        with in_tenant(published):
            assert _changed(before, _row_counts()) == {}, (url, str(value)[:80])
    for value in others:
        with in_tenant(published):
            before = _row_counts()
        response = post(value)
        assert response.status_code < 500, (url, str(value)[:200], response.status_code)
        if response.status_code >= 400:
            with in_tenant(published):
                assert _changed(before, _row_counts()) == {}, (url, str(value)[:200])


def _field(key: tuple[str, str]):  # noqa: ANN202
    module, _, cls_name = key[0].rpartition(".")
    return getattr(importlib.import_module(module), cls_name).base_fields[key[1]]


def _field_label(key: tuple[str, str]) -> str:
    return str(_field(key).label)


# ---------------------------------------------------------------------------------------------
# Guards over the source: one JSON parser for outside input, bounded dates
# ---------------------------------------------------------------------------------------------
# json.loads of files the product ships itself (not outside input).
TRUSTED_JSON_READS = {
    "madoguchi/inputs.py",  # the safe parser itself
    "audit/services.py",  # a round trip of the event's own details (json.loads(json.dumps(...)))
    "navigation/services.py",  # navigation/catalogue/default.json
    "integration/services.py",  # integration/layouts/*.json shipped with the product
    "integration/generator.py",  # the shipped layouts, for the demo data generator
    "navigation/management/commands/load_default_catalogue.py",  # an operator's file on the server
    "integration/vendorfiles.py",  # docs/vendor/*.json, the example vendor layouts shipped in the repository
    "integration/eras.py",  # integration/eras.json, the one era table shipped with the product
    "audit/checkpoints.py",  # our own signed anchors in the write-once store (checked against their signature)
    "mynacard/credentials.py",  # the station's own credential file (on the station, issued by the server)
    "mynacard/agent.py",  # the reader station process: its own files and the server's answers
    "mynacard/emulator.py",  # the software card for tests and the demo: its persona and state files
}


def test_no_other_json_parser_reads_outside_input():
    offenders = []
    for package in PROJECT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in {"loads", "load"} and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "json" and relative not in TRUSTED_JSON_READS):
                    offenders.append(f"{relative}:{node.lineno}")
    assert offenders == [], "parse outside JSON with madoguchi.inputs.json_loads: " + ", ".join(offenders)


def test_every_date_field_people_or_systems_enter_is_bounded():
    unbounded = []
    for form in _classes(forms.BaseForm):
        for name, field in getattr(form, "base_fields", {}).items():
            if isinstance(field, forms.DateField) and not isinstance(field, InputDateField):
                unbounded.append(f"{form.__module__}.{form.__qualname__}.{name}")
    for serializer in _serializers():
        for name, field in getattr(serializer, "_declared_fields", {}).items():
            if isinstance(field, serializers.DateField) and not isinstance(field, ApiDateField):
                unbounded.append(f"{serializer.__module__}.{serializer.__qualname__}.{name}")
    assert unbounded == [], unbounded
