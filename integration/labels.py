"""What stored keys mean, for the admin's screens (Japanese through gettext): run phases, 処理区分 codes, date
formats, file kinds. Screens show these instead of the keys the engine stores (``validate_stage``, ``add``,
``wareki_kanji``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration.dates import FORMAT_LABELS
from integration.importer.kinds import FILE_KIND_LABELS

PHASE_LABELS = {
    "validate_stage": _lazy("読み込み・検査・一時保存"),
    "check": _lazy("ファイル全体の検査（重複など）"),
    "prepare": _lazy("変更行の確認"),
    "apply_plan": _lazy("反映の準備"),
    "apply_index": _lazy("索引の作成"),
    "apply_swap": _lazy("新しい表への入れ替え"),
    "apply_delete": _lazy("削除"),
    "apply_upsert": _lazy("追加・変更"),
    "apply_reindex": _lazy("索引の再作成"),
    "apply_households": _lazy("世帯の更新"),
    "apply_support": _lazy("支援措置の設定"),
    "apply": _lazy("反映（合計）"),
    "total": _lazy("全体"),
}
COUNT_LABELS = {"validate_processes": _lazy("検査したプロセス数"), "validate_pool": _lazy("起動した検査プロセス数")}
OP_LABELS = {"add": _lazy("追加"), "change": _lazy("変更"), "delete": _lazy("削除")}


def run_phases(timings: dict) -> list[tuple[str, str]]:
    """(label, value) for each recorded phase: seconds, or a count for the number of validation processes."""
    rows = []
    for key, value in (timings or {}).items():
        if key in COUNT_LABELS:
            rows.append((str(COUNT_LABELS[key]), f"{value}"))
        else:
            seconds = _("%(seconds)s 秒") % {"seconds": value} if isinstance(value, int | float) else str(value)
            rows.append((str(PHASE_LABELS.get(key, key)), seconds))
    return rows


def op_codes(codes: dict) -> list[tuple[str, str]]:
    return [(str(code), str(OP_LABELS.get(value, value))) for code, value in (codes or {}).items()]


def date_formats(formats: list) -> list[str]:
    return [str(FORMAT_LABELS.get(name, name)) for name in formats or []]


def file_kind(kind: str) -> str:
    return str(FILE_KIND_LABELS.get(kind, kind)) if kind else ""


def _stored_meanings() -> dict[str, dict[str, str]]:
    """What a code table's stored values mean, by code table name (the target fields' choices)."""
    from integration.models import ResidentKind, ResidentStatus, Sex, SupportMeasure
    from tenants.areas import BusinessArea

    kinds = {value: str(label) for value, label in SupportMeasure.Kind.choices}
    return {
        "sex": {value: str(label) for value, label in Sex.choices},
        "status": {value: str(label) for value, label in ResidentStatus.choices},
        "kind": {value: str(label) for value, label in ResidentKind.choices},
        "support_kind": kinds,
        "support_indicator": {"": _("なし（支援措置の区分なし）"), **kinds},
        "area": {value: str(label) for value, label in BusinessArea.choices},
    }


def code_tables(target: object, tables: dict) -> list[dict]:
    """A layout's code tables as the admin reads them: per table its field (性別, 住民状態 …) and one row per code —
    the value in the file, what it means in Japanese, and the value stored (``1`` → 住民 (resident)). A table whose
    stored values are Japanese terms already (続柄, 資格種別) means them as they are."""
    meanings = _stored_meanings()
    fields = {}
    for spec in getattr(target, "fields", ()):
        if spec.code_table and spec.code_table not in fields:
            fields[spec.code_table] = spec.label
    result = []
    for name, table in (tables or {}).items():
        known = meanings.get(name, {})
        rows = [{"code": str(code), "stored": str(value),
                 "meaning": known.get(str(value), str(value) if str(value) else _("（空欄）"))}
                for code, value in (table or {}).items()]
        result.append({"name": name, "field": fields.get(name, ""), "rows": rows})
    return result


def key_labels(target: object, key_fields: list | None) -> str:
    """The key a layout identifies a row by (its own ``key_fields`` where the target offers that key), as labels."""
    from django.utils.translation import pgettext

    try:
        keyed = target.keyed(key_fields)
    except ValueError:
        keyed = target
    return pgettext("separator", "・").join(keyed.field(name).label for name in keyed.key_columns)
