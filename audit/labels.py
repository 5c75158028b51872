"""Japanese names of audit actions and target kinds, for the audit screen (no internal codes on screens).

Apps that record their own actions or target kinds register their names here from ``AppConfig.ready``;
an unregistered code is shown as it is, so a missing name is visible rather than hidden.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.models import AuditAction

_actions: dict[str, object] = {str(value): label for value, label in AuditAction.choices}
_actions.update({"close": _("受付の完了"), "resume": _("受付の再開"), "handoff": _("他窓口への引継ぎ")})

_targets: dict[str, object] = {
    "api_client": _("APIクライアント"), "audit_chain": _("監査ログの連鎖"), "audit_log": _("監査ログ"),
    "case": _("受付"), "case_procedure": _("受付の手続"), "catalogue": _("手続カタログ"),
    "catalogue_version": _("手続カタログの版"), "counter": _("窓口"), "department": _("部署"),
    "export_ack": _("出力データの受領確認"), "export_batch": _("出力ファイル"), "export_layout": _("出力レイアウト"),
    "export_record": _("受付データ"), "export_schedule": _("出力スケジュール"), "gaiji_table": _("外字変換表"),
    "household": _("世帯"), "linkage_disclosure": _("データ連携の公開情報"), "linkage_layout": _("連携レイアウト"),
    "linkage_run": _("連携ファイルの取込"), "linkage_schedule": _("取込スケジュール"), "memo": _("メモ"),
    "municipality": _("自治体"), "municipality_data_key": _("自治体のデータ鍵"), "person": _("住民"),
    "person_search": _("住民検索"), "user": _("職員"),
}


def register_action(code: str, label: object) -> None:
    _actions[code] = label


def register_target(code: str, label: object) -> None:
    _targets[code] = label


def action_label(code: str) -> str:
    return str(_actions.get(code, code))


def target_label(code: str) -> str:
    return str(_targets.get(code, code)) if code else ""


def action_choices() -> list[tuple[str, str]]:
    return sorted(((code, str(label)) for code, label in _actions.items()), key=lambda item: item[1])
