"""Writes of the linkage side: layouts, 外字 table, import runs, schedules.

Views, API views, tasks and management commands are thin and call these functions. Every import is
audited (action ``import``, target ``linkage_run``); a failing file changes nothing in the mirror.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import record
from integration import bulkswap
from integration.gaiji import parse_gaiji_csv
from integration.importer import Importer, LayoutInvalid, layout_problems
from integration.models import GaijiMapping, ImportRun, LinkageLayout, LinkageSchedule
from integration.parsers import FileRejected, error
from madoguchi.inputs import MAX_JSON_FILE_BYTES, JSONInputError, json_loads
from madoguchi.principals import SYSTEM, is_system

logger = logging.getLogger(__name__)
SHIPPED_DIR = Path(__file__).resolve().parent / "layouts"
LAYOUT_FIELDS = ("key", "name", "description", "direction", "target", "format", "encoding", "has_header",
                 "delimiter", "record_length", "mode", "op_codes", "key_fields", "date_formats", "code_tables",
                 "columns", "options", "records", "method", "is_active")
STALE_AFTER = timedelta(minutes=10)
# Session advisory lock held by the process executing a run: if nobody holds it, the run is dead.
# Run ids are per schema, so the key hashes schema and id: city A's run 7 never blocks city B's run 7.
RUN_LOCK_CLASS = 0x4C4B  # "LK"
RUN_LOCK_SQL = "SELECT {function}(%s, hashtext(%s))"


def run_lock_key(run: ImportRun, *, schema_name: str | None = None) -> str:
    return f"{schema_name or connection.schema_name}:{run.pk}"
SKIP_SUFFIXES = (".part", ".tmp", ".filepart", ".lock")
RESERVED_KEYS = frozenset({"new"})  # /linkage/layouts/new/ is the editor of a new layout
RUNNING = (ImportRun.Status.QUEUED, ImportRun.Status.VALIDATING, ImportRun.Status.APPLYING)


def _require_admin(actor: Any) -> None:
    """Municipal admins, or the service itself (``SYSTEM``, passed explicitly: ``None`` is refused)."""
    if actor is None or not (is_system(actor) or getattr(actor, "is_municipal_admin", False)):
        raise PermissionDenied(_("連携の設定・取込は業務管理者のみが行えます。"))


def _tenant() -> Any:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == "public":
        raise RuntimeError(_("連携の処理は自治体のスキーマ内で実行してください。"))
    if not hasattr(tenant, "has_area"):  # schema_context() sets a stand-in without the municipality's fields
        from tenants.models import Municipality

        tenant = Municipality.objects.get(schema_name=connection.schema_name)
    return tenant


def linkage_dir(*parts: str) -> Path:
    folder = Path(settings.LINKAGE_ROOT) / connection.schema_name
    for part in parts:
        folder = folder / part
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------
def layout_to_dict(*, layout: LinkageLayout) -> dict:
    data = {name: getattr(layout, name) for name in LAYOUT_FIELDS}
    schedule = layout.schedules.filter(is_active=True).first()
    data["schedule"] = _schedule_to_dict(schedule) if schedule else None
    return data


def _schedule_to_dict(schedule: LinkageSchedule) -> dict:
    return {"kind": schedule.kind, "at_time": schedule.at_time.strftime("%H:%M") if schedule.at_time else None,
            "every_minutes": schedule.every_minutes,
            "deadline_time": schedule.deadline_time.strftime("%H:%M") if schedule.deadline_time else None}


def layout_export_json(*, layout: LinkageLayout) -> str:
    return json.dumps(layout_to_dict(layout=layout), ensure_ascii=False, indent=1) + "\n"


def _parse_time(value: str | None, label: str) -> dtime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%H:%M").time()
    except (TypeError, ValueError):
        raise ValidationError({"schedule": [_("%(label)s「%(value)s」は HH:MM の形式ではありません")
                                            % {"label": label, "value": value}]}) from None


@transaction.atomic
def layout_import_json(*, actor: Any, data: bytes | str | dict, shipped: bool = False) -> LinkageLayout:
    """Create or replace a layout from its JSON file (the same format ``layout_export_json`` writes)."""
    _require_admin(actor)
    if isinstance(data, bytes | str):
        try:
            data = json_loads(data, field=_("レイアウトファイル"), max_bytes=MAX_JSON_FILE_BYTES)
        except JSONInputError as exc:
            raise ValidationError({"file": [exc.message]}) from None
    if not isinstance(data, dict):
        raise ValidationError({"file": [_("レイアウトファイルの形式が正しくありません")]})
    unknown = sorted(set(data) - set(LAYOUT_FIELDS) - {"schedule"})
    if unknown:
        raise ValidationError({"file": [_("未知の設定項目があります: %(names)s") % {"names": ", ".join(unknown)}]})
    return layout_save(actor=actor, data=data, shipped=shipped)


def _check_layout_types(data: dict) -> None:
    """Each setting of the layout file has its column's JSON type (a list where text belongs would reach
    the database or the importer and fail there); ValidationError naming every wrong setting."""
    problems: dict[str, list[str]] = {}
    for name in LAYOUT_FIELDS:
        if name not in data:
            continue
        field, value = LinkageLayout._meta.get_field(name), data[name]
        kind = field.get_internal_type()
        if value is None:
            ok = field.null
        elif kind in ("CharField", "TextField", "SlugField"):
            ok = isinstance(value, str)
        elif kind == "BooleanField":
            ok = isinstance(value, bool)
        elif kind in ("IntegerField", "PositiveIntegerField", "BigIntegerField", "PositiveSmallIntegerField"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "JSONField":
            ok = isinstance(value, type(field.get_default()))
        else:
            ok = True
        if not ok:
            problems[name] = [_("%(name)s: 値の型が正しくありません（%(value)s）")
                              % {"name": name, "value": json.dumps(value, ensure_ascii=False)[:60]}]
    schedule = data.get("schedule")
    if schedule is not None and not isinstance(schedule, dict):
        problems["schedule"] = [_("schedule: オブジェクト（{…}）で指定してください")]
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def layout_save(*, actor: Any, data: dict, shipped: bool = False, create: bool = False,
                key: str | None = None) -> LinkageLayout:
    """Create or change a layout from its settings (the layout editor, the JSON import and the shipped files).

    ``create`` refuses a key that is already used (the editor's 新規作成 never overwrites another layout);
    ``key`` names the layout being edited (its key cannot change). Every setting is checked before anything
    is saved: on an error nothing changes. A ``schedule`` entry replaces the layout's schedules.
    """
    _require_admin(actor)
    if key is not None:
        data = {**data, "key": key}
    key = str(data.get("key") or "")
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,64}", key):
        raise ValidationError({"key": [_("識別子は英数字・ハイフン・下線の64文字以内にしてください")]})
    if key in RESERVED_KEYS:
        raise ValidationError({"key": [_("識別子「%(key)s」は画面のアドレスに使われているため使えません")
                                       % {"key": key}]})
    existing = LinkageLayout.objects.select_for_update().filter(key=key).first()
    if create and existing is not None:
        raise ValidationError({"key": [_("識別子「%(key)s」は既に使われています。別の識別子にしてください")
                                       % {"key": key}]})
    if existing is not None:
        busy = [run for run in existing.runs.filter(status__in=RUNNING) if not run_is_stale(run=run)]
        if busy:
            raise ValidationError({"key": [_("このレイアウトのファイルを取込中です（取込履歴 %(run)s）。"
                                             "終わってから変更してください") % {"run": busy[0].pk}]})
    _check_layout_types(data)
    layout = existing or LinkageLayout(key=key)
    before = layout_to_dict(layout=layout) if existing else None
    for name in LAYOUT_FIELDS:
        if name in data and name != "key":
            setattr(layout, name, data[name])
    layout.shipped = shipped or layout.shipped
    if layout.direction != LinkageLayout.Direction.IN:
        raise ValidationError({"direction": [_("このレイアウト取込は取込（in）方向のみ扱います")]})
    try:
        layout.full_clean(exclude=["columns", "op_codes", "key_fields", "date_formats", "code_tables", "options",
                                   "records"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    problems = layout_problems(layout)
    if problems:
        raise ValidationError({"columns": problems})
    area = layout.area
    tenant = _tenant()
    if area and not tenant.has_area(area) and not shipped:
        raise ValidationError({"target": [_("業務「%(area)s」は契約されていないため、このレイアウトは登録できません")
                                          % {"area": area}]})
    layout.save()
    if "schedule" in data:
        layout.schedules.all().delete()
        spec = data["schedule"]
        if spec:
            kind = spec.get("kind", LinkageSchedule.Kind.NIGHTLY)
            if kind not in LinkageSchedule.Kind.values:
                raise ValidationError({"schedule": [_("スケジュールの種類「%(kind)s」は使用できません")
                                                    % {"kind": kind}]})
            every = spec.get("every_minutes")
            if kind == LinkageSchedule.Kind.INTERVAL and not (isinstance(every, int) and 1 <= every <= 1440):
                raise ValidationError({"schedule": [_("間隔（分）は1〜1440で指定してください")]})
            at_time = _parse_time(spec.get("at_time"), _("実行時刻"))
            if kind == LinkageSchedule.Kind.NIGHTLY and at_time is None:
                raise ValidationError({"schedule": [_("夜間スケジュールには実行時刻が必要です")]})
            LinkageSchedule.objects.create(layout=layout, kind=kind, at_time=at_time, every_minutes=every,
                                           deadline_time=_parse_time(spec.get("deadline_time"), _("完了期限")))
    after = layout_to_dict(layout=layout)
    changed = sorted(name for name in after if before is None or before.get(name) != after[name])
    record(action=AuditAction.CREATE if before is None else AuditAction.UPDATE, target_type="linkage_layout",
           target_id=layout.key, area=area or "",
           details={"name": layout.name, "target": layout.target, "shipped": layout.shipped, "changed": changed},
           actor=actor)
    return layout


def shipped_layout_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.json"))


def layouts_ensure_shipped(*, actor: Any = SYSTEM, force: bool = False) -> list[LinkageLayout]:
    """Load the shipped layouts for the business areas this municipality subscribes to (once)."""
    tenant = _tenant()
    loaded = []
    existing = set(LinkageLayout.objects.values_list("key", flat=True))
    for path in shipped_layout_files():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["key"] in existing and not force:
            continue
        target = data["target"]
        area = target.split(":", 1)[1] if target.startswith("eligibility:") and target != "eligibility:*" else "juki"
        if not tenant.has_area(area):
            continue
        loaded.append(layout_import_json(actor=actor, data=data, shipped=True))
    return loaded


# ---------------------------------------------------------------------------------------------
# 外字
# ---------------------------------------------------------------------------------------------
def gaiji_mapping() -> dict[str, str]:
    return dict(GaijiMapping.objects.values_list("local_code", "ucs"))


@transaction.atomic
def gaiji_upload(*, actor: Any, data: bytes, replace: bool = False) -> dict:
    """Load a 外字 conversion CSV. Nothing is saved if any line has an error."""
    _require_admin(actor)
    rows, errors = parse_gaiji_csv(data)
    if errors:
        raise ValidationError({"file": [_("%(line)s行目 %(column)s: %(message)s") % e for e in errors[:100]]})
    if not rows:
        raise ValidationError({"file": [_("外字の行がありません")]})
    if replace:
        GaijiMapping.objects.all().delete()
    created = updated = 0
    for row in rows:
        _obj, was_created = GaijiMapping.objects.update_or_create(
            local_code=row.local_code, defaults={"ucs": row.ucs, "mj_name": row.mj_name, "note": row.note})
        created += was_created
        updated += not was_created
    record(action=AuditAction.UPDATE, target_type="gaiji_table", target_id="",
           details={"created": created, "updated": updated, "replace": replace}, actor=actor)
    return {"created": created, "updated": updated}


# ---------------------------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------------------------
def _safe_name(name: str) -> str:
    base = Path(name or "upload").name
    return re.sub(r"[^\w.\-]", "_", base)[-120:] or "upload"


def _store(source: bytes | BinaryIO | Path, file_name: str, *, move: bool = False) -> tuple[Path, str, int]:
    """Copy (or move) the delivered file under received/, hashing it on the way."""
    folder = linkage_dir("received", timezone.localdate().strftime("%Y%m%d"))
    temp = folder / f".incoming-{time.time_ns()}"
    digest = hashlib.sha256()
    size = 0
    if isinstance(source, Path) and move:
        with source.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        shutil.move(str(source), temp)
    else:
        with temp.open("wb") as out:
            if isinstance(source, bytes):
                chunks = [source]
            elif isinstance(source, Path):
                chunks = iter(lambda h=source.open("rb"): h.read(1 << 20), b"")  # noqa: B008
            elif hasattr(source, "chunks"):
                chunks = source.chunks()
            else:
                chunks = iter(lambda: source.read(1 << 20), b"")
            for block in chunks:
                digest.update(block)
                size += len(block)
                out.write(block)
    sha = digest.hexdigest()
    final = folder / f"{sha[:16]}_{time.time_ns()}_{_safe_name(file_name)}"
    temp.rename(final)
    return final, sha, size


def import_submit(
    *,
    layout: LinkageLayout,
    source: bytes | BinaryIO | Path,
    file_name: str,
    via: str = ImportRun.Source.UPLOAD,
    actor: Any,
    requested_by: str = "",
    schedule: LinkageSchedule | None = None,
    run_async: bool = True,
    move: bool = False,
    queue: str | None = None,
) -> ImportRun:
    """Register a delivered file as a run and start it (Celery, after commit) or run it now."""
    _require_admin(actor)
    tenant = _tenant()
    if layout.direction != LinkageLayout.Direction.IN or not layout.is_active:
        raise ValidationError({"layout": [_("このレイアウトは取込に使用できません")]})
    path, sha, size = _store(source, file_name, move=move)
    deadline = None
    if schedule is not None and schedule.deadline_time:
        now = timezone.localtime()
        deadline = now.replace(hour=schedule.deadline_time.hour, minute=schedule.deadline_time.minute,
                               second=0, microsecond=0)
        if deadline < now - timedelta(hours=12):
            deadline += timedelta(days=1)
    run = ImportRun.objects.create(
        layout=layout, file_name=Path(file_name).name[:255], file_path=str(path), file_size=size, sha256=sha,
        source=via, requested_by=requested_by or (actor.get_username() if actor is not None else ""),
        schedule=schedule, deadline=deadline,
    )
    area = layout.area or ""
    if area and not tenant.has_area(area):
        return _finish(run, ImportRun.Status.FAILED, _unsubscribed(area),
                       errors=[error(0, "", _("業務「%(area)s」は契約されていません。"
                                              "契約業務のファイルだけ取り込めます") % {"area": area})],
                       actor=actor)
    if run_async:
        from integration.tasks import run_import

        options = {"queue": queue} if queue else {}
        transaction.on_commit(lambda: run_import.apply_async(args=[run.pk], **options))
        return run
    return import_execute(run_id=run.pk, actor=actor)


def _unsubscribed(area: str) -> str:
    return _("業務「%(area)s」はこの自治体の契約に含まれていないため取り込めません") % {"area": area}


def _finish(run: ImportRun, status: str, message: str, *, errors: list[dict] | None = None, error_count: int = 0,
            counts: dict | None = None, timings: dict | None = None, actor: Any = None) -> ImportRun:
    run.status = status
    run.message = message[:300]
    if errors is not None:
        run.errors = errors
        run.error_count = error_count or len(errors)
    for name, value in (counts or {}).items():
        setattr(run, name, value)
    if timings:
        run.timings = {**run.timings, **timings}
    run.finished_at = timezone.now()
    run.save()
    if status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.DUPLICATE):
        # Applied (or already applied): the raw file, which may carry 個人番号 in clear, is not kept.
        # Failed files stay for a retry until the retention purge (received_files_purge).
        _discard_received(run)
    if run.schedule_id:
        LinkageSchedule.objects.filter(pk=run.schedule_id).update(last_finished_at=run.finished_at, last_status=status)
    record(action=AuditAction.IMPORT, target_type="linkage_run", target_id=run.pk, area=run.layout.area or "",
           details={"file": run.file_name, "sha256": run.sha256, "layout": run.layout.key, "status": status,
                    "added": run.added, "changed": run.changed, "deleted": run.deleted,
                    "errors": run.error_count}, actor=actor)
    return run


def _discard_received(run: ImportRun) -> None:
    if run.file_path:
        Path(run.file_path).unlink(missing_ok=True)


def received_files_purge(*, now: datetime | None = None) -> int:
    """Delete received files older than LINKAGE_RECEIVED_RETENTION_DAYS (metadata and SHA-256 stay)."""
    limit = (now or timezone.now()).timestamp() - settings.LINKAGE_RECEIVED_RETENTION_DAYS * 86400
    removed = 0
    for path in linkage_dir("received").rglob("*"):
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def linkage_storage_destroy(*, schema_name: str) -> None:
    """Remove a municipality's inbox, outbox and received files (on termination)."""
    folder = Path(settings.LINKAGE_ROOT) / schema_name
    if folder.is_dir():
        shutil.rmtree(folder)


def _progress(run: ImportRun) -> Any:
    def _update(phase: str, count: int) -> None:
        fields = {"rows_validated": count} if phase == "validated" else {"rows_applied": count}
        ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now(), **fields)

    return _update


