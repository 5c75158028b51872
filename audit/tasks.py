from __future__ import annotations

from celery import shared_task

from audit.checkpoints import checkpoint_check, checkpoint_write
from audit.models import AuditAction
from audit.services import chain_verify, record
from madoguchi.tasks import TenantTask


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
