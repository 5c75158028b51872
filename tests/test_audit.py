"""Audit trail: events for logins, append-only in the database, tamper detection by audit_verify."""

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client

from audit.models import AuditEvent
from audit.services import chain_verify, event_hash, is_personal_number, record, scrub
from tests.conftest import CITY_A, PASSWORD, _test_database_url, in_tenant


def _events(tenant, **filters):
    with in_tenant(tenant):
        return list(AuditEvent.objects.filter(**filters).order_by("seq"))


def test_login_logout_and_failed_login_are_recorded(tenant_a):
    client = Client(HTTP_HOST=CITY_A.host, HTTP_X_REQUEST_ID="req-login-test-0001")
    client.post("/accounts/login/", {"username": "staff1", "password": "wrong-password-1A!"})
    client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    client.post("/accounts/logout/")
    actions = [e.action for e in _events(tenant_a, request_id="req-login-test-0001")]
    assert actions == ["login_failed", "login", "logout"]
    failed, login, _ = _events(tenant_a, request_id="req-login-test-0001")
    assert failed.details["reason"] == "bad_credentials" and failed.actor == ""
    assert login.actor == "staff1" and login.client_ip == "127.0.0.1"
    assert "password" not in str(failed.details).lower() or "wrong-password" not in str(failed.details)


def test_failed_login_of_unknown_user_is_recorded(tenant_a):
    client = Client(HTTP_HOST=CITY_A.host, HTTP_X_REQUEST_ID="req-unknown-user-01")
    client.post("/accounts/login/", {"username": "nobody", "password": "whatever-Password1"})
    (event,) = _events(tenant_a, request_id="req-unknown-user-01")
    assert event.action == "login_failed" and event.details["username"] == "nobody"


def test_chain_links_each_row_to_the_previous(in_a):
    first = record(action="view", target_type="person", target_id="1")
    second = record(action="update", target_type="person", target_id="1", details={"field": "memo"})
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert event_hash(second) == second.hash
    assert chain_verify().ok


def test_update_and_delete_on_audit_table_fail_from_application_connection(in_a):
    event = record(action="view", target_type="person", target_id="42")
    for statement in (
        "UPDATE audit_auditevent SET actor = 'mallory' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE audit_auditevent")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor="mallory")
    assert AuditEvent.objects.get(pk=event.pk).actor != "mallory"


def test_personal_numbers_are_scrubbed_from_details():
    assert is_personal_number("123456789018")
    assert not is_personal_number("123456789012")
    cleaned = scrub({"note": "番号 1234 5678 9018 を確認", "list": ["123456789018", "電話 0312345678"],
                     "n": 123456789018})
    assert "9018" not in cleaned["note"] and cleaned["list"][0] == "************"
    assert cleaned["list"][1] == "電話 0312345678"  # not a personal number: kept
    assert cleaned["n"] == "************"


