from __future__ import annotations

from celery import shared_task

from madoguchi.tasks import TenantTask


@shared_task(base=TenantTask, name="forms_tablet.build_signed_document")
def build_signed_document(signature_id: int) -> int | None:
    """Render the signed PDF off the web process (also built on demand by the staff screen if this has not run)."""
    from forms_builder.tablet.models import Signature
    from forms_builder.tablet.services import signed_document_build

    signature = Signature.objects.filter(pk=signature_id).first()
    if signature is None:
        return None
    document = signed_document_build(signature=signature)
    return document.pk if document is not None else None
