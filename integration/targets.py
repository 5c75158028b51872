"""Registry of import targets: which fields a layout may map, how they are validated, where they go.

A layout (data) says which column of a file carries which field; a target (code) knows the field's
type, the mirror table, its key and how a staged file is applied in SQL. Adding a target is adding an
entry here; adding a file format is adding a parser in ``integration.parsers``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration.models import Eligibility, Household, Resident, ResidentKind, ResidentStatus, Sex, SupportMeasure
from tenants.areas import BusinessArea

# 続柄 (住民記録 standard): base terms chained with 「の」 (子の子, 子の妻 …). 祖父・孫 are not used.
RELATIONSHIP_TERMS = frozenset({
    "世帯主", "夫", "妻", "夫(未届)", "妻(未届)", "子", "父", "母", "兄", "姉", "弟", "妹", "養父", "養母",
    "養子", "縁故者", "同居人", "夫の父", "夫の母",
})


def is_valid_relationship(value: str) -> bool:
    if value in RELATIONSHIP_TERMS:
        return True
    parts = value.replace("（", "(").replace("）", ")").split("の")
    if not 2 <= len(parts) <= 5:
        return False
    bases = {"夫", "妻", "子", "父", "母", "兄", "姉", "弟", "妹", "養父", "養母", "養子", "夫(未届)", "妻(未届)"}
    return all(part in bases for part in parts)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a target. ``label_text`` / ``meaning_text`` are lazy translations (the field tables
    are built at import time); ``label`` / ``meaning`` give them as plain strings in the active language,
    safe to join, compare, put in JSON or in an import error."""

    name: str
    label_text: str | Promise
    kind: str = "str"  # str | atena | digits | date | code | bool | personal_no | municipality_code | op
    #                    | record_type | ignore
    max_length: int = 0
    choices: tuple[str, ...] = ()
    code_table: str = ""
    column: str | None = None  # staging/mirror column; None for fields that are checked, not stored
    meaning_text: str | Promise = ""
    exact_length: int = 0

    @property
    def label(self) -> str:
        return str(self.label_text)

    @property
    def meaning(self) -> str:
        return str(self.meaning_text)

    @property
    def default_header(self) -> str:
        """The label as written in the source (Japanese), whatever the UI language: what a new layout's
        column is headed by until the admin types the core system's own header (data, not UI text)."""
        with translation.override(None):
            return str(self.label_text)

    @property
    def stored(self) -> bool:
        return self.column is not None


def _f(name: str, label: str | Promise, kind: str = "str", *, max_length: int = 0, store: bool = True,
       meaning: str | Promise = "", **kwargs: object) -> FieldSpec:
    return FieldSpec(name=name, label_text=label, kind=kind, max_length=max_length, meaning_text=meaning,
                     column=name if store else None, **kwargs)


COMMON = (
    _f("municipality_code", _lazy("全国地方公共団体コード"), "municipality_code", store=False,
       meaning=_lazy("ファイルの送信元自治体。取込先自治体と一致しなければ取り込みません")),
    _f("op", _lazy("処理区分"), "op", store=False, meaning=_lazy("差分ファイルの追加・変更・削除の区分")),
    _f("ignore", _lazy("（未使用）"), "ignore", store=False, meaning=_lazy("取り込まない項目")),
    _f("record_type", _lazy("レコード区分"), "record_type", store=False,
       meaning=_lazy("ヘッダ・データ・トレーラの区別（データレコードの値だけを取り込みます）")),
)