def import_execute(*, run_id: int, actor: Any) -> ImportRun:
    """Validate every row, stage, check, then apply in one transaction. Safe to call again on a failed run."""
    tenant = _tenant()
    run = ImportRun.objects.select_related("layout").get(pk=run_id)
    if run.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.DUPLICATE):
        return run
    layout = run.layout
    redelivered = _redelivery_of(run)
    if redelivered is not None and (redelivered.file_kind or layout.mode) == LinkageLayout.Mode.FULL:
        # The last full snapshot applied, delivered again: the mirror already holds it (see docs/integration.md
        # “Same file twice”). Any other file — an older snapshot, a delta, an empty file — is applied.
        message = (_("前回取り込んだファイル（%(finished)s、履歴番号 %(run)s）と同じ内容のため、取込済みとしました。"
                     "何も変更していません")
                   % {"finished": f"{timezone.localtime(redelivered.finished_at):%Y-%m-%d %H:%M}",
                      "run": redelivered.pk})
        if layout.target == "support_measures":
            message += _("。支援措置のファイルです。その後に業務管理者や他のファイルが変更した支援措置は"
                         "そのままです。支援措置が正しいか確認してください")
        return _finish(run, ImportRun.Status.DUPLICATE, message, errors=[], actor=actor)
    area = layout.area or ""
    if area and not tenant.has_area(area):
        return _finish(run, ImportRun.Status.FAILED, _unsubscribed(area),
                       errors=[error(0, "", _("業務「%(area)s」は契約されていません") % {"area": area})], actor=actor)
    started = time.perf_counter()
    run.status = ImportRun.Status.VALIDATING
    run.started_at = run.heartbeat_at = timezone.now()
    run.rows_validated = run.rows_applied = 0
    run.errors, run.error_count, run.message = [], 0, ""
    run.save(update_fields=["status", "started_at", "heartbeat_at", "rows_validated", "rows_applied", "errors",
                            "error_count", "message"])
    with connection.cursor() as cursor:
        cursor.execute(RUN_LOCK_SQL.format(function="pg_advisory_lock"), [RUN_LOCK_CLASS, run_lock_key(run)])
    try:
        if not connection.in_atomic_block:
            bulkswap.drop_abandoned(is_abandoned=_load_table_abandoned)
        return _execute(run, tenant, actor, started, redelivered=redelivered)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(RUN_LOCK_SQL.format(function="pg_advisory_unlock"), [RUN_LOCK_CLASS, run_lock_key(run)])


