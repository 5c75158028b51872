"""Reads of the data mirror. Support-measure (DV等支援措置) restrictions are enforced here.

A person under an active support measure with ``restrict_address`` gets their address, 方書, postcode
and address code replaced by ``RESTRICTED`` in every ``PersonView`` returned, unless the caller
explicitly passes ``allow_restricted=True`` (only services that have checked the staff member's
authority and audit the access may do so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration.models import Eligibility, Household, Resident, ResidentStatus, SupportMeasure

RESTRICTED = _lazy("（支援措置対象のため非表示）")  # a PersonView holds it as a plain string (str())


@dataclass(frozen=True)
class PersonView:
    atena_no: str
    household_no: str
    name: str
    name_kana: str
    birth_date: date
    sex: str
    relationship: str
    address: str
    address_katagaki: str
    postcode: str
    address_code: str
    status: str
    kind: str
    nationality: str = ""
    residence_status: str = ""
    support_measure: bool = False
    address_restricted: bool = False
    support_kinds: tuple[str, ...] = field(default_factory=tuple)
    pk: int | None = None


def active_support_measures(*, atena_nos: list[str], on: date | None = None) -> dict[str, list[SupportMeasure]]:
    on = on or date.today()
    result: dict[str, list[SupportMeasure]] = {}
    qs = SupportMeasure.objects.filter(atena_no__in=atena_nos, start_date__lte=on).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=on)
    )
    for measure in qs:
        result.setdefault(measure.atena_no, []).append(measure)
    return result


def restricted_households(*, household_nos: list[str], on: date | None = None) -> set[str]:
    """Households with a member under an active support measure that restricts the address.

    The address is the household's address: hiding it only for the protected person would still
    show it on every other member's record (and, through them, where the protected person lives).
    """
    on = on or date.today()
    members = Resident.objects.filter(household_no__in=set(household_nos)).values("atena_no")
    protected = (
        SupportMeasure.objects.filter(atena_no__in=members, restrict_address=True, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .values("atena_no")
    )
    return set(
        Resident.objects.filter(atena_no__in=protected, household_no__in=set(household_nos))
        .values_list("household_no", flat=True)
    )


def protected_among(
    *, atena_nos: list[str], household_nos: list[str] = (), on: date | None = None
) -> tuple[set[str], set[str]]:
    """Which of these residents and households a support measure restricts the address of on ``on``:
    a resident under such a measure, every member of a household with such a member (the address is the
    household's), and those households. Returns ``(atena_nos, household_nos)``.

    Works from the measures in force (a few hundred in a municipality), not from the residents asked about,
    so a hand-over of a million records costs three small queries, not a million-element ``IN``.
    """
    on = on or date.today()
    in_force = (
        SupportMeasure.objects.filter(restrict_address=True, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .values_list("atena_no", flat=True)
    )
    own = set(in_force)
    households = set(Resident.objects.filter(atena_no__in=own).values_list("household_no", flat=True)) - {""}
    members = set(Resident.objects.filter(household_no__in=households).values_list("atena_no", flat=True))
    asked = {a for a in atena_nos if a}
    return asked & (own | members), {h for h in household_nos if h} & households


def person_views(
    residents: list[Resident], *, on: date | None = None, allow_restricted: bool = False
) -> list[PersonView]:
    measures = active_support_measures(atena_nos=[r.atena_no for r in residents], on=on)
    hidden_households = (
        set() if allow_restricted else restricted_households(household_nos=[r.household_no for r in residents], on=on)
    )
    views = []
    restricted_text = str(RESTRICTED)
    for r in residents:
        active = measures.get(r.atena_no, [])
        restricted = not allow_restricted and (
            any(m.restrict_address for m in active) or r.household_no in hidden_households
        )
        views.append(
            PersonView(
                pk=r.pk, atena_no=r.atena_no, household_no=r.household_no, name=r.name, name_kana=r.name_kana,
                birth_date=r.birth_date, sex=r.sex, relationship=r.relationship,
                address=restricted_text if restricted else r.address,
                address_katagaki="" if restricted else r.address_katagaki,
                postcode="" if restricted else r.postcode,
                address_code="" if restricted else r.address_code,
                status=r.status, kind=r.kind, nationality=r.nationality, residence_status=r.residence_status,
                support_measure=bool(active), address_restricted=restricted,
                support_kinds=tuple(sorted({m.kind for m in active})),
            )
        )
    return views


def person_get(*, atena_no: str, on: date | None = None, allow_restricted: bool = False) -> PersonView | None:
    resident = Resident.objects.filter(atena_no=atena_no).first()
    if resident is None:
        return None
    return person_views([resident], on=on, allow_restricted=allow_restricted)[0]


def household_members(
    *, household_no: str, on: date | None = None, include_departed: bool = False, allow_restricted: bool = False
) -> list[PersonView]:
    qs = Resident.objects.filter(household_no=household_no)
    if not include_departed:
        qs = qs.filter(status=ResidentStatus.RESIDENT)
    residents = sorted(qs, key=lambda r: (r.relationship != "世帯主", r.birth_date))
    return person_views(residents, on=on, allow_restricted=allow_restricted)


@dataclass(frozen=True)
class HouseholdView:
    household_no: str
    head_atena_no: str
    address: str
    address_katagaki: str
    address_code: str
    postcode: str
    address_restricted: bool


def household_get(
    *, household_no: str, on: date | None = None, allow_restricted: bool = False
) -> HouseholdView | None:
    """The household with its address withheld when a member is under an address-restricting measure."""
    household = Household.objects.filter(household_no=household_no).first()
    if household is None:
        return None
    restricted = not allow_restricted and bool(restricted_households(household_nos=[household_no], on=on))
    return HouseholdView(
        household_no=household.household_no, head_atena_no=household.head_atena_no,
        address=str(RESTRICTED) if restricted else household.address,
        address_katagaki="" if restricted else household.address_katagaki,
        address_code="" if restricted else household.address_code,
        postcode="" if restricted else household.postcode,
        address_restricted=restricted,
    )


def eligibilities_for(*, atena_nos: list[str], on: date | None = None) -> dict[str, list[Eligibility]]:
    """Current eligibility records per person (all records if ``on`` is None)."""
    qs = Eligibility.objects.filter(atena_no__in=atena_nos)
    if on is not None:
        qs = qs.filter(Q(start_date__isnull=True) | Q(start_date__lte=on)).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=on)
        )
    result: dict[str, list[Eligibility]] = {}
    for item in qs.order_by("area", "kind"):
        result.setdefault(item.atena_no, []).append(item)
    return result


# ---------------------------------------------------------------------------------------------
# Linkage (municipal admins only)
# ---------------------------------------------------------------------------------------------
def _require_linkage_admin(actor: object) -> None:
    from django.core.exceptions import PermissionDenied

    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("基幹系連携の画面は業務管理者のみが利用できます。"))


def linkage_layouts(*, actor: object, direction: str | None = "in") -> QuerySet:
    from integration.models import LinkageLayout

    _require_linkage_admin(actor)
    qs = LinkageLayout.objects.prefetch_related("schedules")
    return qs.filter(direction=direction) if direction else qs


def layout_targets(*, actor: object) -> list[tuple[str, str]]:
    """Import targets a new layout may have here: residents etc., and eligibility of subscribed areas only."""
    from django.db import connection

    from integration.targets import target_choices, target_for

    _require_linkage_admin(actor)
    tenant = connection.tenant
    return [(key, label) for key, label in target_choices()
            if not hasattr(tenant, "has_area") or tenant.has_area(target_for(key).area or "juki")]


def import_runs(*, actor: object, limit: int = 50) -> list:
    from integration.models import ImportRun

    _require_linkage_admin(actor)
    return list(ImportRun.objects.select_related("layout", "schedule")[:limit])


def import_run_get(*, actor: object | None, pk: int) -> object:
    """One run of this municipality (API clients pass ``actor=None`` after their scope was checked)."""
    from integration.models import ImportRun

    if actor is not None:
        _require_linkage_admin(actor)
    return ImportRun.objects.select_related("layout").get(pk=pk)


def import_run_errors_csv(*, run: object) -> bytes:
    """The errors of a run as CSV for the core-system vendor (UTF-8 with BOM for spreadsheet software; cells a
    spreadsheet would evaluate are neutralised — column labels are typed by admins, messages quote file values).
    Only the errors the run kept are listed; a last row says how many more there were."""
    from integration.exports.render import spreadsheet_csv

    rows = [[e.get("line") or "", e.get("column") or "", e.get("message") or ""] for e in run.errors]
    more = run.error_count - len(run.errors)
    if more > 0:
        rows.append(["", "", _("ほかに %(more)s 件のエラーがあります（最初の %(kept)s 件だけを記録しています）")
                     % {"more": more, "kept": len(run.errors)}])
    return spreadsheet_csv([_("行"), _("項目"), _("内容")], rows)


@dataclass(frozen=True)
class ScheduleStatus:
    schedule: object
    last_run: object | None
    late: bool
    failed: bool

    @property
    def attention(self) -> bool:
        return self.late or self.failed


def schedule_statuses(*, actor: object) -> list[ScheduleStatus]:
    """Every schedule with its last run, flagged when the last run failed or finished after its deadline (R7.4)."""
    from integration.models import ImportRun, LinkageSchedule
    from integration.services import run_is_stale

    _require_linkage_admin(actor)
    result = []
    for schedule in LinkageSchedule.objects.select_related("layout"):
        last = ImportRun.objects.filter(schedule=schedule).order_by("-created_at", "-pk").first()
        failed = bool(last) and (last.status in (ImportRun.Status.FAILED, ImportRun.Status.INTERRUPTED)
                                 or run_is_stale(run=last))
        late = bool(last) and last.is_late
        result.append(ScheduleStatus(schedule=schedule, last_run=last, late=late, failed=failed))
    return result


def runs_needing_attention(*, actor: object, days: int = 7) -> list:
    """Failed, interrupted, stale or late runs of the last days (shown at the top of the admin screen), and a
    support-measure file skipped as the re-delivery of the last one applied (a measure changed since by an admin
    or another file stays as it is: someone should look)."""
    from datetime import timedelta

    from django.utils import timezone

    from integration.models import ImportRun
    from integration.services import run_is_stale

    _require_linkage_admin(actor)
    since = timezone.now() - timedelta(days=days)
    runs = ImportRun.objects.select_related("layout").filter(created_at__gte=since)
    return [r for r in runs if r.status in (ImportRun.Status.FAILED, ImportRun.Status.INTERRUPTED)
            or (r.status == ImportRun.Status.DUPLICATE and r.layout.target == "support_measures")
            or r.is_late or run_is_stale(run=r)]


def gaiji_mappings(*, actor: object) -> QuerySet:
    from integration.models import GaijiMapping

    _require_linkage_admin(actor)
    return GaijiMapping.objects.all()


# ---------------------------------------------------------------------------------------------
# 外字の確認 on staff screens (R5.6)
# ---------------------------------------------------------------------------------------------
def _in_jis_x_0208(char: str) -> bool:
    """JIS X 0208 (第1・第2水準 and non-kanji) or ASCII: what every counter PC and printer can show."""
    try:
        char.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def name_characters(*, text: str) -> list[dict]:
    """Each character of a name with its code point(s) (an IVS with its base), its MJ文字図形名 where this
    municipality's 外字 table maps to it, and whether it lies outside JIS X 0208 — for staff to tell 「髙」
    from 「高」 or name the exact glyph to a printer or another system."""
    from integration.gaiji import code_points
    from integration.models import GaijiMapping

    chars = code_points(text)
    mj = dict(GaijiMapping.objects.filter(ucs__in={c["char"] for c in chars}).exclude(mj_name="")
              .values_list("ucs", "mj_name"))
    for item in chars:
        item["mj_name"] = mj.get(item["char"], "")
        item["outside_jis"] = item["ivs"] or item["pua"] or not _in_jis_x_0208(item["char"])
    return chars
