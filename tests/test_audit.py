"""Audit trail: events for logins, append-only in the database, tamper detection by audit_verify."""

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from audit.checkpoints import checkpoint_check
from audit.keys import chain_key
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, chain_verify, event_hash, is_personal_number, record, scrub
from tests.conftest import CITY_A, PASSWORD, in_tenant, superuser_database_url


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


def test_chain_links_each_row_to_the_previous_with_a_keyed_hash(in_a):
    first = record(action="view", target_type="person", target_id="1")
    second = record(action="update", target_type="person", target_id="1", details={"field": "memo"})
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    key = chain_key(schema_name=in_a.schema_name)
    assert event_hash(second, key) == second.hash
    assert event_hash(second) != second.hash  # not a plain SHA-256 that anyone could recompute
    assert chain_verify().ok


def test_each_municipality_has_its_own_random_chain_key_wrapped_by_the_kek(tenant_a, tenant_b):
    from tenants.crypto import data_key_for, unwrap_audit_key
    from tenants.models import AuditChainKey

    with in_tenant(tenant_a):
        record(action="view", target_type="person", target_id="1")
    with in_tenant(tenant_b):
        record(action="view", target_type="person", target_id="1")
    key_a = chain_key(schema_name=tenant_a.schema_name)
    key_b = chain_key(schema_name=tenant_b.schema_name)
    assert key_a.key != key_b.key and len(key_a.key) == 32
    assert key_a.key not in (data_key_for(tenant_a), data_key_for(tenant_b))
    stored = bytes(AuditChainKey.objects.get(schema_name=tenant_a.schema_name).wrapped_key)
    assert key_a.key not in stored  # kept only wrapped
    # A's wrapped key is bound to A's schema and first sequence number: it opens as nothing else.
    for schema, since in ((tenant_b.schema_name, key_a.since_seq), (tenant_a.schema_name, key_a.since_seq + 1)):
        with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
            unwrap_audit_key(stored, schema, since)


def test_record_keeps_its_keyword_only_signature():
    import inspect

    parameters = inspect.signature(record).parameters.values()
    assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in parameters)


def test_personal_numbers_are_scrubbed_from_details():
    assert is_personal_number("123456789018")
    assert not is_personal_number("123456789012")
    cleaned = scrub({"note": "番号 1234 5678 9018 を確認", "list": ["123456789018", "電話 0312345678"],
                     "n": 123456789018})
    assert "9018" not in cleaned["note"] and cleaned["list"][0] == "************"
    assert cleaned["list"][1] == "電話 0312345678"  # not a personal number: kept
    assert cleaned["n"] == "************"