def _redelivery_of(run: ImportRun) -> ImportRun | None:
    """The last file applied with this run's layout, if this run's file has the same content (SHA-256).

    Only the *last* applied file counts: a file equal to an earlier one with another applied after it (add,
    delete, the same add again — a support-measure file has no creation date, so the bytes repeat) is new
    information and is applied. A 0-byte file is never a re-delivery: it is "no change" (or an error)."""
    if not run.file_size:
        return None
    last = (ImportRun.objects.filter(layout_id=run.layout_id, status=ImportRun.Status.SUCCEEDED)
            .exclude(pk=run.pk).order_by("-finished_at", "-pk").first())
    return last if last is not None and last.sha256 == run.sha256 else None


def _execute(run: ImportRun, tenant: Any, actor: Any, started: float, *,
             redelivered: ImportRun | None = None) -> ImportRun:
    layout = run.layout
    try:
        importer = Importer(layout=layout, tenant=tenant, gaiji=gaiji_mapping(), progress=_progress(run),
                            load_key=str(run.pk), last_reference_date=_last_reference_date(layout))
    except LayoutInvalid as exc:
        return _finish(run, ImportRun.Status.FAILED, _("レイアウトの定義に誤りがあります"),
                       errors=[error(0, "", p) for p in exc.problems], actor=actor)
    # A delta equal to the last file applied is applied again (追加・変更 write the same values), but its 削除 rows
    # are refused (checks.py): deleting again is never a no-op.
    importer.redelivery_of = redelivered.pk if redelivered is not None else None
    try:
        # Inside a caller's transaction a database error in staging must not poison it: use a savepoint.
        guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
        try:
            with guard, open(run.file_path, "rb") as stream:
                importer.validate_and_stage(stream)
        except FileRejected as exc:
            importer.add_error(error(exc.line, exc.column, exc.message))
        except FileNotFoundError:
            importer.add_error(error(0, "", _("受信したファイルが見つかりません")))
        if not importer.error_count:
            importer.check_staged()
        if not importer.error_count:
            # A bulk replacement builds its load tables' indexes here, before the transaction; a load table
            # that is not swapped in gets its duplicate-key check here.
            importer.prepare_apply()
        timings = {**importer.timings}
        if importer.error_count:
            timings["total"] = round(time.perf_counter() - started, 3)
            return _finish(run, ImportRun.Status.FAILED,
                           _("%(count)s 件のエラーがあるため取り込みませんでした（データは変更していません）")
                           % {"count": f"{importer.error_count:,}"},
                           errors=importer.errors, error_count=importer.error_count,
                           counts={"rows_total": importer.rows, "rows_validated": importer.rows},
                           timings=timings, actor=actor)
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.APPLYING, rows_total=importer.rows,
                                                   rows_validated=importer.rows, heartbeat_at=timezone.now())
        run.status, run.rows_total, run.rows_validated = ImportRun.Status.APPLYING, importer.rows, importer.rows
        frame = importer.frame
        header = {"file_kind": (frame.file_kind or "") if frame else "",
                  "reference_date": frame.reference_date if frame else None, "skipped": importer.skipped}
        with transaction.atomic():
            counts = importer.apply()
            timings = {**importer.timings, "total": round(time.perf_counter() - started, 3)}
            if importer.empty_no_change:
                message = _("空のファイルを受信しました（変更なし）")
            else:
                message = (_("%(rows)s 行を取り込みました（追加 %(added)s・変更 %(changed)s・削除 %(deleted)s）")
                           % {"rows": f"{importer.rows:,}", "added": f"{counts['added']:,}",
                              "changed": f"{counts['changed']:,}", "deleted": f"{counts['deleted']:,}"})
            if importer.skipped:
                message += _("。契約外の業務の %(count)s 行は取り込んでいません") % {"count": f"{importer.skipped:,}"}
            if importer.measures_added:
                message += _("。支援措置を %(count)s 件追加しました") % {"count": f"{importer.measures_added:,}"}
            if importer.warnings:
                message += _("。確認事項が %(count)s 件あります") % {"count": f"{len(importer.warnings):,}"}
                header["warnings"] = importer.warnings
            return _finish(run, ImportRun.Status.SUCCEEDED, message, errors=[], timings=timings,
                           counts={**counts, **header, "rows_applied": importer.rows}, actor=actor)
    except Exception as exc:
        run.refresh_from_db()
        _finish(run, ImportRun.Status.FAILED, _("取込中に障害が発生したため、データは変更していません"),
                errors=[error(0, "", _("処理を中断しました（%(error)s）。再実行してください")
                              % {"error": type(exc).__name__})], actor=actor)
        logger.exception("import run %s failed", run.pk)
        return run
    finally:
        importer.drop_stage()


