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
COUNT_LABELS = {"validate_processes": _lazy("検査したプロセス数")}
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
