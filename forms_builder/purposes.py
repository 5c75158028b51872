"""What a case was for, as the forms app knows it: the 証明書の交付請求 typed on the case (registered into
``navigation.cases.purposes`` so that a certificate-only case closes as 完了 without a reason)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def certificate_requests(case: Any) -> list[str]:
    from forms_builder.models import CaseEntry, FormTemplate

    kinds = {entry.key.split(":", 1)[1]: entry.value
             for entry in CaseEntry.objects.filter(case=case, person_key="", key__startswith="cert_kind:")}
    if not kinds:
        return []
    copies = {entry.key.split(":", 1)[1]: entry.value
              for entry in CaseEntry.objects.filter(case=case, person_key="", key__startswith="cert_copies:")}
    names = dict(FormTemplate.objects.filter(code__in=list(kinds)).values_list("code", "name"))
    return [_("証明書の交付請求（%(name)s %(copies)s通）") % {"name": names.get(code, code),
                                                         "copies": copies.get(code, "")}
            for code in sorted(kinds)]