def _tamper(schema: str, sql: str, params: tuple = ()) -> None:
    """Change the tables behind the application's back: a superuser connection with triggers off."""
    with psycopg.connect(superuser_database_url(), autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(f'SET search_path TO "{schema}", public')
        conn.execute(sql, params)


def _chain_with_checkpoint(municipality, events: int = 6) -> list[AuditEvent]:
    from audit.tasks import checkpoint_now

    with in_tenant(municipality):
        for index in range(events):
            record(action="view", target_type="person", target_id=str(index))
        assert checkpoint_now()["ok"]
        return list(AuditEvent.objects.order_by("seq"))


def _recompute_from(municipality, seq: int, key: bytes | None) -> None:
    """What an attacker with write access but without the chain key does: recompute every hash from ``seq``
    on (SHA-256, or an HMAC under a key of his own)."""
    from audit.keys import ChainKey

    attacker_key = ChainKey(since_seq=1, key=key) if key else None
    with in_tenant(municipality):
        events = list(AuditEvent.objects.order_by("seq"))
    previous = next((e.hash for e in events if e.seq == seq - 1), GENESIS_HASH)
    for event in (e for e in events if e.seq >= seq):
        event.prev_hash = previous
        event.hash = event_hash(event, attacker_key)
        previous = event.hash
        _tamper(municipality.schema_name, "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
                (event.prev_hash, event.hash, event.seq))


TAMPERING = ["edit", "delete", "delete_newest", "forge_sha256", "forge_hmac", "swap", "truncate_tail",
             "delete_checkpoint", "delete_key"]


@pytest.mark.schema
@pytest.mark.parametrize("tampering", TAMPERING)
def test_audit_verify_detects_each_kind_of_tampering(fresh_municipality, django_db_blocker, tampering, capsys):
    municipality = fresh_municipality()
    schema = municipality.schema_name
    with django_db_blocker.unblock():
        events = _chain_with_checkpoint(municipality)
        head = events[-1]
        call_command("audit_verify", tenant=municipality.slug)
        out = capsys.readouterr().out
        assert "OK" in out and f"署名済みチェックポイント（連番 {head.seq}、保管先 1 件）と一致" in out
        victim = events[3]
        if tampering == "edit":
            _tamper(schema, "UPDATE audit_auditevent SET target_id = 'x' WHERE seq = %s", (victim.seq,))
        elif tampering == "delete":
            _tamper(schema, "DELETE FROM audit_auditevent WHERE seq = %s", (victim.seq,))
        elif tampering == "delete_newest":
            _tamper(schema, "DELETE FROM audit_auditevent WHERE seq = %s", (head.seq,))
            victim = head
        elif tampering in ("forge_sha256", "forge_hmac"):  # a forged row, hash and every later hash recomputed
            _tamper(schema, "UPDATE audit_auditevent SET actor = 'forger', details = '{}' WHERE seq = %s",
                    (victim.seq,))
            _recompute_from(municipality, victim.seq, b"k" * 32 if tampering == "forge_hmac" else None)
        elif tampering == "swap":  # rows 4 and 5 change places (their seq numbers exchanged)
            _tamper(schema, "UPDATE audit_auditevent SET seq = -seq WHERE seq IN (%s, %s)",
                    (victim.seq, victim.seq + 1))
            _tamper(schema, "UPDATE audit_auditevent SET seq = CASE WHEN seq = -%s THEN %s ELSE %s END "
                    "WHERE seq IN (-%s, -%s)", (victim.seq, victim.seq + 1, victim.seq, victim.seq, victim.seq + 1))
        elif tampering == "truncate_tail":
            _tamper(schema, "DELETE FROM audit_auditevent WHERE seq >= %s", (head.seq - 1,))
            victim = head
        elif tampering == "delete_checkpoint":
            _tamper(schema, "DELETE FROM tenants_auditcheckpoint WHERE schema_name = %s", (schema,))
            victim = head
        else:
            _tamper(schema, "DELETE FROM tenants_auditchainkey WHERE schema_name = %s", (schema,))
            victim = events[0]
        with pytest.raises(CommandError):
            call_command("audit_verify", tenant=municipality.slug)
        out = capsys.readouterr().out
        assert "NG" in out and f"連番 {victim.seq}" in out, out
        with in_tenant(municipality):
            chain, anchors = chain_verify(), checkpoint_check()
        assert not (chain.ok and anchors.ok)
        assert (chain.broken_seq if not chain.ok else anchors.seq) == victim.seq


@pytest.mark.schema
def test_a_checkpoint_is_also_in_the_write_once_store_and_an_altered_one_is_refused(fresh_municipality,
                                                                                    django_db_blocker):
    from audit.anchors import AnchorExists, anchor_store
    from audit.checkpoints import anchor_name

    municipality = fresh_municipality()
    with django_db_blocker.unblock():
        head = _chain_with_checkpoint(municipality, events=3)[-1]
        store = anchor_store()
        name = anchor_name(municipality.schema_name, head.seq, head.hash)
        assert store.names(f"{municipality.schema_name}/") == [name]
        with pytest.raises(AnchorExists):
            store.put(name, b"{}")  # write-once: never replaced
        # a checkpoint row altered in the database (its signature no longer matches)
        _tamper(municipality.schema_name, "UPDATE tenants_auditcheckpoint SET hash = %s WHERE schema_name = %s",
                ("0" * 64, municipality.schema_name))
        with in_tenant(municipality):
            result = checkpoint_check()
        assert not result.ok and any("署名" in p for p in result.problems)


@pytest.mark.schema
def test_checkpoints_are_due_every_few_minutes_while_the_chain_grows(fresh_municipality, django_db_blocker,
                                                                     settings):
    from datetime import timedelta

    from django.utils import timezone

    from audit.tasks import checkpoint_due, checkpoint_now

    municipality = fresh_municipality()
    with django_db_blocker.unblock(), in_tenant(municipality):
        now = timezone.now()
        assert checkpoint_due(now, municipality)  # provisioning wrote events, never signed
        checkpoint_now()
        assert not checkpoint_due(now, municipality)  # nothing new
        record(action="view", target_type="person", target_id="1")
        assert not checkpoint_due(now + timedelta(seconds=60), municipality)  # too soon
        assert checkpoint_due(now + timedelta(seconds=settings.AUDIT_CHECKPOINT_SECONDS), municipality)
        assert checkpoint_now()["ok"] and chain_verify().ok and checkpoint_check().anchors == 2


def test_the_checkpoint_job_is_registered_with_the_dispatcher():
    from audit.tasks import checkpoint_due
    from madoguchi.celery import app
    from tenants import jobs

    job = next(j for j in jobs.registered() if j.name == "audit.checkpoint")
    assert job.due is checkpoint_due and job.task_name in app.tasks
    assert "audit.checkpoint_public" in {e["task"] for e in app.conf.beat_schedule.values()}


@pytest.mark.schema
def test_termination_keeps_the_chain_key_and_the_trail_verifiable(fresh_municipality, django_db_blocker):
    from tenants.services import municipality_suspend, municipality_terminate

    municipality = fresh_municipality()
    with django_db_blocker.unblock():
        municipality_suspend(municipality=municipality, reason="契約終了")
        municipality_terminate(municipality=municipality)
        with in_tenant(municipality):
            record(action="view", target_type="audit_chain", target_id="")
            assert chain_verify().ok  # the data key is gone; the chain key is not
        assert AuditEvent.objects.filter(target_type="municipality_data_key").exists()


def test_the_dispatcher_sends_the_checkpoint_job_to_each_municipality_whose_chain_grew(db, monkeypatch):
    from django.db import connection

    from tenants import jobs, tasks

    sent: list[tuple[str, str]] = []

    class FakeApp:  # the broker is the edge here; what matters is which schema each job is sent from
        def send_task(self, name):
            sent.append((name, connection.schema_name))

    monkeypatch.setattr("madoguchi.celery.app", FakeApp())
    monkeypatch.setattr(jobs, "_jobs", {"audit.checkpoint": jobs._jobs["audit.checkpoint"]})
    assert tasks.dispatch_due_jobs() == 2  # testa and testb have events and no checkpoint yet
    assert sorted(sent) == [("audit.checkpoint", "m_testa"), ("audit.checkpoint", "m_testb")]


@pytest.mark.schema
def test_a_chain_older_than_keys_keeps_its_sha256_rows_verifiable_and_is_keyed_from_the_migration(
        fresh_municipality, django_db_blocker):
    """An existing deployment: rows written before keys are plain SHA-256 links; migration tenants 0005 keys the
    chain from the next row on; the old rows still verify, an edit among them is still found, and the start of
    the keyed part cannot be moved."""
    import importlib

    from django.apps import apps as django_apps
    from django.db import connection

    municipality = fresh_municipality()
    schema = municipality.schema_name
    with django_db_blocker.unblock():
        # Make it look like before keys: no key row, every hash a plain SHA-256 link.
        _tamper(schema, "DELETE FROM tenants_auditchainkey WHERE schema_name = %s", (schema,))
        _recompute_from(municipality, 1, None)
        with in_tenant(municipality):
            head = AuditEvent.objects.order_by("-seq").first().seq
            assert not chain_verify().ok  # events and no key: refused until the migration keys the chain
        migration = importlib.import_module("tenants.migrations.0005_audit_chain_key")
        from madoguchi.dbroles import owner_connection

        with owner_connection():
            connection.set_schema_to_public()
            migration.keys_for_existing_chains(django_apps, connection.schema_editor())
        key = chain_key(schema_name=schema)
        assert key.since_seq == head + 1
        with in_tenant(municipality):
            new = record(action="view", target_type="person", target_id="1")
            assert new.hash == event_hash(new, key) != event_hash(new)
            assert chain_verify().ok and chain_verify().checked == head + 1
        _tamper(schema, "UPDATE audit_auditevent SET target_id = 'x' WHERE seq = 2")
        with in_tenant(municipality):
            assert chain_verify().broken_seq == 2
        _tamper(schema, "UPDATE tenants_auditchainkey SET since_seq = %s WHERE schema_name = %s", (head + 2, schema))
        with in_tenant(municipality):
            result = chain_verify()
        assert not result.ok and "鍵" in result.reason
