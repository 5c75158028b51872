"""The tablet as an output channel of ``forms_builder.channels`` (plugged in from ``AppConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from forms_builder.channels import Delivery, OutputChannel


class TabletChannel(OutputChannel):
    key = "tablet"
    label = _lazy("タブレットで確認・署名")
    opens_pdf = False  # the staff screen stays; the tablet shows the document

    def deliver(self, *, document: Any, pdf: bytes, actor: Any, request: Any = None) -> Delivery:
        from forms_builder.tablet.services import tablet_push

        tablet_push(actor=actor, document=document, counter=getattr(request, "counter", None))
        return Delivery(message=_("タブレットに送りました。住民の方に確認と署名をお願いしてください。"))
