"""PULL API for core systems: bearer auth, scope, tenant scoping, cursor, ack, audit, OpenAPI."""

import pytest
from django.test import Client

from tests.conftest import CITY_A, CITY_B, in_tenant, staff_client
from tests.test_exports_services import submit, user

URL = "/api/v1/integration/exports/juki_idou/"


@pytest.fixture
def tokens(in_a):
    from tenants.accounts.services import api_client_create

    admin = user("admin")
    reader = api_client_create(actor=admin, name="住民記録システム", scopes=["linkage:read"])
    writer = api_client_create(actor=admin, name="送信専用", scopes=["linkage:write"])
    return {"read": reader, "write": writer}


def api(token, host=CITY_A.host):
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_pull_requires_a_token(tenant_a):
    response = Client(HTTP_HOST=CITY_A.host).get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_without_linkage_read_is_forbidden(tokens):
    assert api(tokens["write"].token).get(URL).status_code == 403


def test_token_of_a_is_refused_at_b(tokens, tenant_b):
    assert api(tokens["read"].token, CITY_B.host).get(URL).status_code == 401


def test_staff_session_cannot_use_the_pull_api(tenant_a):
    assert staff_client(tenant_a, "admin").get(URL).status_code == 403


def test_pull_pages_with_cursor_and_records_batches(tokens, in_a):
    from audit.models import AuditEvent
    from integration.exports.models import ExportBatch

    records = submit(3)
    client = api(tokens["read"].token)
    first = client.get(URL, {"after": 0, "limit": 2}).json()
    assert [r["id"] for r in first["records"]] == [records[0].pk, records[1].pk]
    assert first["has_more"] is True and first["next_cursor"] == records[1].pk and first["count"] == 2
    assert first["records"][0]["payload"]["name"] == "窓口 太郎0"
    assert first["records"][0]["received_at"].endswith("+09:00")
    late = submit(1, name="後から")[0]
    second = client.get(URL, {"after": first["next_cursor"], "limit": 2}).json()
    assert [r["id"] for r in second["records"]] == [records[2].pk, late.pk]
    third = client.get(URL, {"after": second["next_cursor"], "limit": 2}).json()
    assert third["records"] == [] and third["next_cursor"] == late.pk and third["batch_id"] is None
    batches = list(ExportBatch.objects.filter(channel="api").order_by("id"))
    assert [b.record_count for b in batches] == [2, 2]
    assert batches[0].api_client == tokens["read"].client and batches[0].params == {"after": 0, "limit": 2}
    events = AuditEvent.objects.filter(action="export", target_type="export_batch")
    assert {e.target_id for e in events} == {str(b.pk) for b in batches}
    assert all(e.actor == "api:住民記録システム" for e in events)


def test_ack_moves_the_default_cursor_forward_only(tokens, in_a):
    records = submit(3)
    client = api(tokens["read"].token)
    assert [r["id"] for r in client.get(URL).json()["records"]] == [r.pk for r in records]
    ack = client.post(URL + "ack/", {"cursor": records[1].pk}, content_type="application/json")
    assert ack.status_code == 200 and ack.json() == {"kind": "juki_idou", "cursor": records[1].pk}
    assert [r["id"] for r in client.get(URL).json()["records"]] == [records[2].pk]
    client.post(URL + "ack/", {"cursor": records[0].pk}, content_type="application/json")
    assert [r["id"] for r in client.get(URL).json()["records"]] == [records[2].pk]
    assert client.post(URL + "ack/", {"cursor": records[2].pk + 1000},
                       content_type="application/json").status_code == 400
    assert client.post(URL + "ack/", {"cursor": "x"}, content_type="application/json").status_code == 400


def test_bad_parameters_are_400(tokens):
    client = api(tokens["read"].token)
    assert client.get(URL, {"after": "abc"}).status_code == 400
    response = client.get(URL, {"limit": 5000})
    assert response.status_code == 400 and "limit" in response.json()


def test_kind_outside_the_plan_is_404_and_kinds_list(tenant_b):
    from tenants.accounts.services import api_client_create

    with in_tenant(tenant_b):
        issued = api_client_create(actor=user("admin"), name="B区基幹", scopes=["linkage:read"])
    client = api(issued.token, CITY_B.host)
    assert client.get("/api/v1/integration/exports/inkan_haishi/").status_code == 404
    kinds = client.get("/api/v1/integration/exports/").json()
    assert {k["code"] for k in kinds} == {"juki_idou", "certificate_request", "kokuho_shikaku"}
    juki = next(k for k in kinds if k["code"] == "juki_idou")
    assert {"code": "sex", "label": "性別"}.items() <= next(i for i in juki["items"] if i["code"] == "sex").items()


def test_b_pulls_none_of_a(tokens, tenant_b):
    from tenants.accounts.services import api_client_create

    submit(2)
    with in_tenant(tenant_b):
        issued = api_client_create(actor=user("admin"), name="B区基幹", scopes=["linkage:read"])
    body = api(issued.token, CITY_B.host).get(URL).json()
    assert body["records"] == [] and body["next_cursor"] == 0


def test_openapi_documents_the_export_endpoints(tokens):
    response = api(tokens["read"].token).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    pull = paths["/api/v1/integration/exports/{kind}/"]["get"]
    assert {p["name"] for p in pull["parameters"]} >= {"after", "limit", "kind"}
    assert "next_cursor" in schema["components"]["schemas"]["Pull"]["properties"]
    assert "/api/v1/integration/exports/{kind}/ack/" in paths
