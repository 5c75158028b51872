"""Registry of import targets: which fields a layout may map, how they are validated, where they go.

A layout (data) says which column of a file carries which field; a target (code) knows the field's
type, the mirror table, its key and how a staged file is applied in SQL. Adding a target is adding an
entry here; adding a file format is adding a parser in ``integration.parsers``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
    name: str
    label: str
    kind: str = "str"  # str | atena | digits | date | code | bool | personal_no | municipality_code | op
    max_length: int = 0
    choices: tuple[str, ...] = ()
    code_table: str = ""
    column: str | None = None  # staging/mirror column; None for fields that are checked, not stored
    meaning: str = ""
    exact_length: int = 0

    @property
    def stored(self) -> bool:
        return self.column is not None


def _f(name: str, label: str, kind: str = "str", *, max_length: int = 0, store: bool = True, **kwargs: object
       ) -> FieldSpec:
    return FieldSpec(name=name, label=label, kind=kind, max_length=max_length,
                     column=name if store else None, **kwargs)


COMMON = (
    _f("municipality_code", "全国地方公共団体コード", "municipality_code", store=False,
       meaning="ファイルの送信元自治体。取込先自治体と一致しなければ取り込みません"),
    _f("op", "処理区分", "op", store=False, meaning="差分ファイルの追加・変更・削除の区分"),
    _f("ignore", "（未使用）", "ignore", store=False, meaning="取り込まない項目"),
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

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def field(self, name: str) -> FieldSpec | None:
        for spec in (*self.fields, *COMMON):
            if spec.name == name:
                return spec
        if self.allow_details and name.startswith("details.") and len(name) > 8:
            return FieldSpec(name=name, label=name[8:], kind="str", max_length=200, column=None,
                             meaning="詳細情報（JSON）")
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
    _f("atena_no", "宛名番号", "atena", max_length=15, meaning="住民を一意に識別する番号（末尾はチェックデジット）"),
    _f("household_no", "世帯番号", "atena", max_length=15, meaning="世帯を識別する番号（末尾はチェックデジット）"),
    _f("resident_code", "住民票コード", "digits", max_length=11, exact_length=11, meaning="住民票コード（11桁）"),
    _f("personal_no", "個人番号", "personal_no", store=False,
       meaning="個人番号。暗号化して保存し、画面に全桁は表示しません"),
    _f("name", "氏名", max_length=100, meaning="氏名（外字は変換表で標準文字へ）"),
    _f("name_kana", "氏名（フリガナ）", max_length=200, meaning="氏名のフリガナ"),
    _f("name_alpha", "氏名（アルファベット）", max_length=200, meaning="外国人住民の氏名（アルファベット）"),
    _f("common_name", "通称", max_length=100, meaning="外国人住民の通称"),
    _f("old_surname", "旧氏", max_length=50, meaning="旧氏"),
    _f("birth_date", "生年月日", "date", meaning="生年月日"),
    _f("sex", "性別", "code", code_table="sex", choices=tuple(Sex.values), meaning="性別（1:男 2:女 9:その他・不明）"),
    _f("relationship", "続柄", "code", code_table="relationship", max_length=40, meaning="世帯主との続柄"),
    _f("head_name", "世帯主氏名", max_length=100, meaning="世帯主の氏名"),
    _f("address", "住所", max_length=200, meaning="住所"),
    _f("address_katagaki", "方書", max_length=200, meaning="方書（建物名・部屋番号等）"),
    _f("address_code", "住所コード", "digits", max_length=20, meaning="住所コード"),
    _f("postcode", "郵便番号", max_length=8, meaning="郵便番号"),
    _f("honseki", "本籍", max_length=200, meaning="本籍"),
    _f("hittousha", "筆頭者", max_length=100, meaning="戸籍の筆頭者"),
    _f("became_resident_on", "住民となった年月日", "date", meaning="住民となった年月日"),
    _f("address_set_on", "住所を定めた年月日", "date", meaning="住所を定めた年月日"),
    _f("notified_on", "届出年月日", "date", meaning="届出年月日"),
    _f("previous_address", "転入前住所", max_length=200, meaning="転入前住所"),
    _f("status", "住民状態", "code", code_table="status", choices=tuple(ResidentStatus.values),
       meaning="住民・転出・死亡・職権消除等"),
    _f("kind", "住民種別", "code", code_table="kind", choices=tuple(ResidentKind.values),
       meaning="日本人住民・外国人住民"),
    _f("nationality", "国籍・地域", max_length=60, meaning="外国人住民の国籍・地域"),
    _f("residence_status", "在留資格", max_length=60, meaning="外国人住民の在留資格"),
    _f("residence_period_end", "在留期間の満了日", "date", meaning="在留期間の満了日"),
    _f("residence_card_no", "在留カード等番号", max_length=12, meaning="在留カード等の番号"),
)

HOUSEHOLD_FIELDS = (
    _f("household_no", "世帯番号", "atena", max_length=15, meaning="世帯を識別する番号"),
    _f("head_atena_no", "世帯主の宛名番号", "atena", max_length=15, meaning="世帯主の宛名番号"),
    _f("address", "住所", max_length=200, meaning="世帯の住所"),
    _f("address_katagaki", "方書", max_length=200, meaning="方書"),
    _f("address_code", "住所コード", "digits", max_length=20, meaning="住所コード"),
    _f("postcode", "郵便番号", max_length=8, meaning="郵便番号"),
)

ELIGIBILITY_FIELDS = (
    _f("atena_no", "宛名番号", "atena", max_length=15, meaning="対象者の宛名番号"),
    _f("kind", "資格種別", "code", code_table="eligibility_kind", max_length=40, meaning="資格・登録の種別"),
    _f("number", "記号番号等", max_length=40, meaning="被保険者番号・登録番号等"),
    _f("start_date", "開始日", "date", meaning="資格の開始日"),
    _f("end_date", "終了日", "date", meaning="資格の終了日（空欄は継続中）"),
)

SUPPORT_FIELDS = (
    _f("atena_no", "宛名番号", "atena", max_length=15, meaning="支援措置対象者の宛名番号"),
    _f("kind", "種別", "code", code_table="support_kind", choices=tuple(SupportMeasure.Kind.values),
       meaning="DV・ストーカー行為等・児童虐待等・その他"),
    _f("start_date", "開始日", "date", meaning="支援措置の開始日"),
    _f("end_date", "終了日", "date", meaning="支援措置の終了日（空欄は継続中）"),
    _f("restrict_address", "住所の非表示", "bool", meaning="住所等を非表示にするか（1:する 0:しない）"),
    _f("note", "備考", max_length=200, meaning="備考"),
)


def _resident_target() -> Target:
    return Target(
        key="residents", label="住民", model=Resident, fields=RESIDENT_FIELDS, key_columns=("atena_no",),
        conflict="(atena_no)", area=BusinessArea.JUKI.value,
        extra_columns=("personal_no_encrypted", "personal_no_hash", "search_name", "search_kana", "search_address"),
        required=("atena_no", "household_no", "name", "birth_date", "sex"),
        defaults={"status": ResidentStatus.RESIDENT.value, "kind": ResidentKind.JAPANESE.value},
    )


def _household_target() -> Target:
    return Target(key="households", label="世帯", model=Household, fields=HOUSEHOLD_FIELDS,
                  key_columns=("household_no",), conflict="(household_no)", area=BusinessArea.JUKI.value,
                  required=("household_no",))


def _eligibility_target(area: str) -> Target:
    return Target(
        key=f"eligibility:{area}", label=f"資格情報（{BusinessArea(area).label}）", model=Eligibility,
        fields=ELIGIBILITY_FIELDS, key_columns=("atena_no", "kind"), conflict="(atena_no, area, kind)",
        area=area, required=("atena_no", "kind"), allow_details=True, scope_column="area", defaults={"area": area},
    )


def _support_target() -> Target:
    return Target(
        key="support_measures", label="支援措置", model=SupportMeasure, fields=SUPPORT_FIELDS,
        key_columns=("atena_no", "kind", "start_date"), conflict="(atena_no, kind, start_date)",
        area=BusinessArea.JUKI.value, required=("atena_no", "start_date"),
        defaults={"kind": SupportMeasure.Kind.DV.value, "restrict_address": True},
    )


_FACTORIES: dict[str, Callable[[], Target]] = {
    "residents": _resident_target,
    "households": _household_target,
    "support_measures": _support_target,
}


def target_for(key: str) -> Target:
    """``residents`` / ``households`` / ``support_measures`` / ``eligibility:<area>``; ValueError if unknown."""
    if key.startswith("eligibility:"):
        area = key.split(":", 1)[1]
        if area not in BusinessArea.values:
            raise ValueError(f"未知の業務「{area}」です")
        return _eligibility_target(area)
    if key not in _FACTORIES:
        raise ValueError(f"未知の取込先「{key}」です（residents / households / support_measures / eligibility:<業務>）")
    return _FACTORIES[key]()


def target_choices() -> list[tuple[str, str]]:
    choices = [(k, f()) for k, f in _FACTORIES.items()]
    result = [(k, t.label) for k, t in choices]
    result += [(f"eligibility:{a}", f"資格情報（{label}）") for a, label in BusinessArea.choices if a != "juki"]
    return result
