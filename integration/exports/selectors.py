"""Reads for exports. Plan (business areas of the municipality) and staff areas are checked here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.exports import registry
from integration.exports.layouts import LayoutError, LayoutSpec, builtin_layouts, editor_vocabulary, spec_from_dict
from integration.exports.models import (
    ExportAck,
    ExportBatch,
    ExportLayout,
    ExportRecord,
    ExportSchedule,
    ExportWatermark,
)
from integration.exports.registry import ExportKind


def kind_require(*, municipality: object, kind_code: str) -> ExportKind:
    """The kind, if it is registered and its business area is in the municipality's plan (else 404)."""
    kind = registry.get(kind_code)
    if kind is None or municipality is None or not municipality.has_area(kind.area):
        raise Http404(_("この出力データの種別は利用できません。"))
    return kind


def staff_may_export(*, actor: object, kind: ExportKind) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and getattr(actor, "can_handle", None)
                and actor.can_handle(kind.area))


def kind_for_staff(*, actor: object, municipality: object, kind_code: str) -> ExportKind:
    """Municipal admins, and staff whose business areas include the kind's area."""
    kind = kind_require(municipality=municipality, kind_code=kind_code)
    if not staff_may_export(actor=actor, kind=kind):
        raise PermissionDenied(_("「%(kind)s」を出力する権限がありません（担当業務: %(area)s）。")
                               % {"kind": kind.label, "area": kind.area})
    return kind


def kinds_for_staff(*, actor: object, municipality: object) -> list[ExportKind]:
    return [kind for kind in registry.available_for(municipality) if staff_may_export(actor=actor, kind=kind)]


def reveals_protected(*, channel: str, actor: object) -> bool:
    """Whether a hand-over through ``channel`` carries the real address of a household under a support measure.

    Only a channel to the municipality's core system (``to_core_system``: the outbox, the PULL API) does for
    everyone; a file for a person does only when that person holds 「支援措置の閲覧」. Every other hand-over
    masks it — the one place this is decided.
    """
    from integration.exports import channels

    return bool(channels.get(channel).to_core_system or getattr(actor, "can_view_support_measures", False))


def record_people(*, kind: ExportKind, payload: dict) -> tuple[list[str], list[str]]:
    """The 宛名番号 and 世帯番号 a record's payload names (the kind's ``identifies`` items)."""
    def values(what: str) -> list[str]:
        return [str(payload[c]).strip() for c in kind.identity_items(what) if str(payload.get(c) or "").strip()]

    return values("resident"), values("household")


def require_admin(*, actor: object) -> None:
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("この操作は業務管理者のみ行えます。"))


def watermark(*, kind_code: str) -> int:
    return ExportWatermark.objects.filter(kind=kind_code).values_list("last_record_id", flat=True).first() or 0


def records_pending(*, kind_code: str, after: int | None = None) -> QuerySet[ExportRecord]:
    """Records of a kind not yet handed over as a file, oldest first."""
    mark = watermark(kind_code=kind_code) if after is None else after
    return ExportRecord.objects.filter(kind=kind_code, id__gt=mark).order_by("id")


def _local_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(date_from, time.min))
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))
    return start, end


def records_received_between(*, kind_code: str, date_from: date, date_to: date) -> QuerySet[ExportRecord]:
    start, end = _local_bounds(date_from, date_to)
    return ExportRecord.objects.filter(kind=kind_code, created_at__gte=start, created_at__lt=end).order_by("id")


def records_after(*, kind_code: str, after: int, limit: int) -> list[ExportRecord]:
    return list(ExportRecord.objects.filter(kind=kind_code, id__gt=after).order_by("id")[:limit])


def ack_cursor(*, client: object, kind_code: str) -> int:
    return ExportAck.objects.filter(client=client, kind=kind_code).values_list("cursor", flat=True).first() or 0


def latest_record_id() -> int:
    return ExportRecord.objects.aggregate(m=Max("id"))["m"] or 0


@dataclass(frozen=True)
class KindOverview:
    kind: ExportKind
    pending: int
    last_batch: ExportBatch | None
    schedule: ExportSchedule | None


def export_overview(*, actor: object, municipality: object) -> list[KindOverview]:
    rows = []
    for kind in kinds_for_staff(actor=actor, municipality=municipality):
        rows.append(KindOverview(
            kind=kind,
            pending=records_pending(kind_code=kind.code).count(),
            last_batch=ExportBatch.objects.filter(kind=kind.code).first(),
            schedule=ExportSchedule.objects.filter(kind=kind.code).first(),
        ))
    return rows


def batches_for(*, actor: object, municipality: object, kind_code: str | None = None,
                limit: int = 50) -> list[ExportBatch]:
    """Export history the actor may see (kinds of their areas only)."""
    if kind_code:
        codes = [kind_for_staff(actor=actor, municipality=municipality, kind_code=kind_code).code]
    else:
        codes = [kind.code for kind in kinds_for_staff(actor=actor, municipality=municipality)]
    return list(ExportBatch.objects.filter(kind__in=codes).select_related("api_client")[:limit])


def layouts_for(*, kind: ExportKind) -> list[LayoutSpec]:
    """Shipped layouts first, then the ones municipal admins imported."""
    specs = builtin_layouts(kind)
    for row in ExportLayout.objects.filter(kind=kind.code):
        try:
            specs.append(spec_from_dict(row.definition))
        except LayoutError:
            continue  # a stored layout that no longer fits its kind is reported on the layout screen
    return specs