@dataclass
class Target:
    key: str
    label: str
    model: type
    fields: tuple[FieldSpec, ...]
    key_columns: tuple[str, ...]
    conflict: str
    area: str | None = None
    extra_columns: tuple[str, ...] = ()  # filled by ``derive`` (search columns, encrypted values)
    required: tuple[str, ...] = ()
    allow_details: bool = False
    scope_column: str | None = None
    defaults: dict[str, object] = field(default_factory=dict)
    routed: bool = False  # the scope column comes from each row (業務区分 of a multi-area file), not the target
    # Other keys a layout may declare (``key_fields``) when the source system identifies a row differently
    # (a vendor's support-measure file keyed by 宛名番号 alone, without the period). ``keyed`` gives the target
    # under the layout's key; the apply then follows that key's own rule (``by_layout_key``).
    layout_keys: tuple[tuple[str, ...], ...] = ()
    by_layout_key: bool = False

    def keyed(self, key_fields: list[str] | tuple[str, ...] | None) -> Target:
        """This target under a layout's declared key (itself when the layout declares none or the target's own);
        ValueError for a key the target does not offer."""
        if not key_fields or set(key_fields) == set(self.key_columns):
            return self
        for alternative in self.layout_keys:
            if set(key_fields) == set(alternative):
                return replace(self, key_columns=alternative, by_layout_key=True)
        raise ValueError(key_fields)

    @property
    def key_choices(self) -> tuple[tuple[str, ...], ...]:
        return (self.key_columns, *self.layout_keys)

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def field(self, name: str) -> FieldSpec | None:
        for spec in (*self.fields, *COMMON):
            if spec.name == name:
                return spec
        if self.allow_details and name.startswith("details.") and len(name) > 8:
            return FieldSpec(name=name, label_text=name[8:], kind="str", max_length=200, column=None,
                             meaning_text=_lazy("詳細情報（JSON）"))
        return None

    @property
    def columns(self) -> list[str]:
        """Staging/mirror columns in a fixed order: stored fields, extra columns, scope."""
        cols = [spec.column for spec in self.fields if spec.column]
        cols += [c for c in self.extra_columns if c not in cols]
        if self.allow_details:
            cols.append("details")
        if self.scope_column and self.scope_column not in cols:
            cols.append(self.scope_column)
        return cols

    def default_for(self, column: str) -> object:
        if column in self.defaults:
            return self.defaults[column]
        model_field = self.model._meta.get_field(column)
        if model_field.null:
            return None
        if model_field.has_default():
            return model_field.get_default()
        return "" if model_field.get_internal_type() in ("CharField", "TextField") else None


RESIDENT_FIELDS = (
    _f("atena_no", _lazy("宛名番号"), "atena", max_length=15,
       meaning=_lazy("住民を一意に識別する番号（末尾はチェックデジット）")),
    _f("household_no", _lazy("世帯番号"), "atena", max_length=15,
       meaning=_lazy("世帯を識別する番号（末尾はチェックデジット）")),
    _f("resident_code", _lazy("住民票コード"), "digits", max_length=11, exact_length=11,
       meaning=_lazy("住民票コード（11桁）")),
    _f("personal_no", _lazy("個人番号"), "personal_no", store=False,
       meaning=_lazy("個人番号。暗号化して保存し、画面に全桁は表示しません")),
    _f("name", _lazy("氏名"), max_length=100, meaning=_lazy("氏名（外字は変換表で標準文字へ）")),
    _f("name_kana", _lazy("氏名（フリガナ）"), max_length=200, meaning=_lazy("氏名のフリガナ")),
    _f("name_alpha", _lazy("氏名（アルファベット）"), max_length=200,
       meaning=_lazy("外国人住民の氏名（アルファベット）")),
    _f("common_name", _lazy("通称"), max_length=100, meaning=_lazy("外国人住民の通称")),
    _f("old_surname", _lazy("旧氏"), max_length=50, meaning=_lazy("旧氏")),
    _f("birth_date", _lazy("生年月日"), "date", meaning=_lazy("生年月日")),
    _f("sex", _lazy("性別"), "code", code_table="sex", choices=tuple(Sex.values),
       meaning=_lazy("性別（1:男 2:女 9:その他・不明）")),
    _f("relationship", _lazy("続柄"), "code", code_table="relationship", max_length=40,
       meaning=_lazy("世帯主との続柄")),
    _f("head_name", _lazy("世帯主氏名"), max_length=100, meaning=_lazy("世帯主の氏名")),
    _f("address", _lazy("住所"), max_length=200, meaning=_lazy("住所")),
    _f("address_katagaki", _lazy("方書"), max_length=200, meaning=_lazy("方書（建物名・部屋番号等）")),
    _f("address_code", _lazy("住所コード"), "digits", max_length=20, meaning=_lazy("住所コード")),
    _f("postcode", _lazy("郵便番号"), max_length=8, meaning=_lazy("郵便番号")),
    _f("honseki", _lazy("本籍"), max_length=200, meaning=_lazy("本籍")),
    _f("hittousha", _lazy("筆頭者"), max_length=100, meaning=_lazy("戸籍の筆頭者")),
    _f("became_resident_on", _lazy("住民となった年月日"), "date", meaning=_lazy("住民となった年月日")),
    _f("address_set_on", _lazy("住所を定めた年月日"), "date", meaning=_lazy("住所を定めた年月日")),
    _f("notified_on", _lazy("届出年月日"), "date", meaning=_lazy("届出年月日")),
    _f("previous_address", _lazy("転入前住所"), max_length=200, meaning=_lazy("転入前住所")),
    _f("removed_on", _lazy("消除日"), "date", meaning=_lazy("住民票の消除日（転出・死亡等。未設定は空欄）")),
    _f("status", _lazy("住民状態"), "code", code_table="status", choices=tuple(ResidentStatus.values),
       meaning=_lazy("住民・転出・死亡・職権消除等")),
    _f("kind", _lazy("住民種別"), "code", code_table="kind", choices=tuple(ResidentKind.values),
       meaning=_lazy("日本人住民・外国人住民")),
    _f("nationality", _lazy("国籍・地域"), max_length=60, meaning=_lazy("外国人住民の国籍・地域")),
    _f("residence_status", _lazy("在留資格"), max_length=60, meaning=_lazy("外国人住民の在留資格")),
    _f("residence_period_end", _lazy("在留期間の満了日"), "date", meaning=_lazy("在留期間の満了日")),
    _f("residence_card_no", _lazy("在留カード等番号"), max_length=12, meaning=_lazy("在留カード等の番号")),
    _f("support_indicator", _lazy("支援措置区分"), "support_indicator", store=False, code_table="support_indicator",
       choices=("", *SupportMeasure.Kind.values),
       meaning=_lazy("住民記録の支援措置（DV等）の区分。全件取込で措置を追加しますが、終了はしません"
                     "（終了は支援措置ファイルか業務管理者の操作で行います）")),
)