def _tamper(schema: str, sql: str, params: tuple = ()) -> None:
    """Change the table behind the application's back: a superuser connection with triggers off."""
    with psycopg.connect(_test_database_url(), autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(sql, params)


@pytest.mark.schema
@pytest.mark.parametrize("tampering", ["edit", "delete", "insert"])
def test_audit_verify_finds_the_first_broken_link(fresh_municipality, django_db_blocker, tampering, capsys):
    municipality = fresh_municipality()
    with django_db_blocker.unblock():
        with in_tenant(municipality):
            for index in range(6):
                record(action="view", target_type="person", target_id=str(index))
            events = list(AuditEvent.objects.order_by("seq"))
        call_command("audit_verify", tenant=municipality.slug)
        assert "OK" in capsys.readouterr().out
        victim = events[3]
        if tampering == "edit":
            _tamper(municipality.schema_name, "UPDATE audit_auditevent SET target_id = 'x' WHERE seq = %s",
                    (victim.seq,))
            expected = victim.seq
        elif tampering == "delete":
            _tamper(municipality.schema_name, "DELETE FROM audit_auditevent WHERE seq = %s", (victim.seq,))
            expected = victim.seq
        else:
            # Insert a forged row between two real ones: renumber the tail and splice it in.
            _tamper(municipality.schema_name, "UPDATE audit_auditevent SET seq = seq + 1000 WHERE seq >= %s",
                    (victim.seq,))
            _tamper(municipality.schema_name, "UPDATE audit_auditevent SET seq = seq - 999 WHERE seq >= 1000")
            _tamper(
                municipality.schema_name,
                "INSERT INTO audit_auditevent (seq, occurred_at, actor, action, target_type, target_id, area,"
                " request_id, client_ip, details, prev_hash, hash) VALUES (%s, now(), 'forger', 'view', 'person',"
                " '99', '', '', '', '{}', %s, %s)",
                (victim.seq, events[2].hash, "f" * 64),
            )
            expected = victim.seq
        with pytest.raises(CommandError):
            call_command("audit_verify", tenant=municipality.slug)
        out = capsys.readouterr().out
        assert f"連番 {expected} " in out and "NG" in out
        with in_tenant(municipality):
            result = chain_verify()
        assert not result.ok and result.broken_seq == expected


@pytest.mark.schema
@pytest.mark.parametrize("tampering", ["truncate_tail", "rewrite_chain"])
def test_signed_checkpoint_catches_what_the_chain_alone_cannot(fresh_municipality, django_db_blocker, tampering,
                                                               capsys):
    """Deleting the newest rows, or rewriting rows and recomputing every hash, leaves a self-consistent
    chain; only the signed checkpoint kept in public reveals it."""
    from audit.checkpoints import checkpoint_check
    from audit.tasks import verify_chain
    from tenants.models import AuditCheckpoint

    municipality = fresh_municipality()
    with django_db_blocker.unblock():
        with in_tenant(municipality):
            for index in range(4):
                record(action="view", target_type="person", target_id=str(index))
            assert verify_chain.apply().get()["ok"]  # writes the verify event and signs the head
            checkpoint = AuditCheckpoint.objects.get(schema_name=municipality.schema_name)
            head = AuditEvent.objects.order_by("-seq").first()
            assert (checkpoint.seq, checkpoint.hash) == (head.seq, head.hash)
            assert checkpoint_check().ok
        if tampering == "truncate_tail":
            _tamper(municipality.schema_name, "DELETE FROM audit_auditevent WHERE seq >= %s", (head.seq - 1,))
        else:
            _tamper(municipality.schema_name, "UPDATE audit_auditevent SET target_id = 'x' WHERE seq = 2")
            with in_tenant(municipality):  # recompute every hash from row 2 on, as a capable attacker would
                events = list(AuditEvent.objects.order_by("seq"))
                previous = events[0].hash
                for event in events[1:]:
                    event.prev_hash = previous
                    event.hash = event_hash(event)
                    previous = event.hash
                    _tamper(municipality.schema_name,
                            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
                            (event.prev_hash, event.hash, event.seq))
        with in_tenant(municipality):
            assert chain_verify().ok  # the chain is self-consistent again …
            result = checkpoint_check()
        assert not result.ok and result.seq == head.seq  # … but not with the signed head
        with pytest.raises(CommandError):
            call_command("audit_verify", tenant=municipality.slug)
        assert "署名済みチェックポイントと一致しません" in capsys.readouterr().out


def test_checkpoint_signature_is_checked(in_a):
    from audit.checkpoints import checkpoint_check, checkpoint_write

    record(action="view", target_type="person", target_id="1")
    checkpoint = checkpoint_write()
    assert checkpoint_check().ok
    type(checkpoint).objects.filter(pk=checkpoint.pk).update(seq=checkpoint.seq, hash="0" * 64)
    result = checkpoint_check()
    assert not result.ok and "署名" in result.reason