def layout_rows(*, actor: object) -> list[ExportLayout]:
    require_admin(actor=actor)
    return list(ExportLayout.objects.all())


def layout_resolve(*, kind: ExportKind, code: str) -> LayoutSpec:
    for spec in builtin_layouts(kind):
        if spec.code == code:
            return spec
    row = ExportLayout.objects.filter(kind=kind.code, code=code).first()
    if row is None:
        raise ValidationError({"layout": _("レイアウト「%(code)s」は「%(kind)s」にありません。")
                               % {"code": code, "kind": kind.label}})
    try:
        return spec_from_dict(row.definition)
    except LayoutError as exc:
        raise ValidationError({"layout": exc.errors}) from exc


def layout_for_editing(*, actor: object, kind: ExportKind, code: str | None = None,
                       start_from: str | None = None) -> dict:
    """The definition the layout editor opens with: a municipality's own layout (``code``, 404 if none), or a
    new one started from any layout of the kind (``start_from``, the shipped standard by default) with its
    code cleared and its name marked as a copy."""
    require_admin(actor=actor)
    if code is not None:
        row = ExportLayout.objects.filter(kind=kind.code, code=code).first()
        if row is None:
            raise Http404(_("レイアウトがありません。"))
        return dict(row.definition)
    source = next((spec for spec in layouts_for(kind=kind) if spec.code == (start_from or "standard")), None)
    if source is None:
        raise Http404(_("レイアウトがありません。"))
    return {**source.to_dict(), "code": "", "name": _("%(name)s のコピー") % {"name": source.name}}


def layout_vocabulary(*, actor: object, kind: ExportKind) -> dict:
    """Items, code tables and settings the visual layout editor offers for ``kind`` (in the UI language)."""
    require_admin(actor=actor)
    return editor_vocabulary(kind)


def schedule_for(*, kind_code: str) -> ExportSchedule | None:
    return ExportSchedule.objects.filter(kind=kind_code).first()


def schedules_due(*, now: datetime) -> QuerySet[ExportSchedule]:
    return ExportSchedule.objects.filter(is_active=True, next_run_at__lte=now).order_by("next_run_at")


def linkage_disclosure(*, municipality: object) -> list[dict]:
    """Outbound linkages of this municipality for the disclosure page (R3.7), generated from the registry,
    the layouts and the schedules so that it is always true. One entry per kind in the plan."""
    from integration.exports import channels
    from integration.exports.layouts import ENCODINGS, FORMATS
    from integration.exports.wareki import DATE_STYLES

    entries = []
    for kind in registry.available_for(municipality):
        schedule = schedule_for(kind_code=kind.code)
        if schedule and schedule.is_active:
            frequency = (_("毎日 %(time)s に送信フォルダへ") % {"time": schedule.time_of_day.strftime("%H:%M")}
                         if schedule.mode == ExportSchedule.Mode.DAILY
                         else _("%(n)d分ごとに送信フォルダへ") % {"n": schedule.interval_minutes})
        else:
            frequency = _("職員が都度ダウンロード")
        entries.append({
            "direction": _("窓口支援システム → 基幹系"),
            "kind": kind.code, "label": kind.label, "area": kind.area, "basis": kind.basis,
            "methods": [{"code": c.code, "label": c.label, "method": c.method, "description": c.description}
                        for c in channels.registered()],
            "frequency": frequency,
            "layouts": [{"code": s.code, "name": s.name, "format": FORMATS[s.format],
                         "encoding": ENCODINGS[s.encoding], "date_style": DATE_STYLES[s.date_style],
                         "columns": [c.header for c in s.columns]} for s in layouts_for(kind=kind)],
            "items": [{"code": i.code, "label": i.label, "meaning": i.meaning, "codes": i.code_table}
                      for i in kind.items],
        })
    return entries


def scheduled_layout_problems(*, kind: ExportKind, payload: dict, corrects_id: int | None = None,
                              items: set[str] | None = None) -> list[str]:
    """Why a record with ``payload`` could not go out through the kind's active outbox schedule (a value wider than
    a fixed-width column, a character the encoding cannot hold, a correction without the correction columns), each
    naming the layout and the item; empty when it fits (or when no schedule is active). Checked before a record is
    stored by a caller who can still refuse it (a correction), so the outbox never fails on it later. ``items``:
    report only the problems of these item codes (and of the correction columns) — what the caller changed."""
    from integration.exports.render import ExportRenderError, RenderRow, render

    schedule = schedule_for(kind_code=kind.code)
    if schedule is None or not schedule.is_active:
        return []
    try:
        spec = layout_resolve(kind=kind, code=schedule.layout_code)
    except ValidationError:
        return []  # the schedule screen reports a broken layout
    row = RenderRow(id=0, kind=kind.code, created_at=timezone.now(), source="", source_id="", payload=payload,
                    corrects_id=corrects_id)
    try:
        render([row], spec)
    except ExportRenderError as exc:
        wanted = None if items is None else {kind.label_for(code) for code in {*items, "_correction", "_corrects_id"}}
        return [_("出力レイアウト「%(layout)s」の「%(item)s」：%(message)s")
                % {"layout": spec.name, "item": problem.item, "message": problem.message} for problem in exc.problems
                if wanted is None or problem.item in wanted]
    return []
