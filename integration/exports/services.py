"""Writes for exports: feeding the registry, handing data over (download, outbox, API) and settings.

Every hand-over creates an ``ExportBatch`` and an audit event ``export``/``export_batch`` naming every
resident in it (``residents``). Every hand-over builds its rows through ``_hand_over``, which masks the
address items of a record about a household under a support measure unless ``selectors.reveals_protected``
says the channel goes to the core system or the person holds 「支援措置の閲覧」.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import record as audit_record
from integration import selectors as mirror
from integration.exports import channels, registry, selectors
from integration.exports.layouts import (
    LayoutError,
    LayoutSpec,
    Problem,
    builtin_layouts,
    describe_problems,
    spec_from_dict,
)
from integration.exports.models import (
    ExportAck,
    ExportBatch,
    ExportLayout,
    ExportRecord,
    ExportSchedule,
    ExportWatermark,
)
from integration.exports.registry import ExportKind
from integration.exports.render import MASK_TEXT, Rendered, RenderRow, render
from madoguchi.inputs import JSONInputError, json_loads

logger = logging.getLogger(__name__)

# Lock space for pg_advisory_xact_lock(classid, objid): record appends of one schema.
_LOCK_CLASS = 0x4558  # "EX"
MAX_RANGE_DAYS = 366
MAX_PULL_LIMIT = 1000
MAX_LAYOUT_FILE = 2 * 1024 * 1024


class NothingToExport(ValidationError):
    """There is no record to hand over (not an error for schedules; a message on screen)."""


@dataclass(frozen=True)
class ApiActor:
    """Audit actor for an API client (not a staff user): ``api:<name>``."""

    label: str
    pk: None = None

    def get_username(self) -> str:
        return self.label


def _current_municipality() -> object:
    return getattr(connection, "tenant", None)


def _lock_appends() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, connection.schema_name])


@transaction.atomic
def export_record_submit(*, kind: str, payload: dict, source: str, source_id: str, area: str,
                         actor: object = None, protected: bool = False,
                         corrects: ExportRecord | None = None) -> ExportRecord:
    """Append received data for the core systems (called by navigation, forms_builder, …).

    Validates the payload against the kind's items and reports every problem at once. Appends are
    serialised per schema until commit, so record ids become visible in increasing order and a
    cursor never skips a record that commits late. The record is marked ``protected`` when the caller
    says so (it read a restricted address) or when a resident or household it names is under an
    address-restricting support measure today.

    ``corrects``: the record is a correction (訂正) of that record — a full record of the same kind with the
    corrected values. It names the original (first) record, never another correction, and keeps the original's
    ``protected`` (a correction of a protected household's record is protected too). The original is unchanged.
    """
    municipality = _current_municipality()
    definition = registry.get(kind)
    errors: dict[str, list[str]] = {}
    if definition is None:
        raise ValidationError({"kind": [_("出力データの種別「%(kind)s」は登録されていません。") % {"kind": kind}]})
    if area != definition.area:
        errors["area"] = [_("「%(kind)s」の業務は %(expected)s です（指定: %(area)s）。")
                          % {"kind": definition.label, "expected": definition.area, "area": area}]
    elif municipality is None or not municipality.has_area(area):
        errors["area"] = [_("業務「%(area)s」はこの自治体の契約に含まれていません。") % {"area": area}]
    if not (source or "").strip():
        errors["source"] = [_("受付元を指定してください。")]
    payload_errors = definition.validate_payload(payload)
    if payload_errors:
        errors["payload"] = payload_errors
    if corrects is not None and (corrects.kind != kind or corrects.corrects_id is not None):
        errors["corrects"] = [_("訂正元は同じ種別の元の記録（訂正ではない記録）を指定してください。")]
    if errors:
        raise ValidationError(errors)
    if actor is not None and getattr(actor, "can_handle", None) and not actor.can_handle(area):
        raise PermissionDenied(_("「%(kind)s」を受け付ける権限がありません。") % {"kind": definition.label})
    atena_nos, household_nos = selectors.record_people(kind=definition, payload=payload)
    protected = bool(protected or (corrects is not None and corrects.protected))
    if not protected and (atena_nos or household_nos):
        hidden_people, hidden_households = mirror.protected_among(atena_nos=atena_nos, household_nos=household_nos)
        protected = bool(hidden_people or hidden_households)
    _lock_appends()
    row = ExportRecord.objects.create(kind=kind, area=area, payload=payload, source=source.strip(),
                                      source_id=str(source_id or "")[:64], created_by_id=getattr(actor, "pk", None),
                                      protected=bool(protected), corrects=corrects)
    audit_record(action=AuditAction.CREATE, target_type="export_record", target_id=row.pk, area=area,
                 details={"kind": kind, "source": row.source, "source_id": row.source_id,
                          "protected": row.protected, **({"corrects": corrects.pk} if corrects else {})},
                 actor=actor, residents=atena_nos)
    return row


@dataclass
class HandOver:
    """The rows of one hand-over and whom they concern (for the file and the audit trail)."""

    rows: list[RenderRow]
    residents: list[str]  # every 宛名番号 the records name, in record order
    protected: list[str]  # of those, the ones under a support measure (their household's address)
    protected_records: int  # records about a protected household (masked unless revealed)
    revealed: bool


def _hand_over(*, kind: ExportKind, records: list[ExportRecord], channel: str, actor: object) -> HandOver:
    """Rows for ``channel``: a record about a household under a support measure (marked when submitted, or
    under a measure today) has its address items masked unless ``selectors.reveals_protected``."""
    reveal = selectors.reveals_protected(channel=channel, actor=actor)
    people = {r.pk: selectors.record_people(kind=kind, payload=r.payload) for r in records}
    residents = list(dict.fromkeys(a for atenas, _h in people.values() for a in atenas))
    hidden_people, hidden_households = mirror.protected_among(
        atena_nos=residents, household_nos=[h for _a, households in people.values() for h in households])
    protected_ids = {r.pk for r in records if r.protected or set(people[r.pk][0]) & hidden_people
                     or set(people[r.pk][1]) & hidden_households}
    rows = [RenderRow(id=r.pk, kind=r.kind, created_at=r.created_at, source=r.source, source_id=r.source_id,
                      payload=r.payload, masked=not reveal and r.pk in protected_ids, corrects_id=r.corrects_id)
            for r in records]
    named_in_protected = {a for pk in protected_ids for a in people[pk][0]}
    protected = [a for a in residents if a in hidden_people or a in named_in_protected]
    return HandOver(rows=rows, residents=residents, protected=protected, protected_records=len(protected_ids),
                    revealed=reveal)


MASKED_SUFFIX = "_masked"


def _filename(*, kind: ExportKind, municipality: object, spec: LayoutSpec, first: int, last: int,
              masked: bool = False) -> str:
    """``<kind>_<code>_<stamp>_<first>-<last>[_masked].<ext>``: ``_masked`` when addresses were masked, so a
    core system that reads the file name (fixed-width files without a ``_masked`` position) refuses it."""
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    suffix = MASKED_SUFFIX if masked else ""
    return f"{kind.code}_{municipality.code}_{stamp}_{first:010d}-{last:010d}{suffix}.{spec.extension}"


def _batch_create(*, kind: ExportKind, channel: str, selection: str, spec: LayoutSpec | None,
                  records: list[ExportRecord], digest: str, size: int, filename: str, params: dict,
                  warnings: list[str], actor: object, hand_over: HandOver, masked: int = 0,
                  api_client: object = None) -> ExportBatch:
    batch = ExportBatch.objects.create(
        kind=kind.code, channel=channel, selection=selection,
        layout_code=spec.code if spec else "", layout=spec.to_dict() if spec else {},
        first_record_id=records[0].pk if records else None, last_record_id=records[-1].pk if records else None,
        record_count=len(records), sha256=digest, size_bytes=size, filename=filename, params=params,
        warnings=warnings, masked_count=masked, actor_id=getattr(actor, "pk", None),
        actor=actor.get_username() if actor is not None and hasattr(actor, "get_username") else "",
        api_client=api_client,
    )
    # Every resident in the hand-over is named on the event (continued on follow-up events beyond
    # audit.models.RESIDENTS_PER_EVENT); whose protected address went out in clear, or masked, is in details.
    audit_record(
        action=AuditAction.EXPORT, target_type="export_batch", target_id=batch.pk, area=kind.area,
        details={"kind": kind.code, "channel": channel, "selection": selection, "layout": batch.layout_code,
                 "first_record_id": batch.first_record_id, "last_record_id": batch.last_record_id,
                 "count": batch.record_count, "sha256": digest, "filename": filename, "params": params,
                 "warnings": len(warnings), "masked": masked,
                 "protected_address": ("revealed" if hand_over.revealed else "masked")
                 if hand_over.protected_records else "none",
                 "protected_records": hand_over.protected_records,
                 "protected_residents": hand_over.protected[:1000]},
        actor=actor, residents=hand_over.residents,
    )
    return batch


def _advance_watermark(*, kind_code: str, last_id: int) -> None:
    ExportWatermark.objects.filter(kind=kind_code).update(last_record_id=last_id)


def _locked_pending(*, kind_code: str) -> list[ExportRecord]:
    """Lock the kind's watermark (one file hand-over at a time) and return the pending records."""
    mark, _created = ExportWatermark.objects.get_or_create(kind=kind_code)
    mark = ExportWatermark.objects.select_for_update().get(pk=mark.pk)
    return list(ExportRecord.objects.filter(kind=kind_code, id__gt=mark.last_record_id).order_by("id"))


@dataclass
class ExportFile:
    batch: ExportBatch
    content: bytes
    filename: str
    content_type: str
    warnings: list[str] = field(default_factory=list)


@transaction.atomic
def export_download(*, actor: object, municipality: object, kind_code: str, layout_code: str = "standard",
                    selection: str = "pending", date_from: date | None = None,
                    date_to: date | None = None) -> ExportFile:
    """A file for a staff member: the records not yet handed over (``pending``), or a date range."""
    kind = selectors.kind_for_staff(actor=actor, municipality=municipality, kind_code=kind_code)
    spec = selectors.layout_resolve(kind=kind, code=layout_code)
    params: dict = {"selection": selection}
    if selection == "pending":
        records = _locked_pending(kind_code=kind.code)
    elif selection == "range":
        errors = {}
        if date_from is None:
            errors["date_from"] = [_("開始日を入力してください。")]
        if date_to is None:
            errors["date_to"] = [_("終了日を入力してください。")]
        if not errors and date_from > date_to:
            errors["date_to"] = [_("終了日は開始日以降の日付にしてください。")]
        if not errors and (date_to - date_from).days >= MAX_RANGE_DAYS:
            errors["date_to"] = [_("期間は%(days)d日以内にしてください。") % {"days": MAX_RANGE_DAYS}]
        if errors:
            raise ValidationError(errors)
        records = list(selectors.records_received_between(kind_code=kind.code, date_from=date_from,
                                                          date_to=date_to))
        params.update(date_from=date_from.isoformat(), date_to=date_to.isoformat())
    else:
        raise ValidationError({"selection": [_("出力対象の指定が正しくありません。")]})
    if not records:
        raise NothingToExport(_("出力する「%(kind)s」の受付データはありません。") % {"kind": kind.label})
    channel = ExportBatch.Channel.DOWNLOAD
    hand_over = _hand_over(kind=kind, records=records, channel=channel, actor=actor)
    rendered = render(hand_over.rows, spec, municipality_code=municipality.code)
    if rendered.masked:
        rendered.warnings.append(_("支援措置の対象世帯の%(n)d件は住所等をマスクしました（「支援措置の閲覧」の権限が"
                                   "ないため）。このファイルは基幹系に取り込まないでください。")
                                 % {"n": rendered.masked})
    filename = _filename(kind=kind, municipality=municipality, spec=spec, first=records[0].pk, last=records[-1].pk,
                         masked=bool(rendered.masked))
    channels.get(channel).deliver(rendered=rendered, filename=filename)
    if selection == "pending":
        _advance_watermark(kind_code=kind.code, last_id=records[-1].pk)
    batch = _batch_create(kind=kind, channel=channel, selection=selection, spec=spec,
                          records=records, digest=rendered.sha256, size=len(rendered.content), filename=filename,
                          params=params, warnings=rendered.warnings, actor=actor, hand_over=hand_over,
                          masked=rendered.masked)
    return ExportFile(batch=batch, content=rendered.content, filename=filename, content_type=spec.content_type,
                      warnings=rendered.warnings)


@transaction.atomic
def outbox_export(*, municipality: object, kind_code: str, layout_code: str = "standard",
                  actor: object = None) -> ExportBatch | None:
    """Write the pending records of a kind as one file into the tenant's outbox; None when none.

    The file is renamed into place before the transaction commits: if the commit then failed, the
    same records would be written again next time (at least once; file names carry the id range).
    """
    kind = selectors.kind_require(municipality=municipality, kind_code=kind_code)
    spec = selectors.layout_resolve(kind=kind, code=layout_code)
    records = _locked_pending(kind_code=kind.code)
    if not records:
        return None
    channel = ExportBatch.Channel.OUTBOX
    hand_over = _hand_over(kind=kind, records=records, channel=channel, actor=actor)
    rendered: Rendered = render(hand_over.rows, spec, municipality_code=municipality.code)
    filename = _filename(kind=kind, municipality=municipality, spec=spec, first=records[0].pk, last=records[-1].pk,
                         masked=bool(rendered.masked))
    _advance_watermark(kind_code=kind.code, last_id=records[-1].pk)
    batch = _batch_create(kind=kind, channel=channel, selection="pending", spec=spec,
                          records=records, digest=rendered.sha256, size=len(rendered.content), filename=filename,
                          params={"selection": "pending"}, warnings=rendered.warnings, actor=actor,
                          hand_over=hand_over, masked=rendered.masked)
    channels.get(channel).deliver(rendered=rendered, filename=filename)
    return batch


def schedule_next_run(*, mode: str, time_of_day: time | None, interval_minutes: int | None,
                      now: datetime) -> datetime:
    local = timezone.localtime(now)
    if mode == ExportSchedule.Mode.DAILY:
        candidate = local.replace(hour=time_of_day.hour, minute=time_of_day.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate = timezone.localtime(
                timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time_of_day)))
        return candidate
    return local.replace(second=0, microsecond=0) + timedelta(minutes=interval_minutes)


