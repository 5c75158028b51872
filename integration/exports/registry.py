"""Registry of export kinds: what received data goes to the core systems, item by item.

Apps register an :class:`ExportKind` in ``AppConfig.ready`` (the shipped kinds live in
``integration.exports.kinds``). An item has a code (the JSON key in ``ExportRecord.payload``), a
Japanese label and meaning (used for the default layout's headers and for the linkage disclosure),
a type and, for coded items, its code table. ``export_record_submit`` validates every payload against
its kind, so a layout can rely on the items it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

ITEM_TYPES = ("text", "date", "code", "number")

# Pseudo items every layout may use besides the kind's own items (filled from the ExportRecord row).
# Their labels head the columns of the shipped layouts: file contents for the core systems, not translated
# (like the kinds' item labels). Their meanings are UI text.
META_LABELS: dict[str, str] = {
    "_id": "受付連番",
    "_kind": "データ種別",
    "_received_at": "受付日時",
    "_received_date": "受付日",
    "_source": "受付元",
    "_source_id": "受付元番号",
    "_municipality_code": "団体コード",
    "_masked": "支援措置マスク",
    "_correction": "訂正区分",
    "_corrects_id": "訂正元受付連番",
}
META_MEANINGS: dict[str, str] = {
    "_id": _lazy("出力対象データの通し番号（カーソル）。重複取込の検出に使えます。"),
    "_kind": _lazy("出力データの種別コード"),
    "_received_at": _lazy("窓口支援システムで受付した日時（日本時間）"),
    "_received_date": _lazy("窓口支援システムで受付した日"),
    "_source": _lazy("データを作成した機能（手続ナビ・申請書など）"),
    "_source_id": _lazy("受付元での受付番号"),
    "_municipality_code": _lazy("出力した自治体の全国地方公共団体コード（6桁）"),
    "_masked": _lazy("1: 支援措置の対象世帯のため住所等をマスクした行（基幹系に取り込まないでください）、"
                     "0: マスクなし"),
    "_correction": _lazy("1: 基幹系に連携済みの記録の訂正（全項目を訂正後の値で再送。訂正元受付連番の記録を置き換えて"
                         "ください）、0: 新規"),
    "_corrects_id": _lazy("訂正の対象となった元の記録の受付連番（新規の記録は空欄）"),
}
META_ITEMS: dict[str, tuple[str, str]] = {code: (label, META_MEANINGS[code]) for code, label in META_LABELS.items()}


@dataclass(frozen=True)
class ExportItem:
    """``label`` is data (the default header of the shipped layouts' column, untranslated); ``meaning`` and the
    kind's ``label``, ``description`` and ``basis`` are UI text (lazy translations in the shipped kinds)."""

    code: str
    label: str
    meaning: str = ""
    type: str = "text"
    required: bool = False
    codes: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    # Where a person lives (住所・方書・郵便番号・住所コード …): masked in every file handed to a person without
    # 「支援措置の閲覧」 when the record concerns a household under an address-restricting support measure.
    address: bool = False
    # Who the record is about: an item holding a 宛名番号 (``"resident"``) or a 世帯番号 (``"household"``).
    # Exports check these against the support measures and name the residents in the audit trail.
    identifies: str = ""

    def __post_init__(self) -> None:
        if self.type not in ITEM_TYPES:
            raise ValueError(f"unknown item type {self.type!r} for {self.code}")
        if self.code.startswith("_"):
            raise ValueError(f"item codes starting with '_' are reserved: {self.code}")
        if self.identifies not in ("", "resident", "household"):
            raise ValueError(f"identifies must be 'resident' or 'household': {self.code}")

    @property
    def code_table(self) -> dict[str, str]:
        return dict(self.codes)


@dataclass(frozen=True)
class ExportKind:
    code: str
    label: str
    area: str
    items: tuple[ExportItem, ...]
    description: str = ""
    basis: str = ""  # the standard or form the items follow
    default_columns: tuple[str, ...] = field(default=())  # item codes of the shipped layout; all if empty

    def item(self, code: str) -> ExportItem | None:
        for item in self.items:
            if item.code == code:
                return item
        return None

    @property
    def item_codes(self) -> list[str]:
        return [item.code for item in self.items]

    @property
    def address_items(self) -> frozenset[str]:
        return frozenset(item.code for item in self.items if item.address)

    def identity_items(self, what: str) -> list[str]:
        """Codes of the items holding a 宛名番号 (``what="resident"``) or a 世帯番号 (``"household"``)."""
        return [item.code for item in self.items if item.identifies == what]

    def label_for(self, code: str) -> str:
        if code in META_ITEMS:
            return META_ITEMS[code][0]
        item = self.item(code)
        return item.label if item else code

    def validate_payload(self, payload: object) -> list[str]:
        """Every problem of a payload, as messages naming the item; empty when valid."""
        if not isinstance(payload, dict):
            return [_("受付データは項目名と値の組（JSONオブジェクト）で渡してください。")]
        errors: list[str] = []
        known = {item.code: item for item in self.items}
        for key in payload:
            if key not in known:
                errors.append(_("項目「%(key)s」は「%(kind)s」にありません。") % {"key": key, "kind": self.label})
        for item in self.items:
            value = payload.get(item.code)
            if value is None or value == "":
                if item.required:
                    errors.append(_("必須項目「%(label)s」（%(code)s）がありません。")
                                  % {"label": item.label, "code": item.code})
                continue
            if item.type == "number":
                if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
                    errors.append(_("項目「%(label)s」は数字で指定してください（値: %(value)s）。")
                                  % {"label": item.label, "value": value})
                continue
            if not isinstance(value, str):
                errors.append(_("項目「%(label)s」は文字列で指定してください。") % {"label": item.label})
                continue
            if item.type == "date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    errors.append(_("項目「%(label)s」の日付「%(value)s」が正しくありません（YYYY-MM-DD）。")
                                  % {"label": item.label, "value": value})
            elif item.type == "code" and item.codes and value not in item.code_table:
                errors.append(_("項目「%(label)s」のコード「%(value)s」は定義されていません"
                                "（使用できる値: %(codes)s）。")
                              % {"label": item.label, "value": value, "codes": ", ".join(item.code_table)})
            if item.max_length and len(value) > item.max_length:
                errors.append(_("項目「%(label)s」は%(max)d文字以内にしてください（%(len)d文字）。")
                              % {"label": item.label, "max": item.max_length, "len": len(value)})
        return errors