def _last_reference_date(layout: LinkageLayout) -> date | None:
    """The reference date (基準日) of the newest file applied with this layout, if its header had one."""
    return (ImportRun.objects.filter(layout=layout, status=ImportRun.Status.SUCCEEDED, reference_date__isnull=False)
            .order_by("-reference_date").values_list("reference_date", flat=True).first())


def import_retry(*, run: ImportRun, actor: Any, run_async: bool = True) -> ImportRun:
    """Run a failed or interrupted file again (as a new run; the old one stays in the history)."""
    _require_admin(actor)
    if run.is_running and not run_is_stale(run=run):
        raise ValidationError(_("この取込はまだ実行中です。"))
    if run.status == ImportRun.Status.SUCCEEDED:
        raise ValidationError(_("この取込は完了しています。"))
    path = Path(run.file_path)
    if not path.exists():
        raise ValidationError(_("受信したファイルが残っていないため再実行できません。"))
    if run.is_running:
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.INTERRUPTED, finished_at=timezone.now(),
                                                   message=_("処理が中断されました（再実行済み）"))
    return import_submit(layout=run.layout, source=path, file_name=run.file_name, via=run.source, actor=actor,
                         requested_by=run.requested_by, schedule=run.schedule, run_async=run_async)


def _load_table_abandoned(run_key: str) -> bool:
    """A load table (integration.bulkswap) whose run no process executes any more."""
    run = ImportRun.objects.filter(pk=int(run_key)).first() if run_key.isdigit() else None
    return run is None or not run.is_running or run_is_stale(run=run)


