"""Linkage disclosure (R3.7): every linkage of this municipality — direction, method, items, frequency.

Generated from the layout definitions and schedules, so it is always what the system actually does.
Other parts (e.g. exports) can add entries by appending a callable to ``PROVIDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext

from integration.dates import format_labels
from integration.exports.render import spreadsheet_csv
from integration.exports.wareki import format_date
from integration.models import LinkageLayout
from integration.targets import target_for


@dataclass
class DisclosedItem:
    label: str
    name: str
    meaning: str


@dataclass
class DisclosedLinkage:
    name: str
    direction: str
    method: str
    target: str
    file_format: str
    frequency: str
    description: str = ""
    items: list[DisclosedItem] = field(default_factory=list)


PROVIDERS: list[Callable[[], list[DisclosedLinkage]]] = []

DOCUMENT_TITLE = _lazy("データ連携の公開情報（連携方法・連携項目・連携頻度）")


def _codes_text(codes: dict) -> str:
    """「　コード: 1=男、2=女」: a code table for an item's meaning."""
    return _("　コード: %(codes)s") % {"codes": pgettext("separator", "、").join(f"{k}={v}" for k, v in codes.items())}


def _layout_linkage(layout: LinkageLayout) -> DisclosedLinkage:
    try:
        target = target_for(layout.target)
        target_label = target.label
    except ValueError:
        target, target_label = None, layout.target
    items = []
    dot = pgettext("separator", "・")
    for column in layout.columns:
        spec = target.field(column.get("field", "")) if target else None
        if spec is None or spec.kind == "ignore":
            continue
        meaning = spec.meaning
        if spec.kind == "date":
            meaning = _("%(meaning)s（%(formats)s）") % {
                "meaning": meaning, "formats": format_labels(layout.date_formats or ["yyyymmdd"], dot)}
        table = (layout.code_tables or {}).get(spec.code_table) if spec.code_table else None
        if table:
            meaning += _codes_text(table)
        if spec.name == "op" and layout.op_codes:
            meaning += _codes_text(layout.op_codes)
        items.append(DisclosedItem(label=column.get("label") or spec.label, name=spec.label, meaning=meaning))
    schedules = [s.describe() for s in layout.schedules.all() if s.is_active]
    formats = [layout.get_format_display(), layout.get_encoding_display()]
    if layout.format == LinkageLayout.Format.FIXED and layout.record_length:
        formats.append(_("レコード長 %(length)s バイト") % {"length": layout.record_length})
    formats.append(layout.get_mode_display())
    return DisclosedLinkage(
        name=layout.name, direction=layout.get_direction_display(), method=layout.method, target=target_label,
        file_format=dot.join(formats), frequency=pgettext("separator", "、").join(schedules) or _("随時（受信の都度）"),
        description=layout.description, items=items,
    )


def _export_linkages() -> list[DisclosedLinkage]:
    """Outbound linkages from the export registry (``integration.exports``), when that app is installed."""
    from django.apps import apps
    from django.db import connection

    if not apps.is_installed("integration.exports"):
        return []
    from integration.exports.selectors import linkage_disclosure

    result = []
    comma = pgettext("separator", "、")
    for entry in linkage_disclosure(municipality=connection.tenant):
        items = []
        for item in entry.get("items", []):
            meaning = str(item.get("meaning", ""))
            codes = item.get("codes") or {}
            if codes:
                meaning += _codes_text(codes)
            items.append(DisclosedItem(label=item.get("label", ""), name=item.get("code", ""), meaning=meaning))
        result.append(DisclosedLinkage(
            name=str(entry.get("label", "")), direction=str(entry.get("direction", "")),
            method=comma.join(_("%(label)s（%(method)s）") % {"label": m["label"], "method": m["method"]}
                              for m in entry.get("methods", [])),
            target=str(entry.get("area", "")),
            file_format=comma.join(_("%(name)s（%(format)s・%(encoding)s）")
                                   % {"name": lay["name"], "format": lay["format"], "encoding": lay["encoding"]}
                                   for lay in entry.get("layouts", [])),
            frequency=str(entry.get("frequency", "")), description=str(entry.get("basis", "") or ""), items=items,
        ))
    return result


def linkages() -> list[DisclosedLinkage]:
    result = [_layout_linkage(layout) for layout in LinkageLayout.objects.filter(is_active=True)
              .prefetch_related("schedules").order_by("direction", "target", "key")]
    result.extend(_export_linkages())
    for provider in PROVIDERS:
        result.extend(provider())
    return result


def disclosure_csv(*, municipality_name: str) -> bytes:
    """One row per item (UTF-8 with BOM so that spreadsheet software opens it; formula cells neutralised)."""
    # Layout names and item labels are typed by admins: no cell may run as a spreadsheet formula.
    header = [_("自治体"), _("連携名"), _("方向"), _("方法"), _("対象"), _("形式"), _("頻度"), _("項目"), _("内容")]
    return spreadsheet_csv(header, (
        (municipality_name, link.name, link.direction, link.method, link.target, link.file_format, link.frequency,
         item.label, item.meaning)
        for link in linkages() for item in link.items or [DisclosedItem("", "", "")]))


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    """The document is self-contained (fonts come from the system): WeasyPrint fetches nothing."""
    raise ValueError(_("外部リソースは読み込みません: %(url)s") % {"url": url[:80]})


def disclosure_pdf(*, municipality_name: str, on: date | None = None) -> bytes:
    """The disclosure as a PDF document (A4, IPAex fonts), dated in 和暦."""
    from weasyprint import HTML  # heavy import, only when a document is generated

    on = on or timezone.localdate()
    html = render_to_string("integration/disclosure_document.html", {
        "title": DOCUMENT_TITLE, "municipality_name": municipality_name, "linkages": linkages(),
        "generated_on": on, "generated_wareki": format_date(on, "wareki_kanji"),
    })
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()