_kinds: dict[str, ExportKind] = {}

# An item whose code or label reads like a place where someone lives must declare ``address=True``: the
# support-measure guard masks exactly the declared items, so an undeclared one would leak.
ADDRESS_CODE = re.compile(r"address|addr|katagaki|post_?code|postal|zip|ju_?u?sho|banchi|kyosho|residence",
                          re.IGNORECASE)
ADDRESS_LABEL = re.compile("住所|方書|郵便番号|所在|居所|番地|転居先|転出先|転入前|送付先|現住")


def protection_problems(kind: ExportKind) -> list[str]:
    """Why ``kind`` could let a protected address through (empty when it cannot)."""
    problems = [f"{kind.code}.{item.code}: looks like an address; declare address=True"
                for item in kind.items if not item.address
                and (ADDRESS_CODE.search(item.code) or ADDRESS_LABEL.search(str(item.label)))]
    if kind.address_items and not (kind.identity_items("resident") or kind.identity_items("household")):
        problems.append(f"{kind.code}: has address items but no item with identifies='resident' or "
                        "'household', so a protected person's record cannot be recognised")
    return problems


def register(kind: ExportKind) -> None:
    """Add a kind; refused when an address item is undeclared or the record's person cannot be known."""
    problems = protection_problems(kind)
    if problems:
        raise ValueError("; ".join(problems))
    _kinds[kind.code] = kind


def get(code: str) -> ExportKind | None:
    return _kinds.get(code)


def registered() -> list[ExportKind]:
    return list(_kinds.values())


def available_for(municipality: object) -> list[ExportKind]:
    """Kinds whose business area is in the municipality's plan."""
    if municipality is None or not hasattr(municipality, "has_area"):
        return []
    return [kind for kind in _kinds.values() if municipality.has_area(kind.area)]