def run_is_stale(*, run: ImportRun, now: datetime | None = None) -> bool:
    """A run that says it is running but nobody executes it (worker killed) — or queued for too long."""
    if not run.is_running:
        return False
    if run.status == ImportRun.Status.QUEUED:
        return (now or timezone.now()) - run.created_at > STALE_AFTER
    with connection.cursor() as cursor:
        cursor.execute(RUN_LOCK_SQL.format(function="pg_try_advisory_lock"), [RUN_LOCK_CLASS, run_lock_key(run)])
        free = cursor.fetchone()[0]
        if free:
            cursor.execute(RUN_LOCK_SQL.format(function="pg_advisory_unlock"), [RUN_LOCK_CLASS, run_lock_key(run)])
    return bool(free)


def inbox_pickup(*, layouts: list[LinkageLayout] | None = None, schedule: LinkageSchedule | None = None,
                 run_async: bool = True) -> list[ImportRun]:
    """Take every complete file from inbox/<layout key>/ (oldest first) and submit it."""
    runs = []
    for layout in layouts if layouts is not None else LinkageLayout.objects.filter(is_active=True, direction="in"):
        folder = linkage_dir("inbox", layout.key)
        files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                        and not p.name.endswith(SKIP_SUFFIXES)), key=lambda p: (p.stat().st_mtime, p.name))
        for path in files:
            runs.append(import_submit(layout=layout, source=path, file_name=path.name, via=(
                ImportRun.Source.SCHEDULE if schedule else ImportRun.Source.INBOX), schedule=schedule,
                run_async=run_async, move=True, actor=SYSTEM))
    return runs


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------
CATCH_UP = timedelta(minutes=30)


