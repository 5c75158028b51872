"""Reads for forms: which documents a case needs, their planned values and blanks, issued documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from forms_builder import render
from forms_builder import sources as src
from forms_builder.models import AddressArea, CaseEntry, FormTemplate, FormVersion, IssuedDocument, VersionStatus
from integration import selectors as mirror
from integration.models import GaijiMapping, Resident


def require_staff(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        raise PermissionDenied(_("職員としてログインしてください。"))


def require_admin(actor: Any) -> None:
    require_staff(actor)
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("様式の編集は業務管理者のみが行えます。"))


def templates_list(*, actor: Any) -> list[FormTemplate]:
    require_staff(actor)
    return list(FormTemplate.objects.prefetch_related("versions"))


def template_get(*, actor: Any, code: str) -> FormTemplate:
    require_staff(actor)
    return FormTemplate.objects.get(code=code)


def version_in_force(*, template: FormTemplate, on: Any = None) -> FormVersion | None:
    """The published version in force on ``on`` (the latest effective one)."""
    on = on or timezone.localdate()
    return (
        FormVersion.objects.filter(template=template, status=VersionStatus.PUBLISHED, effective_from__lte=on)
        .select_related("template")
        .order_by("-effective_from", "-number")
        .first()
    )


def draft_of(*, template: FormTemplate) -> FormVersion | None:
    return FormVersion.objects.filter(template=template, status=VersionStatus.DRAFT).first()


# ---------------------------------------------------------------------------------------------
# Which documents a case needs
# ---------------------------------------------------------------------------------------------
@dataclass
class DocumentSpec:
    template: FormTemplate
    version: FormVersion
    person: Any  # CasePerson for person-scoped forms, else None
    persons: list[Any]  # the document's rows
    procedures: list[Any] = field(default_factory=list)  # the case procedures (CaseProcedure) it serves

    @property
    def key(self) -> str:
        return f"{self.template.code}:{getattr(self.person, 'key', '')}"

    @property
    def areas(self) -> list[str]:
        return form_areas(template=self.template, procedures=self.procedures)


# ---------------------------------------------------------------------------------------------
# Who may issue which form (R6.1/R6.2: a counter works within the business areas its staff hold)
# ---------------------------------------------------------------------------------------------
def form_areas(*, template: FormTemplate, procedures: list[Any]) -> list[str]:
    """The business areas (業務) a document belongs to: those of the case procedures it serves (an application
    form: 国保 資格取得届 → 国保), plus the template's own ``area`` when set (a certificate's 交付請求書: 住民票の写し
    → 住基, 印鑑登録証明書 → 印鑑, 戸籍証明書 → 戸籍, 課税・所得証明書 → 税). Empty: the form is area-free (the
    手続き案内票, which lists every procedure for the resident whoever prints it)."""
    areas = {template.area} if getattr(template, "area", "") else set()
    areas.update(p.area for p in procedures if getattr(p, "area", ""))
    return sorted(areas)


def area_label(area: str) -> str:
    from tenants.areas import BusinessArea

    try:
        return str(BusinessArea(area).label)
    except ValueError:
        return area


def missing_areas(*, actor: Any, areas: list[str]) -> list[str]:
    """The areas among ``areas`` the staff member does not hold. The rule is the accounts app's own
    (``User.can_handle``: a municipal admin handles every area, other staff the areas they were given)."""
    can_handle = getattr(actor, "can_handle", None)
    if can_handle is None:
        return list(areas)
    return [area for area in areas if not can_handle(area)]


def issue_refusal(*, actor: Any, name: str, areas: list[str]) -> str:
    """Why ``actor`` may not issue (print, download, push, preview or reprint) the form ``name`` of ``areas``,
    or "" when they may."""
    missing = missing_areas(actor=actor, areas=areas)
    if not missing:
        return ""
    return _("「%(name)s」は発行できません：%(areas)sの担当業務がありません。") % {
        "name": name,
        "areas": "・".join(f"「{area_label(a)}」" for a in missing),
    }


def issue_split(plans: list[render.DocumentPlan]) -> tuple[list[render.DocumentPlan], list[render.DocumentPlan]]:
    """(the plans the staff member may issue, those left out — each with its ``refusal``)."""
    return [p for p in plans if not p.refusal], [p for p in plans if p.refusal]


def _wanted(case: Any) -> tuple[dict[str, list[Any]], list[Any]]:
    """Template code → the case procedures it serves (not 不要), and those procedures."""
    from navigation.cases import navi
    from navigation.cases.models import ProcedureStatus

    procedures = list(case.procedures.select_related("person", "counter").exclude(status=ProcedureStatus.NOT_NEEDED))
    catalogue_forms = navi.procedure_forms(case=case)
    by_template: dict[str, list[Any]] = {}
    templates = list(FormTemplate.objects.filter(is_active=True, kind="application"))
    for template in templates:
        for item in procedures:
            if item.procedure_code in (template.procedures or []) or template.code in catalogue_forms.get(
                item.procedure_code, ()
            ):
                by_template.setdefault(template.code, []).append(item)
    return by_template, procedures


def case_documents(*, case: Any, on: Any = None) -> list[DocumentSpec]:
    """The documents (template × person) this case needs now, in the templates' order."""
    by_template, procedures = _wanted(case)
    persons = list(case.persons.all())
    subjects = [p for p in persons if p.is_subject] or persons
    entries = {(e.person_key, e.key) for e in CaseEntry.objects.filter(case=case)}
    specs: list[DocumentSpec] = []
    for template in FormTemplate.objects.filter(is_active=True).order_by("order", "code"):
        version = version_in_force(template=template, on=on or case.day)
        if version is None:
            continue
        if template.kind == "guidance":
            if procedures:
                specs.append(DocumentSpec(template, version, None, subjects))
            continue
        if template.kind == "certificate":
            if ("", f"cert_kind:{template.code}") in entries:
                visitor = next((p for p in persons if p.is_visitor), persons[0] if persons else None)
                specs.append(DocumentSpec(template, version, visitor, [visitor] if visitor else []))
            continue
        items = by_template.get(template.code)
        if not items:
            continue
        people: list[Any] = []
        for item in items:
            for person in [item.person] if item.person else subjects:
                if person.pk not in {p.pk for p in people}:
                    people.append(person)
        people.sort(key=lambda p: (p.position, p.pk))
        if template.scope == "person":
            specs.extend(
                DocumentSpec(template, version, person, [person],
                             [i for i in items if i.person is None or i.person.pk == person.pk])
                for person in people
            )
        else:
            specs.append(DocumentSpec(template, version, None, people, list(items)))
    return specs


