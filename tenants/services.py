"""Writes on municipalities: provisioning, suspension, reactivation, termination (crypto-shredding)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from audit.db import protect_current_schema
from audit.models import AuditAction
from audit.services import record
from madoguchi.dbroles import owner_connection
from tenants.areas import parse_areas
from tenants.crypto import new_wrapped_data_key
from tenants.models import Domain, Municipality
from tenants.signals import municipality_provisioned, municipality_renamed, municipality_terminated
from tenants.template import template_clone, template_ensure
from tenants.validators import prefecture_for_code, validate_municipality_code, validate_slug


@dataclass(frozen=True)
class Provisioned:
    municipality: Municipality
    domain: str
    admin_username: str
    seconds: float


def _profile_errors(
    *, name: str, areas: list[str] | str, contract_start: date | None, contract_end: date | None
) -> tuple[dict[str, list[str]], list[str]]:
    """Field errors of the editable profile (name, plan, contract dates) and the parsed area codes."""
    errors: dict[str, list[str]] = {}
    area_codes: list[str] = []
    if not (name or "").strip():
        errors["name"] = ["名称を入力してください。"]
    try:
        area_codes = parse_areas(areas)
    except ValueError as exc:
        errors["areas"] = [str(exc)]
    if contract_start and contract_end and contract_end < contract_start:
        errors["contract_end"] = ["契約終了日は契約開始日より後にしてください。"]
    return errors, area_codes


def _schema_for_slug(slug: str) -> str:
    return "m_" + slug.replace("-", "_")


def municipality_provision(
    *,
    code: str,
    slug: str,
    name: str,
    name_kana: str = "",
    areas: list[str] | str = (),
    contract_start: date | None = None,
    contract_end: date | None = None,
    admin_username: str = "admin",
    admin_password: str = "",
    admin_password_hash: str = "",
    actor: object = None,
) -> Provisioned:
    """Create a municipality ready to use: row, host, schema (cloned), data key and first admin.

    Validation happens before anything is written; if any step fails the schema is dropped and
    no row remains. Everything that writes runs on a connection of the owner role (DDL: the schema, its
    grants); the caller's application connection is left as it was. Call it from the Celery task
    ``tenants.provision_municipality`` or the ``create_municipality`` command, never inside a web request.
    ``admin_password_hash`` (from ``make_password``, already validated) keeps a clear password out of the broker.
    """
    started = time.perf_counter()
    code, slug = (code or "").strip(), (slug or "").strip().lower()
    errors, area_codes = _profile_errors(name=name, areas=areas, contract_start=contract_start,
                                         contract_end=contract_end)
    for field, validator, value in (("code", validate_municipality_code, code), ("slug", validate_slug, slug)):
        try:
            validator(value)
        except ValidationError as exc:
            errors[field] = exc.messages
    if not errors:
        if Municipality.objects.filter(code=code).exists():
            errors["code"] = [f"全国地方公共団体コード {code} の自治体は既に登録されています。"]
        if Municipality.objects.filter(slug=slug).exists():
            errors["slug"] = [f"識別名「{slug}」は既に使われています。"]
    if errors:
        raise ValidationError(errors)

    if not admin_password and not admin_password_hash:
        raise ValidationError({"admin_password": ["初期管理者のパスワードを入力してください。"]})
    schema_name = _schema_for_slug(slug)
    host = f"{slug}.{settings.BASE_DOMAIN}"
    with owner_connection():
        municipality, admin = _provision_as_owner(
            schema_name=schema_name, host=host, code=code, slug=slug, name=name, name_kana=name_kana,
            area_codes=area_codes, contract_start=contract_start, contract_end=contract_end,
            admin_username=admin_username, admin_password=admin_password, admin_password_hash=admin_password_hash,
            actor=actor)
    connection.set_schema_to_public()
    return Provisioned(municipality=municipality, domain=host, admin_username=admin.username,
                       seconds=time.perf_counter() - started)


def _provision_as_owner(*, schema_name: str, host: str, code: str, slug: str, name: str, name_kana: str,
                        area_codes: list[str], contract_start: date | None, contract_end: date | None,
                        admin_username: str, admin_password: str, admin_password_hash: str,
                        actor: object) -> tuple[Municipality, object]:
    template_ensure()
    connection.set_schema_to_public()
    try:
        with transaction.atomic():
            municipality = Municipality(
                schema_name=schema_name, code=code, slug=slug, name=name.strip(), name_kana=name_kana.strip(),
                prefecture=prefecture_for_code(code), areas=area_codes, contract_start=contract_start,
                contract_end=contract_end, wrapped_data_key=new_wrapped_data_key(schema_name=schema_name),
            )
            municipality.full_clean(exclude=["wrapped_data_key"])
            municipality.save()
            Domain.objects.create(domain=host, tenant=municipality, is_primary=True)
            template_clone(schema_name=schema_name)
            with schema_context(schema_name):
                with connection.cursor() as cursor:
                    protect_current_schema(cursor)
                from tenants.accounts.models import Role
                from tenants.accounts.services import staff_create

                admin = staff_create(actor=None, username=admin_username,
                                     password=admin_password or secrets.token_urlsafe(24) + "aA1!",
                                     display_name="業務管理者", role=Role.ADMIN, areas=area_codes)
                if admin_password_hash:
                    admin.password = admin_password_hash
                    admin.save(update_fields=["password"])
                record(action=AuditAction.PROVISION, target_type="municipality", target_id=code,
                       details={"slug": slug, "areas": area_codes}, actor=actor)
                municipality_provisioned.send(sender=Municipality, municipality=municipality)
            record(action=AuditAction.PROVISION, target_type="municipality", target_id=code,
                   details={"slug": slug, "name": municipality.name, "areas": area_codes, "host": host}, actor=actor)
    except Exception:
        connection.set_schema_to_public()
        if schema_exists(schema_name) and not Municipality.objects.filter(schema_name=schema_name).exists():
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
        raise
    connection.set_schema_to_public()
    return municipality, admin



@transaction.atomic
def municipality_update(
    *,
    municipality: Municipality,
    actor: object = None,
    name: str,
    name_kana: str = "",
    areas: list[str] | str = (),
    contract_start: date | None = None,
    contract_end: date | None = None,
) -> Municipality:
    """Change name, plan (business areas) or contract dates; the before/after plan is audited."""
    errors, area_codes = _profile_errors(name=name, areas=areas, contract_start=contract_start,
                                         contract_end=contract_end)
    if errors:
        raise ValidationError(errors)
    stored = Municipality.objects.select_for_update().get(pk=municipality.pk)  # the caller's copy may be edited
    before = {"name": stored.name, "areas": list(stored.areas or []),
              "contract_start": str(stored.contract_start or ""), "contract_end": str(stored.contract_end or "")}
    municipality.name, municipality.name_kana, municipality.areas = name.strip(), name_kana.strip(), area_codes
    municipality.contract_start, municipality.contract_end = contract_start, contract_end
    municipality.save(update_fields=["name", "name_kana", "areas", "contract_start", "contract_end", "updated_at"])
    after = {"name": municipality.name, "areas": area_codes, "contract_start": str(contract_start or ""),
             "contract_end": str(contract_end or "")}
    record(action=AuditAction.UPDATE, target_type="municipality", target_id=municipality.code,
           details={"before": before, "after": after}, actor=actor)
    if before["name"] != municipality.name:
        old_name = before["name"]
        transaction.on_commit(lambda: municipality_renamed.send(sender=Municipality, municipality=municipality,
                                                                old_name=old_name))
    return municipality


@transaction.atomic
def municipality_suspend(*, municipality: Municipality, reason: str, actor: object = None) -> Municipality:
    if not (reason or "").strip():
        raise ValidationError({"suspended_reason": ["停止理由を入力してください。"]})
    municipality.status = Municipality.Status.SUSPENDED
    municipality.suspended_reason = reason.strip()
    municipality.save(update_fields=["status", "suspended_reason", "updated_at"])
    record(action=AuditAction.SUSPEND, target_type="municipality", target_id=municipality.code,
           details={"reason": reason.strip()}, actor=actor)
    return municipality


@transaction.atomic
def municipality_reactivate(*, municipality: Municipality, actor: object = None) -> Municipality:
    if municipality.status == Municipality.Status.TERMINATED:
        raise ValidationError("解約済みの自治体は再開できません。")
    municipality.status = Municipality.Status.ACTIVE
    municipality.suspended_reason = ""
    municipality.save(update_fields=["status", "suspended_reason", "updated_at"])
    record(action=AuditAction.UPDATE, target_type="municipality", target_id=municipality.code,
           details={"status": "active"}, actor=actor)
    return municipality


@transaction.atomic
def municipality_terminate(*, municipality: Municipality, actor: object = None) -> Municipality:
    """End the contract and destroy the data key (R8.6).

    Every value encrypted with the data key (個人番号, card data) becomes unreadable, in backups too.
    Files kept outside the database (linkage inbox/outbox/received files) are removed by the apps
    that own them (``tenants.signals.municipality_terminated``). The schema's plain rows are not dropped
    here: that is a separate, deliberate step of the vendor's termination runbook (docs/operations.md).
    """
    municipality.status = Municipality.Status.TERMINATED
    municipality.wrapped_data_key = None
    municipality.data_key_destroyed_at = timezone.now()
    municipality.save(update_fields=["status", "wrapped_data_key", "data_key_destroyed_at", "updated_at"])
    record(action=AuditAction.DELETE, target_type="municipality_data_key", target_id=municipality.code,
           details={"crypto_shredded": True}, actor=actor)
    # Apps remove what they keep outside the database (linkage inbox/outbox/received files).
    transaction.on_commit(lambda: municipality_terminated.send(sender=Municipality, municipality=municipality))
    return municipality