def schedule_slot(*, schedule: LinkageSchedule, now: datetime) -> datetime | None:
    """The latest scheduled instant at or before ``now`` (local time)."""
    now = timezone.localtime(now).replace(second=0, microsecond=0)
    if schedule.kind == LinkageSchedule.Kind.NIGHTLY:
        if not schedule.at_time:
            return None
        slot = now.replace(hour=schedule.at_time.hour, minute=schedule.at_time.minute)
        return slot if slot <= now else slot - timedelta(days=1)
    every = max(1, schedule.every_minutes or 5)
    minutes = now.hour * 60 + now.minute
    return now - timedelta(minutes=minutes % every)


def schedule_is_due(*, schedule: LinkageSchedule, now: datetime) -> bool:
    """Due once per slot: a dispatcher tick that was late or skipped catches up within 30 minutes, and a
    second tick in the same slot does not run it again (``last_started_at``)."""
    if not schedule.is_active or not schedule.layout.is_active:
        return False
    slot = schedule_slot(schedule=schedule, now=now)
    if slot is None or now - slot >= CATCH_UP:
        return False
    return schedule.last_started_at is None or schedule.last_started_at < slot


def schedules_due(*, now: datetime) -> list[LinkageSchedule]:
    return [s for s in LinkageSchedule.objects.select_related("layout") if schedule_is_due(schedule=s, now=now)]