def _context_base(*, case: Any, counter: Any, staff: Any) -> dict[str, Any]:
    persons = list(case.persons.all())
    atena_nos = [p.atena_no for p in persons if p.atena_no]
    residents = list(Resident.objects.filter(atena_no__in=atena_nos))
    views = {v.atena_no: v for v in mirror.person_views(residents, on=case.event_date)}
    entries = {(e.person_key, e.key): e.value for e in CaseEntry.objects.filter(case=case)}
    gaiji = dict(GaijiMapping.objects.values_list("local_code", "ucs"))
    from navigation.cases.models import ProcedureStatus

    # 不要 procedures are on no document (the 手続き案内票 lists what the resident still has to do).
    procedures = list(case.procedures.select_related("person", "counter").exclude(status=ProcedureStatus.NOT_NEEDED))
    return {
        "persons": persons,
        "views": views,
        "entries": entries,
        "eligibilities": mirror.eligibilities_for(atena_nos=list(views), on=case.event_date),
        "gaiji": gaiji,
        "procedures": procedures,
        "counter": counter or case.current_counter,
        "staff": staff,
    }


def context_for(spec: DocumentSpec, *, case: Any, base: dict[str, Any]) -> src.BindingContext:
    person = spec.person or (spec.persons[0] if spec.persons else None)
    return src.BindingContext(
        case=case,
        persons=base["persons"],
        doc_persons=spec.persons,
        person=person,
        counter=base["counter"],
        staff=base["staff"],
        municipality=getattr(connection, "tenant", None),
        template_code=spec.template.code,
        views=base["views"],
        eligibilities=base["eligibilities"],
        entries=base["entries"],
        extra={"gaiji": base["gaiji"], "procedures": base["procedures"]},
    )


