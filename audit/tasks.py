from __future__ import annotations

import logging

from celery import shared_task
from django.db import connection
from django_tenants.utils import schema_context

from audit.checkpoints import checkpoint_check, checkpoint_latest, checkpoint_write
from audit.models import AuditAction
from audit.services import GENESIS_HASH, chain_verify, record
from madoguchi.tasks import TenantTask

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask, name="audit.verify_chain")
def verify_chain() -> dict:
    """Verify this municipality's audit chain against its last signed checkpoint, record the outcome in the
    chain itself and, if all is well, sign the new head (kept in the public schema)."""
    result = chain_verify()
    checkpoint = checkpoint_check()
    ok = result.ok and checkpoint.ok
    record(action=AuditAction.VERIFY, target_type="audit_chain", target_id="",
           details={"ok": ok, "checked": result.checked, "broken_seq": result.broken_seq or checkpoint.seq,
                    "reason": result.reason or checkpoint.reason})
    if ok:
        checkpoint_write()
    return {"ok": ok, "checked": result.checked, "broken_seq": result.broken_seq if not result.ok else
            (None if checkpoint.ok else checkpoint.seq)}


def checkpoint_now() -> dict:
    """Verify the rows since the latest signed checkpoint (cheap: minutes of events) and sign the new head.
    A broken segment is not signed: it is recorded and logged for the nightly verification and the vendor."""
    latest = checkpoint_latest()
    after_seq, after_hash = latest if latest else (0, GENESIS_HASH)
    result = chain_verify(after_seq=after_seq, after_hash=after_hash)
    if not result.ok:
        logger.error("audit chain of %s broken at %s: %s", connection.schema_name, result.broken_seq, result.reason)
        return {"ok": False, "broken_seq": result.broken_seq}
    checkpoint = checkpoint_write()
    return {"ok": True, "seq": getattr(checkpoint, "seq", None), "checked": result.checked}


@shared_task(base=TenantTask, name="audit.checkpoint")
def checkpoint() -> dict:
    """Sign this municipality's chain head (dispatched by tenants.dispatch_due_jobs when it is due)."""
    return checkpoint_now()


@shared_task(name="audit.checkpoint_public")
def checkpoint_public() -> dict:
    """Sign the public schema's chain head (vendor operations), on the beat timetable."""
    with schema_context("public"):
        return checkpoint_now()


def checkpoint_due(now: object, municipality: object) -> bool:
    """Due when the chain grew since the latest checkpoint and that one is older than the interval (the
    dispatcher runs every minute inside the municipality's schema)."""
    from django.conf import settings

    from audit.models import AuditEvent
    from tenants.models import AuditCheckpoint

    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    if head is None:
        return False
    last = (AuditCheckpoint.objects.filter(schema_name=connection.schema_name).order_by("-seq")
            .values_list("seq", "signed_at").first())
    if last is None:
        return True
    return head > last[0] and (now - last[1]).total_seconds() >= settings.AUDIT_CHECKPOINT_SECONDS - 30