@transaction.atomic
def schedule_save(*, actor: object, municipality: object, kind_code: str, mode: str, layout_code: str,
                  time_of_day: time | None = None, interval_minutes: int | None = None,
                  is_active: bool = True) -> ExportSchedule:
    selectors.require_admin(actor=actor)
    kind = selectors.kind_require(municipality=municipality, kind_code=kind_code)
    errors: dict[str, list[str]] = {}
    if mode not in ExportSchedule.Mode.values:
        errors["mode"] = [_("実行方法を選んでください。")]
    elif mode == ExportSchedule.Mode.DAILY and time_of_day is None:
        errors["time_of_day"] = [_("毎日実行する時刻を入力してください。")]
    elif mode == ExportSchedule.Mode.INTERVAL and not (interval_minutes and 5 <= interval_minutes <= 1440):
        errors["interval_minutes"] = [_("間隔は5〜1440分で入力してください。")]
    try:
        selectors.layout_resolve(kind=kind, code=layout_code)
    except ValidationError as exc:
        errors["layout_code"] = exc.message_dict.get("layout", exc.messages)
    if errors:
        raise ValidationError(errors)
    schedule = ExportSchedule.objects.select_for_update().filter(kind=kind.code).first() or ExportSchedule(
        kind=kind.code)
    creating = schedule.pk is None
    schedule.mode, schedule.layout_code, schedule.is_active = mode, layout_code, is_active
    schedule.time_of_day = time_of_day if mode == ExportSchedule.Mode.DAILY else None
    schedule.interval_minutes = interval_minutes if mode == ExportSchedule.Mode.INTERVAL else None
    schedule.next_run_at = schedule_next_run(mode=mode, time_of_day=schedule.time_of_day,
                                             interval_minutes=schedule.interval_minutes,
                                             now=timezone.now()) if is_active else None
    schedule.save()
    audit_record(action=AuditAction.CREATE if creating else AuditAction.UPDATE, target_type="export_schedule",
                 target_id=schedule.pk, area=kind.area,
                 details={"kind": kind.code, "mode": mode, "layout": layout_code, "is_active": is_active,
                          "time_of_day": schedule.time_of_day.strftime("%H:%M") if schedule.time_of_day else "",
                          "interval_minutes": schedule.interval_minutes},
                 actor=actor)
    return schedule