def schedules_run_due(*, now: datetime | None = None, run_async: bool = True) -> list[ImportRun]:
    """Pick up the inbox of every due schedule; record when it started."""
    now = now or timezone.now()
    runs: list[ImportRun] = []
    for schedule in schedules_due(now=now):
        LinkageSchedule.objects.filter(pk=schedule.pk).update(last_started_at=now)
        picked = inbox_pickup(layouts=[schedule.layout], schedule=schedule, run_async=run_async)
        if not picked:
            LinkageSchedule.objects.filter(pk=schedule.pk).update(last_finished_at=timezone.now(),
                                                                  last_status="no_file")
        runs += picked
    return runs


@transaction.atomic
def schedule_save(*, actor: Any, layout: LinkageLayout, kind: str, at_time: dtime | None = None,
                  every_minutes: int | None = None, deadline_time: dtime | None = None,
                  is_active: bool = True) -> LinkageSchedule:
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    if kind == LinkageSchedule.Kind.NIGHTLY and at_time is None:
        errors["at_time"] = [_("実行時刻を入力してください")]
    if kind == LinkageSchedule.Kind.INTERVAL and not (every_minutes and 1 <= every_minutes <= 1440):
        errors["every_minutes"] = [_("間隔（分）は1〜1440で入力してください")]
    if errors:
        raise ValidationError(errors)
    schedule = layout.schedules.first() or LinkageSchedule(layout=layout)
    schedule.kind, schedule.at_time, schedule.every_minutes = kind, at_time, every_minutes
    schedule.deadline_time, schedule.is_active = deadline_time, is_active
    schedule.save()
    record(action=AuditAction.UPDATE, target_type="linkage_schedule", target_id=layout.key,
           details={"schedule": schedule.describe(), "active": is_active}, actor=actor)
    return schedule


