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


def install() -> None:
    from navigation.cases import handback

    if check_signed_documents_unchanged not in handback.CLOSE_CHECKS:
        handback.CLOSE_CHECKS.append(check_signed_documents_unchanged)