@dataclass(frozen=True)
class ScheduleRun:
    kind: str
    status: str
    batch: ExportBatch | None = None
    message: str = ""


def schedule_run_due(*, municipality: object, now: datetime | None = None) -> list[ScheduleRun]:
    """Run every due outbox schedule of this schema, each in its own transaction.

    A schedule being run by another worker is skipped (row lock, SKIP LOCKED). A failure (for
    example a character the layout's encoding cannot hold) writes nothing, keeps the records
    pending and is shown on the export screen.
    """
    now = now or timezone.now()
    results: list[ScheduleRun] = []
    for pk in list(selectors.schedules_due(now=now).values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                schedule = (ExportSchedule.objects.select_for_update(skip_locked=True)
                            .filter(pk=pk, is_active=True, next_run_at__lte=now).first())
                if schedule is None:
                    continue
                batch = outbox_export(municipality=municipality, kind_code=schedule.kind,
                                      layout_code=schedule.layout_code)
                status = ExportSchedule.Status.OK if batch else ExportSchedule.Status.EMPTY
                message = (_("%(count)d件を %(file)s に出力しました。") % {"count": batch.record_count,
                                                                      "file": batch.filename}
                           if batch else _("出力する受付データはありませんでした。"))
                _schedule_finish(schedule, now=now, status=status, message=message)
                results.append(ScheduleRun(schedule.kind, status, batch, message))
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the schedule and logged
            messages = getattr(exc, "messages", None) or [str(exc)]
            message = "\n".join(str(m) for m in messages)[:4000]
            logger.warning("outbox export failed", extra={"schedule": pk, "error": message})
            with transaction.atomic():
                schedule = ExportSchedule.objects.select_for_update().get(pk=pk)
                _schedule_finish(schedule, now=now, status=ExportSchedule.Status.FAILED, message=message)
            results.append(ScheduleRun(schedule.kind, ExportSchedule.Status.FAILED, None, message))
    return results


def _schedule_finish(schedule: ExportSchedule, *, now: datetime, status: str, message: str) -> None:
    schedule.last_run_at = now
    schedule.last_status = status
    schedule.last_message = message
    schedule.next_run_at = schedule_next_run(mode=schedule.mode, time_of_day=schedule.time_of_day,
                                             interval_minutes=schedule.interval_minutes, now=now)
    schedule.save(update_fields=["last_run_at", "last_status", "last_message", "next_run_at", "updated_at"])


@dataclass
class PullResult:
    kind: ExportKind
    records: list[ExportRecord]
    rows: list[RenderRow]  # what the API hands out (``rows[i].payload`` of ``records[i]``)
    after: int
    next_cursor: int
    has_more: bool
    batch: ExportBatch | None


@transaction.atomic
def api_pull(*, client: object, municipality: object, kind_code: str, after: int | None = None,
             limit: int = 100) -> PullResult:
    """Records of a kind after a cursor (or after the client's acknowledged cursor), oldest first.

    A pull that returns records is recorded as an ExportBatch (channel ``api``) and audited; an empty
    poll hands nothing over and records nothing.
    """
    kind = selectors.kind_require(municipality=municipality, kind_code=kind_code)
    errors = {}
    if after is not None and after < 0:
        errors["after"] = [_("after は0以上の整数で指定してください。")]
    if not 1 <= limit <= MAX_PULL_LIMIT:
        errors["limit"] = [_("limit は1〜%(max)dで指定してください。") % {"max": MAX_PULL_LIMIT}]
    if errors:
        raise ValidationError(errors)
    start = selectors.ack_cursor(client=client, kind_code=kind.code) if after is None else after
    rows = selectors.records_after(kind_code=kind.code, after=start, limit=limit + 1)
    has_more = len(rows) > limit
    records = rows[:limit]
    next_cursor = records[-1].pk if records else start
    batch = None
    channel = ExportBatch.Channel.API
    actor = ApiActor(client.pk_label)
    hand_over = _hand_over(kind=kind, records=records, channel=channel, actor=actor)
    rows = [masked_payload(kind=kind, row=row) for row in hand_over.rows]
    if records:
        body = json.dumps([{"id": r.id, "payload": r.payload, **({"corrects": r.corrects_id} if r.corrects_id else {})}
                           for r in rows], ensure_ascii=False,
                          sort_keys=True, separators=(",", ":")).encode()
        batch = _batch_create(kind=kind, channel=channel, selection="cursor", spec=None,
                              records=records, digest=hashlib.sha256(body).hexdigest(), size=len(body),
                              filename="", params={"after": start, "limit": limit}, warnings=[],
                              actor=actor, api_client=client, hand_over=hand_over,
                              masked=sum(1 for r in rows if r.masked))
    return PullResult(kind=kind, records=records, rows=rows, after=start, next_cursor=next_cursor,
                      has_more=has_more, batch=batch)


def masked_payload(*, kind: ExportKind, row: RenderRow) -> RenderRow:
    """A JSON hand-over's row: address items carry ``MASK_TEXT`` and ``_masked`` is set when the row is masked
    (the PULL API goes to the core system and is never masked today; a person-facing JSON channel would be)."""
    if not row.masked:
        return row
    payload = {code: (MASK_TEXT if code in kind.address_items else value) for code, value in row.payload.items()}
    payload.update({code: MASK_TEXT for code in kind.address_items if code not in payload}, _masked="1")
    return RenderRow(id=row.id, kind=row.kind, created_at=row.created_at, source=row.source,
                     source_id=row.source_id, payload=payload, masked=True, corrects_id=row.corrects_id)


@transaction.atomic
def api_ack(*, client: object, municipality: object, kind_code: str, cursor: int) -> ExportAck:
    """Acknowledge everything up to ``cursor``: the next pull without ``after`` continues from there.

    The acknowledged cursor never moves back; re-read older records with ``?after=``.
    """
    kind = selectors.kind_require(municipality=municipality, kind_code=kind_code)
    if cursor < 0 or cursor > selectors.latest_record_id():
        raise ValidationError({"cursor": [_("cursor は0以上、取得済みの受付連番以下で指定してください。")]})
    ack, _created = ExportAck.objects.select_for_update().get_or_create(client=client, kind=kind.code)
    if cursor > ack.cursor:
        ack.cursor = cursor
        ack.save(update_fields=["cursor", "updated_at"])
        audit_record(action=AuditAction.UPDATE, target_type="export_ack", target_id=ack.pk, area=kind.area,
                     details={"kind": kind.code, "cursor": cursor}, actor=ApiActor(client.pk_label))
    return ack


@transaction.atomic
def layout_import(*, actor: object, municipality: object, content: bytes | None = None,
                  data: Any = None) -> ExportLayout:
    """Create or replace a layout from a JSON file (as exported by the layout screen): its bytes
    (``content``) or the value the upload form already parsed (``data``)."""
    selectors.require_admin(actor=actor)
    if data is None:
        try:
            data = json_loads(content or b"", field=_("レイアウト定義ファイル"), max_bytes=MAX_LAYOUT_FILE)
        except JSONInputError as exc:
            raise ValidationError({"file": [exc.message]}) from None
    try:
        spec = spec_from_dict(data)
    except LayoutError as exc:
        raise ValidationError({"file": exc.errors}) from exc
    kind = selectors.kind_require(municipality=municipality, kind_code=spec.kind)
    if spec.code in {s.code for s in builtin_layouts(kind)}:
        raise ValidationError({"file": [_builtin_code_message(spec.code)]})
    return _layout_store(actor=actor, kind=kind, spec=spec)


def _builtin_code_message(code: str) -> str:
    return _("code: 「%(code)s」は標準レイアウトの名前です。別のコードにしてください。") % {"code": code}


class LayoutProblems(ValidationError):
    """A layout edited on screen was refused: ``problems`` name each place (for the editor to mark it)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__({"definition": [problem.text for problem in problems]})
        self.problems = problems


@transaction.atomic
def layout_save(*, actor: object, municipality: object, kind_code: str, data: Any) -> ExportLayout:
    """Create or replace a layout of ``kind_code`` edited on the visual editor (or its JSON view).

    Every problem is reported at once with its place named in Japanese (``LayoutProblems``); nothing is
    written on failure. The definition must be of the page's kind, and a shipped layout's code is refused.
    """
    selectors.require_admin(actor=actor)
    kind = selectors.kind_require(municipality=municipality, kind_code=kind_code)
    if isinstance(data, dict) and "kind" not in data:
        data = {**data, "kind": kind.code}
    errors: list[str] = []
    spec = None
    try:
        spec = spec_from_dict(data)
    except LayoutError as exc:
        errors = list(exc.errors)
    if isinstance(data, dict) and data.get("kind") != kind.code:
        errors = [error for error in errors if not error.startswith("kind:")]
        errors.insert(0, _("kind: この画面では「%(kind)s」のレイアウトだけを保存できます（値: %(value)s）。")
                      % {"kind": kind.label, "value": data.get("kind")})
    elif spec is not None and spec.code in {s.code for s in builtin_layouts(kind)}:
        errors.append(_builtin_code_message(spec.code))
    if errors:
        raise LayoutProblems(describe_problems(errors, data))
    return _layout_store(actor=actor, kind=kind, spec=spec)


def _layout_store(*, actor: object, kind: ExportKind, spec: LayoutSpec) -> ExportLayout:
    layout = ExportLayout.objects.select_for_update().filter(kind=kind.code, code=spec.code).first()
    creating = layout is None
    layout = layout or ExportLayout(kind=kind.code, code=spec.code)
    layout.name, layout.definition, layout.updated_by_id = spec.name, spec.to_dict(), getattr(actor, "pk", None)
    layout.save()
    audit_record(action=AuditAction.CREATE if creating else AuditAction.UPDATE, target_type="export_layout",
                 target_id=layout.pk, area=kind.area, details={"kind": kind.code, "code": spec.code}, actor=actor)
    return layout


@transaction.atomic
def layout_delete(*, actor: object, layout: ExportLayout) -> None:
    selectors.require_admin(actor=actor)
    if ExportSchedule.objects.filter(kind=layout.kind, layout_code=layout.code, is_active=True).exists():
        raise ValidationError(_("レイアウト「%(name)s」は定期出力で使われているため削除できません。")
                              % {"name": layout.name})
    audit_record(action=AuditAction.DELETE, target_type="export_layout", target_id=layout.pk,
                 details={"kind": layout.kind, "code": layout.code}, actor=actor)
    layout.delete()
