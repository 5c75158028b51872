"""The hand-back at case close takes the signed version: a case whose signed document changed after signing
cannot be closed until the resident signed the changed version. A close check
(``navigation.cases.handback.CLOSE_CHECKS``) runs once per close, inside its transaction and before the hand-back
is built, so a refusal keeps the case open and writes nothing. While the signature is current, the values the one
hand-back record carries are the ones the resident signed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def check_signed_documents_unchanged(*, case: Any) -> None:
    from forms_builder.tablet import selectors
    from forms_builder.tablet.models import Signature

    signature = Signature.objects.filter(case=case).first()
    if signature is not None and not selectors.signature_current(signature=signature, fresh=True):
        raise ValidationError(_("署名の後に申請書の内容が変わりました。"
                                "タブレットに送り直して、署名し直してもらってください。"))


def signed_document_before_correction(*, case: Any) -> Any:
    """A correction after hand-back (``navigation.cases.handback.CORRECTION_CHECKS``): if the resident's signature
    is current now (or an earlier correction already asked for a new signature) and the corrected value changes
    what the signed documents print, the signed document no longer matches. The documents of that push are then
    issued again for print (a new audited document with the corrected value) and the correction is marked
    署名の再取得が必要. The case is closed, so the tablet cannot be used (a push needs an open case): the resident
    signs the printed document. The correction is still sent at once — the core system must not keep a wrong
    address until the resident comes back."""
    from forms_builder.tablet import selectors
    from forms_builder.tablet.models import Signature

    signature = Signature.objects.select_related("push__counter", "push__pushed_by", "document").filter(
        case=case).first()
    if signature is None:
        return None
    before = selectors.current_digest(push=signature.push)
    # the signature still matches, or an earlier correction already asked for a new signature (on its printout)
    awaiting = case.handback_corrections.filter(signature_required=True).exists()
    if before != signature.content_digest and not awaiting:
        return None  # changed by something else before (e.g. a new template version): not this correction's doing

    def finish(*, actor: Any) -> dict[str, Any]:
        from forms_builder.services import document_issue

        if selectors.current_digest(push=signature.push) == before:
            return {}  # the corrected value is not printed on the signed document
        codes = selectors.push_codes(signature.document)
        try:
            issued = document_issue(actor=actor, counter=signature.push.counter, case=case, channel="print",
                                    codes=codes or None)
        except ValidationError as exc:
            raise ValidationError({"value": [_("署名済みの申請書を訂正後の値で作り直せません：%(m)s")
                                             % {"m": m} for m in exc.messages]}) from exc
        return {"signature_required": True, "document_id": issued.document.pk}

    return finish


def install() -> None:
    from navigation.cases import handback

    if check_signed_documents_unchanged not in handback.CLOSE_CHECKS:
        handback.CLOSE_CHECKS.append(check_signed_documents_unchanged)
    if signed_document_before_correction not in handback.CORRECTION_CHECKS:
        handback.CORRECTION_CHECKS.append(signed_document_before_correction)
