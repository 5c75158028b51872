"""Output channels (R2.8): how an issued PDF leaves the system. A registry, so that the tablet issue only
plugs in its channel from its ``AppConfig.ready``::

    from forms_builder.channels import OutputChannel, register

    class TabletChannel(OutputChannel):
        key = "tablet"
        label = "タブレットで確認・署名"
        def deliver(self, *, document, pdf, actor, request=None):
            push_to_paired_tablet(document, request)        # your own service
            return Delivery(message="タブレットに送りました。")

    register(TabletChannel())

``services.document_issue`` renders, stores (encrypted) and audits the PDF first — whatever the channel —
then calls ``deliver``; a paper channel answers with the PDF for the browser to print or save.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _lazy


@dataclass(frozen=True)
class Delivery:
    """What the view does next: send ``pdf`` (inline for printing or as an attachment), or show ``message``."""

    pdf: bytes | None = None
    disposition: str = "inline"
    message: str = ""


class OutputChannel:
    key: str = ""
    label: Any = ""

    def deliver(self, *, document: Any, pdf: bytes, actor: Any, request: Any = None) -> Delivery:  # pragma: no cover
        raise NotImplementedError


class PrintChannel(OutputChannel):
    """Paper: the PDF opens in the browser, which prints it (the server cannot see the print itself)."""

    key = "print"
    label = _lazy("印刷")

    def deliver(self, *, document: Any, pdf: bytes, actor: Any, request: Any = None) -> Delivery:
        return Delivery(pdf=pdf, disposition="inline")


class DownloadChannel(OutputChannel):
    key = "download"
    label = _lazy("ダウンロード")

    def deliver(self, *, document: Any, pdf: bytes, actor: Any, request: Any = None) -> Delivery:
        return Delivery(pdf=pdf, disposition="attachment")


_channels: dict[str, OutputChannel] = {}


def register(channel: OutputChannel) -> None:
    _channels[channel.key] = channel


def get(key: str) -> OutputChannel | None:
    return _channels.get(key)


def all_channels() -> list[OutputChannel]:
    return list(_channels.values())


register(PrintChannel())
register(DownloadChannel())