REWRITE_CHUNK = 5000


class ImportInProgress(ValidationError):
    """An import of the municipality is queued or running: retry the rewrite after it."""


def search_addresses_rewrite(*, municipality: Any) -> tuple[int, int]:
    """Rewrite ``Resident.search_address`` for the municipality's current 都道府県+市区町村 and record that prefix, in
    one transaction, in the municipality's schema: (rows rewritten, rows in the mirror). Run after a rename (the
    ``municipality_renamed`` signal queues it; until then the old name stays the prefix and search stays exact) or
    by ``manage.py linkage_search_address``. Refused with ``ImportInProgress`` while one of its imports is queued or
    running (its rows would be written for the old prefix); nothing changes then."""
    from integration.importer.rows import _address_normaliser, clear_normalisation_caches
    from integration.models import AddressSearchPrefix, Resident
    from integration.normalize import municipality_prefix

    running = (ImportRun.Status.QUEUED, ImportRun.Status.VALIDATING, ImportRun.Status.APPLYING)
    if ImportRun.objects.filter(status__in=running).exists():
        raise ImportInProgress(_("%(slug)s: 取込が実行中です。終わってから実行してください")
                               % {"slug": municipality.slug})
    prefix = municipality_prefix(municipality)
    normalise = _address_normaliser(prefix)
    changed = total = 0
    try:
        with transaction.atomic():
            AddressSearchPrefix.objects.select_for_update().get_or_create(pk=1, defaults={"prefix": prefix})
            rows = Resident.objects.order_by("pk").values_list("pk", "address", "address_katagaki", "search_address")
            batch: list[Resident] = []
            for pk, address, katagaki, stored in rows.iterator(chunk_size=REWRITE_CHUNK):
                total += 1
                value = normalise(f"{address}{katagaki}" if katagaki else address)
                if value != stored:
                    batch.append(Resident(pk=pk, search_address=value))
                if len(batch) >= REWRITE_CHUNK:
                    changed += Resident.objects.bulk_update(batch, ["search_address"])
                    batch = []
            if batch:
                changed += Resident.objects.bulk_update(batch, ["search_address"])
            AddressSearchPrefix.objects.filter(pk=1).update(prefix=prefix)
            record(action="update", target_type="resident_search_address",
                   details={"prefix": prefix, "rewritten": changed, "residents": total}, actor=SYSTEM)
    finally:
        clear_normalisation_caches()  # no address of this municipality stays in memory
    return changed, total