HOUSEHOLD_FIELDS = (
    _f("household_no", _lazy("世帯番号"), "atena", max_length=15, meaning=_lazy("世帯を識別する番号")),
    _f("head_atena_no", _lazy("世帯主の宛名番号"), "atena", max_length=15, meaning=_lazy("世帯主の宛名番号")),
    _f("address", _lazy("住所"), max_length=200, meaning=_lazy("世帯の住所")),
    _f("address_katagaki", _lazy("方書"), max_length=200, meaning=_lazy("方書")),
    _f("address_code", _lazy("住所コード"), "digits", max_length=20, meaning=_lazy("住所コード")),
    _f("postcode", _lazy("郵便番号"), max_length=8, meaning=_lazy("郵便番号")),
)

ELIGIBILITY_FIELDS = (
    _f("atena_no", _lazy("宛名番号"), "atena", max_length=15, meaning=_lazy("対象者の宛名番号")),
    _f("kind", _lazy("資格種別"), "code", code_table="eligibility_kind", max_length=40,
       meaning=_lazy("資格・登録の種別")),
    _f("number", _lazy("記号番号等"), max_length=40, meaning=_lazy("被保険者番号・登録番号等")),
    _f("start_date", _lazy("開始日"), "date", meaning=_lazy("資格の開始日")),
    _f("end_date", _lazy("終了日"), "date", meaning=_lazy("資格の終了日（空欄は継続中）")),
)

SUPPORT_FIELDS = (
    _f("atena_no", _lazy("宛名番号"), "atena", max_length=15, meaning=_lazy("支援措置対象者の宛名番号")),
    _f("kind", _lazy("種別"), "code", code_table="support_kind", choices=tuple(SupportMeasure.Kind.values),
       meaning=_lazy("DV・ストーカー行為等・児童虐待等・その他")),
    _f("start_date", _lazy("開始日"), "date", meaning=_lazy("支援措置の開始日")),
    _f("end_date", _lazy("終了日"), "date", meaning=_lazy("支援措置の終了日（空欄は継続中）")),
    _f("restrict_address", _lazy("住所の非表示"), "bool", meaning=_lazy("住所等を非表示にするか（1:する 0:しない）")),
    _f("note", _lazy("備考"), max_length=200, meaning=_lazy("備考")),
)