def overrides_for(spec: DocumentSpec, entries: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """Blanks staff filled on screen for this document (``field:<template>:<field key>[#row]``)."""
    prefix = f"field:{spec.template.code}:"
    person_key = getattr(spec.person, "key", "")
    return {
        key[len(prefix) :]: value for (pk, key), value in entries.items() if key.startswith(prefix) and pk == person_key
    }


def case_plans(
    *, actor: Any, case: Any, counter: Any = None, codes: list[str] | None = None
) -> list[render.DocumentPlan]:
    """Every document of the case resolved and fitted (values, blanks with reasons, problems)."""
    require_staff(actor)
    base = _context_base(case=case, counter=counter, staff=actor)
    plans = []
    for spec in case_documents(case=case):
        if codes and spec.key not in codes and spec.template.code not in codes:
            continue
        ctx = context_for(spec, case=case, base=base)
        plan = render.plan_document(version=spec.version, ctx=ctx, overrides=overrides_for(spec, base["entries"]))
        plan.person_key = getattr(spec.person, "key", None)
        plan.person_name = getattr(spec.person, "name", "")
        plan.persons = [p.atena_no or p.key for p in spec.persons]
        # Household members read from the mirror for this document (a 世帯主 at home, a child) are named too.
        plan.persons += sorted(set(ctx.extra.get("mirror_read", ())) - set(plan.persons))
        plan.areas = spec.areas
        plan.refusal = issue_refusal(actor=actor, name=_doc_name(spec.template.name, plan.person_name),
                                     areas=plan.areas)
        plans.append(plan)
    return plans


def _doc_name(template_name: str, person_name: str) -> str:
    return f"{template_name}（{person_name}）" if person_name else template_name


def needed_inputs(*, case: Any) -> list[tuple[Any, Any]]:
    """(input, person or None) pairs the case's documents bind to, in a stable order."""
    from forms_builder import inputs as inputs_mod

    wanted: dict[str, set[str]] = {}

    def collect(fields: list[dict]) -> None:
        for spec in fields:
            if spec.get("type") == "rows":
                collect(spec.get("columns") or [])
            binding = str(spec.get("binding") or "")
            source, name, _f = src.parse_binding(binding) if binding else ("", "", [])
            if source == "input":
                wanted.setdefault(name.partition(".")[0], set())
            if source == "computed":
                for key in _COMPUTED_INPUTS.get(name, ()):
                    wanted.setdefault(key, set())

    specs = case_documents(case=case)
    for spec in specs:
        collect(spec.version.fields or [])
    result = []
    events = set(case.events or [])
    for item in inputs_mod.all_inputs():
        if item.key not in wanted:
            continue
        if item.events and not events & set(item.events):
            continue
        if item.scope == "person":
            people = {
                p.pk: p
                for s in specs
                for p in s.persons
                if any("input." + item.key in str(f) for f in s.version.fields)
            }
            result.extend((item, p) for p in people.values())
        else:
            result.append((item, None))
    return result


_COMPUTED_INPUTS = {
    "address": ("new_address",),
    "katagaki": ("new_address",),
    "postcode": ("new_address",),
    "new_address": ("new_address", "destination_address"),
    "new_katagaki": ("new_address",),
    "new_postcode": ("new_address",),
    "old_address": ("previous_address",),
    "old_head": ("previous_head",),
}


def input_kind(key: str) -> str | None:
    """The kind (text, address …) of a registered case input, None when no form has an input of that key."""
    from forms_builder import inputs as inputs_mod

    item = inputs_mod.get(key)
    return item.kind if item is not None else None


def case_input_values(*, case: Any, keys: set[str] | list[str] | tuple[str, ...]) -> dict[tuple[str, str], Any]:
    """``{(input key, person key or ""): value}`` of the values staff entered for the case (one query).

    The interview reads these for its text and address questions: the answer and the forms' input are one value.
    """
    if not keys:
        return {}
    return {(e.key, e.person_key): e.value for e in CaseEntry.objects.filter(case=case, key__in=list(keys))}


def town_choices() -> dict[str, dict]:
    prefix = getattr(getattr(connection, "tenant", None), "name", "")
    return {
        a.code: {"name": a.name, "postcode": a.postcode, "kana": a.kana, "prefix": prefix}
        for a in AddressArea.objects.filter(is_active=True)
    }


def issued_documents(*, actor: Any, case: Any) -> list[IssuedDocument]:
    """The case's issued documents, each with ``refusal``: why ``actor`` may not reprint it ("" when they may)."""
    require_staff(actor)
    documents = list(IssuedDocument.objects.filter(case=case))
    for document in documents:
        document.refusal = reissue_refusal(actor=actor, document=document)
    return documents


def document_item_areas(*, document: IssuedDocument) -> list[tuple[str, list[str] | None]]:
    """(form name, its business areas) for every form in a stored document. The areas were recorded at issue;
    for a document issued before that, they are found again from the template and the case's procedures, and
    None when they cannot be (an application form whose procedures are gone: only a municipal admin may then
    reprint it)."""
    templates = {t.code: t for t in FormTemplate.objects.filter(code__in=[i.get("template") for i in document.items])}
    wanted: dict[str, list[Any]] | None = None
    result: list[tuple[str, list[str] | None]] = []
    for item in document.items or []:
        code = str(item.get("template") or "")
        template = templates.get(code)
        name = template.name if template is not None else code
        if isinstance(item.get("areas"), list):
            result.append((name, [str(a) for a in item["areas"]]))
            continue
        if template is None:
            result.append((name, None))
            continue
        procedures: list[Any] = []
        if template.kind == "application":
            if wanted is None:
                wanted = _wanted(document.case)[0] if document.case is not None else {}
            person_key = item.get("person_key")
            procedures = [p for p in wanted.get(code, []) if not person_key or p.person is None
                          or p.person.key == person_key]
            if not procedures:
                result.append((name, None))
                continue
        result.append((name, form_areas(template=template, procedures=procedures)))
    return result


def reissue_refusal(*, actor: Any, document: IssuedDocument) -> str:
    """Why ``actor`` may not reprint ``document`` ("" when they may): the same rule as issuing, for every form
    in it."""
    reasons = []
    for name, areas in document_item_areas(document=document):
        if areas is None:
            if not getattr(actor, "is_municipal_admin", False):
                reasons.append(_("「%(name)s」は業務を特定できないため、再発行は業務管理者だけが行えます。")
                               % {"name": name})
            continue
        reason = issue_refusal(actor=actor, name=name, areas=areas)
        if reason and reason not in reasons:
            reasons.append(reason)
    return " ".join(reasons)


def issued_get(*, actor: Any, pk: int) -> IssuedDocument:
    require_staff(actor)
    return IssuedDocument.objects.get(pk=pk)


def address_search(*, actor: Any, query: str, limit: int = 30) -> list[AddressArea]:
    require_staff(actor)
    query = (query or "").strip()
    qs = AddressArea.objects.filter(is_active=True)
    if query:
        qs = qs.filter(Q(name__contains=query) | Q(kana__contains=query) | Q(code__startswith=query))
    return list(qs[:limit])
