from __future__ import annotations

from celery import shared_task

from audit.models import AuditAction
from audit.services import chain_verify, record
from madoguchi.tasks import TenantTask


@shared_task(base=TenantTask, name="audit.verify_chain")
def verify_chain() -> dict:
    """Verify this municipality's audit chain and record the outcome in the chain itself."""
    result = chain_verify()
    record(action=AuditAction.VERIFY, target_type="audit_chain", target_id="",
           details={"ok": result.ok, "checked": result.checked, "broken_seq": result.broken_seq,
                    "reason": result.reason})
    return {"ok": result.ok, "checked": result.checked, "broken_seq": result.broken_seq}