def _resident_target() -> Target:
    return Target(
        key="residents", label=_("住民"), model=Resident, fields=RESIDENT_FIELDS, key_columns=("atena_no",),
        conflict="(atena_no)", area=BusinessArea.JUKI.value,
        extra_columns=("personal_no_encrypted", "personal_no_hash", "search_name", "search_kana", "search_address"),
        required=("atena_no", "household_no", "name", "birth_date", "sex"),
        defaults={"status": ResidentStatus.RESIDENT.value, "kind": ResidentKind.JAPANESE.value},
    )


def _household_target() -> Target:
    return Target(key="households", label=_("世帯"), model=Household, fields=HOUSEHOLD_FIELDS,
                  key_columns=("household_no",), conflict="(household_no)", area=BusinessArea.JUKI.value,
                  required=("household_no",))


def _eligibility_target(area: str) -> Target:
    return Target(
        key=f"eligibility:{area}", label=_("資格情報（%(area)s）") % {"area": BusinessArea(area).label},
        model=Eligibility, fields=ELIGIBILITY_FIELDS, key_columns=("atena_no", "kind"),
        conflict="(atena_no, area, kind)", area=area, required=("atena_no", "kind"), allow_details=True,
        scope_column="area", defaults={"area": area},
    )


MULTI_AREA = "eligibility:*"


def _eligibility_multi_target() -> Target:
    """One eligibility file for several business areas: a 業務区分 column routes each row through the layout's
    code table ``area``; rows of areas outside the municipality's plan are skipped and counted."""
    areas = tuple(a for a in BusinessArea.values if a != BusinessArea.JUKI.value)
    area_field = _f("area", _lazy("業務区分"), "code", code_table="area", choices=areas,
                    meaning=_lazy("行ごとの業務（コード表で業務に振り分け、契約外の業務の行は取り込みません）"))
    return Target(
        key=MULTI_AREA, label=_("資格情報（複数業務・業務区分で振り分け）"), model=Eligibility,
        fields=(area_field, *ELIGIBILITY_FIELDS), key_columns=("atena_no", "area", "kind"),
        conflict="(atena_no, area, kind)", area=None, required=("atena_no", "area", "kind"), allow_details=True,
        scope_column="area", routed=True,
    )


def _support_target() -> Target:
    return Target(
        key="support_measures", label=_("支援措置"), model=SupportMeasure, fields=SUPPORT_FIELDS,
        key_columns=("atena_no", "kind", "start_date"), conflict="(atena_no, kind, start_date)",
        area=BusinessArea.JUKI.value, required=("atena_no", "start_date"),
        defaults={"kind": SupportMeasure.Kind.DV.value, "restrict_address": True},
        # A vendor whose file has no period key: one measure per person, the file's row is that person's
        # current measure (see ApplyMixin._apply_measures_by_person and docs/integration.md).
        layout_keys=(("atena_no",),),
    )


_FACTORIES: dict[str, Callable[[], Target]] = {
    "residents": _resident_target,
    "households": _household_target,
    "support_measures": _support_target,
}


def target_for(key: str) -> Target:
    """``residents`` / ``households`` / ``support_measures`` / ``eligibility:<area>``; ValueError if unknown."""
    if key == MULTI_AREA:
        return _eligibility_multi_target()
    if key.startswith("eligibility:"):
        area = key.split(":", 1)[1]
        if area not in BusinessArea.values:
            raise ValueError(_("未知の業務「%(area)s」です") % {"area": area})
        return _eligibility_target(area)
    if key not in _FACTORIES:
        raise ValueError(_("未知の取込先「%(key)s」です"
                           "（residents / households / support_measures / eligibility:<業務>）") % {"key": key})
    return _FACTORIES[key]()


def target_choices() -> list[tuple[str, str]]:
    choices = [(k, f()) for k, f in _FACTORIES.items()]
    result = [(k, t.label) for k, t in choices]
    result += [(f"eligibility:{a}", _("資格情報（%(area)s）") % {"area": label})
               for a, label in BusinessArea.choices if a != "juki"]
    result.append((MULTI_AREA, _("資格情報（複数業務・業務区分で振り分け）")))
    return result
