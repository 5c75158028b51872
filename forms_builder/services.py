"""Writes for forms: templates and versions, backgrounds, staff inputs in a case, issuing PDFs, 町字 master.

Every function validates everything first and changes nothing on bad input (a ValidationError naming the
field or line). Every issued PDF is stored encrypted with the municipality's data key and audited with its
hash, template versions and persons; a reprint is a new row and a new audit event.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from forms_builder import channels, defaults, render, selectors
from forms_builder import inputs as inputs_mod
from forms_builder.models import (
    AddressArea,
    CaseEntry,
    FormBackground,
    FormTemplate,
    FormVersion,
    IssuedDocument,
    VersionStatus,
)
from tenants.crypto import decrypt_bytes, encrypt_bytes

MAX_BACKGROUND = 10 * 1024 * 1024
DEFAULTS_EFFECTIVE = date(2000, 1, 1)
_PDF_PURPOSE = "forms_builder.issued_pdf"


# ---------------------------------------------------------------------------------------------
# Encryption of issued documents (AES-GCM under the municipality's data key)
# ---------------------------------------------------------------------------------------------
def encrypt_pdf(pdf: bytes) -> bytes:
    return encrypt_bytes(connection.tenant, pdf, purpose=_PDF_PURPOSE)


def decrypt_pdf(token: bytes) -> bytes:
    return decrypt_bytes(connection.tenant, token, purpose=_PDF_PURPOSE)


# ---------------------------------------------------------------------------------------------
# Templates and versions
# ---------------------------------------------------------------------------------------------
def _content_hash(version: FormVersion) -> str:
    import json

    body = json.dumps(
        {
            "fields": version.fields,
            "html": version.html,
            "page": [version.page_size, version.orientation],
            "background": version.background.sha256 if version.background else "",
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@transaction.atomic
def templates_install_defaults(*, actor: Any = None) -> list[FormTemplate]:
    """Install our default templates that this municipality does not have yet (published, version 1)."""
    created = []
    for item in defaults.definitions():
        if FormTemplate.objects.filter(code=item["code"]).exists():
            continue
        problems = render.validate_fields(item["fields"])
        if problems:  # our own drawings must be valid; a failing default is a bug, not bad input
            raise ValueError(f"default template {item['code']}: {problems}")
        template = FormTemplate.objects.create(
            code=item["code"],
            name=item["name"],
            scope=item["scope"],
            kind=item["kind"],
            area=item.get("area", ""),
            procedures=item["procedures"],
            origin="default",
            order=item["order"],
        )
        version = FormVersion(
            template=template,
            number=1,
            status=VersionStatus.PUBLISHED,
            effective_from=DEFAULTS_EFFECTIVE,
            fields=item["fields"],
            html=item["html"],
            published_at=timezone.now(),
            note=_("標準様式"),
        )
        version.content_hash = _content_hash(version)
        version.save()
        created.append(template)
    if created:
        record(
            actor=actor,
            action="create",
            target_type="form_template",
            target_id="defaults",
            details={"codes": [t.code for t in created]},
        )
    return created


def _validate_html(html: str) -> list[str]:
    from django.template import Engine, TemplateSyntaxError

    if not html:
        return []
    if re.search(r"<\s*(script|link|iframe|object)|url\s*\(|src\s*=\s*[\"']?(https?:|//|file:)", html, re.I):
        return [_("HTML テンプレート：外部の読み込みやスクリプトは使えません。")]
    try:
        Engine().from_string(html)
    except TemplateSyntaxError as exc:
        return [_("HTML テンプレート：%(error)s") % {"error": exc}]
    return []


@transaction.atomic
def template_create(
    *,
    actor: Any,
    code: str,
    name: str,
    scope: str = "case",
    procedures: list[str] | None = None,
    kind: str = "application",
    area: str = "",
) -> FormTemplate:
    selectors.require_admin(actor)
    template = FormTemplate(
        code=(code or "").strip(), name=(name or "").strip(), scope=scope, procedures=list(procedures or []), kind=kind,
        area=(area or "").strip(),
    )
    try:
        template.full_clean()
    except ValidationError as exc:
        raise ValidationError(
            [f"{FormTemplate._meta.get_field(k).verbose_name}：{m}" for k, ms in exc.message_dict.items() for m in ms]
        ) from exc
    template.save()
    record(
        actor=actor,
        action="create",
        target_type="form_template",
        target_id=template.pk,
        details={"code": template.code},
    )
    return template


@transaction.atomic
def template_draft_save(
    *,
    actor: Any,
    template: FormTemplate,
    fields: Any = None,
    html: str | None = None,
    page_size: str | None = None,
    orientation: str | None = None,
    background: FormBackground | None | bool = False,
    note: str = "",
) -> FormVersion:
    """Create or update the template's draft (starting from the version in force). Validates every field."""
    selectors.require_admin(actor)
    template = FormTemplate.objects.select_for_update().get(pk=template.pk)
    draft = selectors.draft_of(template=template)
    if draft is None:
        base = (
            selectors.version_in_force(template=template)
            or FormVersion.objects.filter(template=template).order_by("-number").first()
        )
        draft = FormVersion(template=template, status=VersionStatus.DRAFT, number=0)
        if base is not None:
            draft.fields, draft.html = base.fields, base.html
            draft.page_size, draft.orientation, draft.background = base.page_size, base.orientation, base.background
    if fields is not None:
        draft.fields = fields
    if html is not None:
        draft.html = html
    if page_size is not None:
        draft.page_size = page_size
    if orientation is not None:
        draft.orientation = orientation
    if background is not False:
        draft.background = background or None
    if draft.page_size not in render.PAGE_MM or draft.orientation not in ("portrait", "landscape"):
        raise ValidationError(_("用紙の大きさ・向きが正しくありません。"))
    problems = render.validate_fields(draft.fields, page_size=draft.page_size, orientation=draft.orientation)
    problems += _validate_html(draft.html)
    if problems:
        raise ValidationError(problems)
    draft.note = (note or draft.note)[:200]
    draft.save()
    record(
        actor=actor,
        action="update",
        target_type="form_template",
        target_id=template.pk,
        details={"code": template.code, "change": "draft", "fields": len(draft.fields or [])},
    )
    return draft


@transaction.atomic
def template_publish(*, actor: Any, template: FormTemplate, effective_from: date) -> FormVersion:
    """Publish the draft as the next version from ``effective_from`` (not in the past). Immutable afterwards."""
    selectors.require_admin(actor)
    template = FormTemplate.objects.select_for_update().get(pk=template.pk)
    draft = selectors.draft_of(template=template)
    if draft is None:
        raise ValidationError(_("公開する下書きがありません。"))
    if effective_from is None or effective_from < timezone.localdate():
        raise ValidationError({"effective_from": _("適用開始日は今日以降の日付にしてください。")})
    problems = render.validate_fields(draft.fields, page_size=draft.page_size, orientation=draft.orientation)
    problems += _validate_html(draft.html)
    if problems:
        raise ValidationError(problems)
    number = (
        FormVersion.objects.filter(template=template, status=VersionStatus.PUBLISHED).aggregate(n=Max("number"))["n"]
        or 0
    ) + 1
    FormVersion.objects.filter(pk=draft.pk).update(
        status=VersionStatus.PUBLISHED,
        number=number,
        effective_from=effective_from,
        published_at=timezone.now(),
        published_by=actor,
        content_hash=_content_hash(draft),
    )
    draft.refresh_from_db()
    record(
        actor=actor,
        action="update",
        target_type="form_template",
        target_id=template.pk,
        details={
            "change": "publish",
            "code": template.code,
            "version": number,
            "effective_from": effective_from.isoformat(),
            "hash": draft.content_hash,
        },
    )
    return draft


def template_sample_preview(
    *,
    actor: Any,
    template: FormTemplate,
    fields: Any = None,
    page_size: str | None = None,
    orientation: str | None = None,
    as_png: bool = False,
) -> tuple[bytes, list[str]]:
    """The layout editor's live preview: the draft (or the version in force), or the unsaved ``fields`` being
    edited, rendered for the sample household (``forms_builder.sample``) with the template's background.

    Returns (PDF, or a 110 dpi PNG of its first page when ``as_png``; the problems: invalid fields, values that
    do not fit). Nothing is stored; no resident's data is read, so nothing is audited."""
    from forms_builder import sample as sample_mod

    selectors.require_admin(actor)
    shown = selectors.draft_of(template=template) or selectors.version_in_force(template=template)
    if shown is None:
        raise ValidationError(_("様式「%(name)s」には版がありません。") % {"name": template.name})
    version = FormVersion(
        pk=shown.pk, template=template, number=shown.number, status=shown.status,
        page_size=page_size or shown.page_size, orientation=orientation or shown.orientation,
        background_id=shown.background_id, fields=shown.fields if fields is None else fields, html=shown.html,
    )
    if version.page_size not in render.PAGE_MM or version.orientation not in ("portrait", "landscape"):
        raise ValidationError(_("用紙の大きさ・向きが正しくありません。"))
    problems = render.validate_fields(version.fields, page_size=version.page_size, orientation=version.orientation)
    if problems:  # an invalid field cannot be drawn; say why instead
        return b"", problems
    household = sample_mod.household(staff=actor)
    household.ctx.template_code = template.code
    plan = render.plan_document(version=version, ctx=household.ctx,
                                overrides=sample_mod.overrides(household, version.fields or []))
    pdf, _pages = render.render_pdf([plan], backgrounds=_backgrounds([plan]))
    return (_first_page_png(pdf) if as_png else pdf), list(plan.problems)


def _first_page_png(pdf: bytes, *, dpi: int = 110) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "in.pdf")
        with open(source, "wb") as handle:
            handle.write(pdf)
        target = os.path.join(folder, "page")
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", source, target],
                       capture_output=True, timeout=60, check=True)
        with open(target + ".png", "rb") as handle:
            return handle.read()


# ---------------------------------------------------------------------------------------------
# Backgrounds
# ---------------------------------------------------------------------------------------------
def _kind_of(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return ""


def _rasterise_pdf(data: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "in.pdf")
        with open(source, "wb") as handle:
            handle.write(data)
        target = os.path.join(folder, "page")
        result = subprocess.run(
            ["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1", "-singlefile", source, target],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0 or not os.path.exists(target + ".png"):
            raise ValidationError(_("背景の PDF を読み取れませんでした（壊れているか、暗号化されています）。"))
        with open(target + ".png", "rb") as handle:
            return handle.read()


@transaction.atomic
def background_upload(*, actor: Any, file_name: str, data: bytes) -> FormBackground:
    """An official form page as the background: a PDF (page 1, rasterised at 300 dpi) or a PNG/JPEG image."""
    from PIL import Image, UnidentifiedImageError

    selectors.require_admin(actor)
    name = (file_name or "").strip()[:200] or "background"
    if len(data) > MAX_BACKGROUND:
        raise ValidationError(
            {
                "background": _("背景「%(name)s」は %(size).1f MB あります。10 MB 以下のファイルにしてください。")
                % {"name": name, "size": len(data) / 1024 / 1024}
            }
        )
    kind = _kind_of(data)
    if not kind:
        raise ValidationError(
            {"background": _("背景「%(name)s」は PDF・PNG・JPEG のいずれでもありません。") % {"name": name}}
        )
    png = _rasterise_pdf(data) if kind == "pdf" else data
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationError(
            {"background": _("背景「%(name)s」の画像を読み取れませんでした。") % {"name": name}}
        ) from exc
    if kind == "jpeg" or image.mode not in ("RGB", "L", "1", "P"):
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", optimize=True)
        png = buffer.getvalue()
    background = FormBackground.objects.create(
        sha256=hashlib.sha256(data).hexdigest(),
        file_name=name,
        source_type=kind,
        png=png,
        width_px=image.width,
        height_px=image.height,
        uploaded_by=actor,
    )
    record(
        actor=actor,
        action="create",
        target_type="form_background",
        target_id=background.pk,
        details={"file": name, "type": kind, "sha256": background.sha256},
    )
    return background


# ---------------------------------------------------------------------------------------------
# What staff type in a case
# ---------------------------------------------------------------------------------------------
def _require_case_here(*, actor: Any, counter: Any, case: Any) -> None:
    selectors.require_staff(actor)
    if not case.is_open:
        raise ValidationError(_("受付 %(label)s は完了しています。") % {"label": case.label})
    if counter is None or case.current_counter_id != counter.pk:
        raise PermissionDenied(_("受付 %(label)s はこの窓口で対応中ではありません。") % {"label": case.label})


@transaction.atomic
def case_entries_save(*, actor: Any, counter: Any, case: Any, values: dict[tuple[str, str], Any]) -> int:
    """Save staff inputs ``{(input key, person key or ""): raw}``; empty raw values are skipped.

    Every value is validated first; nothing is saved when one is bad (the messages name the input and person).
    """
    _require_case_here(actor=actor, counter=counter, case=case)
    persons = {p.key: p for p in case.persons.all()}
    towns = selectors.town_choices()
    cleaned: dict[tuple[str, str], Any] = {}
    problems: list[str] = []
    for (key, person_key), raw in values.items():
        item = inputs_mod.get(key.partition(":")[0])
        if item is None:
            problems.append(_("入力項目「%(key)s」はありません。") % {"key": key})
            continue
        if person_key and person_key not in persons:
            problems.append(_("「%(key)s」は受付にいない人の入力です。") % {"key": key})
            continue
        if raw is None or raw == "" or (isinstance(raw, dict) and not any(str(v).strip() for v in raw.values())):
            continue
        try:
            value = inputs_mod.clean(item, raw, known_towns=towns)
        except ValidationError as exc:
            who = f"{persons[person_key].name}：" if person_key else ""
            problems.extend(f"{who}{m}" for m in exc.messages)
            continue
        cleaned[(key, person_key)] = value
    if problems:
        raise ValidationError(problems)
    for (key, person_key), value in cleaned.items():
        CaseEntry.objects.update_or_create(
            case=case, person_key=person_key, key=key, defaults={"value": value, "entered_by": actor}
        )
    if cleaned:
        record(
            actor=actor,
            action="update",
            target_type="case",
            target_id=case.pk,
            details={"change": "form_inputs", "keys": sorted(f"{k}@{p}" if p else k for k, p in cleaned)},
        )
    return len(cleaned)


@transaction.atomic
def case_field_fill(
    *, actor: Any, counter: Any, case: Any, template_code: str, field_key: str, person_key: str, value: str
) -> CaseEntry:
    """Staff fill a blank of one document on screen (``field_key`` may carry ``#row``)."""
    _require_case_here(actor=actor, counter=counter, case=case)
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("入力してください。"))
    if len(value) > 200 or any(ord(c) < 0x20 for c in value):
        raise ValidationError(_("200文字以内で、改行を含めずに入力してください。"))
    template = FormTemplate.objects.filter(code=template_code).first()
    if template is None:
        raise ValidationError(_("様式「%(code)s」はありません。") % {"code": template_code})
    if person_key and not any(p.key == person_key for p in case.persons.all()):
        raise ValidationError(_("受付にいない人です。"))
    value = _option_value(template=template, case=case, field_key=field_key, value=value)
    entry, _created = CaseEntry.objects.update_or_create(
        case=case,
        person_key=person_key,
        key=f"field:{template_code}:{field_key}",
        defaults={"value": value, "entered_by": actor},
    )
    record(
        actor=actor,
        action="update",
        target_type="case",
        target_id=case.pk,
        details={"change": "form_field", "template": template_code, "field": field_key},
    )
    return entry


def _field_spec(fields: list[dict], key: str) -> dict | None:
    for spec in fields:
        if spec.get("type") == "rows":
            found = _field_spec(spec.get("columns") or [], key)
            if found is not None:
                return found
        elif str(spec.get("key") or "") == key:
            return spec
    return None


def _option_value(*, template: FormTemplate, case: Any, field_key: str, value: str) -> str:
    """A circle/check field takes one of its printed options: its label (男) or value (1) → the value."""
    version = selectors.version_in_force(template=template, on=case.day)
    spec = _field_spec(version.fields if version else [], field_key.partition("#")[0])
    if spec is None or spec.get("type") not in ("circle", "check"):
        return value
    options = [(str(o.get("value")), str(o.get("label") or o.get("value"))) for o in spec.get("options") or []]
    for option_value, label in options:
        if value in (option_value, label):
            return option_value
    raise ValidationError(
        _("「%(label)s」：「%(value)s」は選択肢（%(choices)s）にありません。選択肢から選んでください。")
        % {"label": spec.get("label") or field_key, "value": value[:20], "choices": "、".join(o[1] for o in options)}
    )


@transaction.atomic
def certificate_request_set(
    *, actor: Any, counter: Any, case: Any, template_code: str, kind: str, copies: Any, purpose: str
) -> None:
    """A 証明書の交付請求 in the case: which certificate, how many copies, for what purpose (typed by staff)."""
    _require_case_here(actor=actor, counter=counter, case=case)
    template = FormTemplate.objects.filter(code=template_code, kind="certificate", is_active=True).first()
    if template is None:
        raise ValidationError(_("証明書の様式「%(code)s」はありません。") % {"code": template_code})
    version = selectors.version_in_force(template=template)
    kinds = {
        str(o.get("value"))
        for f in (version.fields if version else [])
        if f.get("type") == "check"
        for o in f.get("options") or []
    }
    problems = []
    if kind not in kinds:
        problems.append(_("証明の種類を選んでください。"))
    copies_text = str(copies or "").strip()
    if not copies_text.isdigit() or not 1 <= int(copies_text) <= 20:
        problems.append(_("通数は1〜20で入力してください。"))
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 60:
        problems.append(_("使用目的を60文字以内で入力してください。"))
    if problems:
        raise ValidationError(problems)
    for key, value in (
        (f"cert_kind:{template_code}", kind),
        (f"cert_copies:{template_code}", int(copies_text)),
        (f"cert_purpose:{template_code}", purpose),
    ):
        CaseEntry.objects.update_or_create(
            case=case, person_key="", key=key, defaults={"value": value, "entered_by": actor}
        )
    record(
        actor=actor,
        action="update",
        target_type="case",
        target_id=case.pk,
        details={"change": "certificate_request", "template": template_code, "kind": kind, "copies": int(copies_text)},
    )


# ---------------------------------------------------------------------------------------------
# Issuing
# ---------------------------------------------------------------------------------------------
@dataclass
class Issued:
    document: IssuedDocument
    pdf: bytes
    delivery: channels.Delivery
    plans: list[render.DocumentPlan]
    # Forms of the case left out of a bundle because the staff member may not issue them (each plan's
    # ``refusal`` says why); the page says so.
    left_out: list[render.DocumentPlan] = field(default_factory=list)


def _backgrounds(plans: list[render.DocumentPlan]) -> dict[int, bytes]:
    ids = {p.background_id for p in plans if p.background_id}
    return {b.pk: bytes(b.png) for b in FormBackground.objects.filter(pk__in=ids)}


def _persons_of(plans: list[render.DocumentPlan]) -> list[str]:
    return list(dict.fromkeys(key for p in plans for key in p.persons))


def _atena_nos(persons: list[str]) -> list[str]:
    """The residents among a document's persons (newcomers are named by their case person key until they have
    a 宛名番号; the audit's resident list holds 宛名番号 only)."""
    return [person for person in persons if person.isdigit()]


REFUSED = "refused"  # audit action of an issue, preview or reprint refused for want of a business area


def _refuse(*, actor: Any, operation: str, target_type: str, target_id: Any, case_id: Any, channel: str,
            reasons: list[str], forms: list[dict[str, Any]]) -> PermissionDenied:
    """Audit the refusal (nothing was handed out, so no resident is named) and return the error to raise.

    Called outside the transaction of the issue itself, so the event stays when the caller turns the
    PermissionDenied into a 403 (requests are not atomic as a whole)."""
    record(
        actor=actor,
        action=REFUSED,
        target_type=target_type,
        target_id=target_id,
        details={"operation": operation, "case": case_id, "channel": channel, "forms": forms, "reasons": reasons},
    )
    return PermissionDenied(" ".join(reasons))


def _refused_forms(plans: list[render.DocumentPlan], *, actor: Any) -> list[dict[str, Any]]:
    return [
        {"template": p.template_code, "person_key": p.person_key or "", "areas": p.areas,
         "missing": selectors.missing_areas(actor=actor, areas=p.areas)}
        for p in plans
    ]


def _permitted_plans(
    *, actor: Any, counter: Any, case: Any, codes: list[str] | None, operation: str, channel: str
) -> tuple[list[render.DocumentPlan], list[render.DocumentPlan]]:
    """(the plans to render, the forms left out). Asked for by name (``codes``), a form the staff member may not
    issue refuses the whole request; the bundle (no ``codes``) leaves such forms out, and is refused only when
    nothing is left. Refusals are audited as ``refused``."""
    plans = selectors.case_plans(actor=actor, case=case, counter=counter, codes=codes)
    if not plans:
        raise ValidationError(_("この受付で作成する申請書がありません。"))
    allowed, left_out = selectors.issue_split(plans)
    if left_out and (codes or not allowed):
        raise _refuse(actor=actor, operation=operation, target_type="case", target_id=case.pk, case_id=case.pk,
                      channel=channel, reasons=[p.refusal for p in left_out],
                      forms=_refused_forms(left_out, actor=actor))
    return allowed, left_out


def document_issue(
    *, actor: Any, counter: Any, case: Any, channel: str, codes: list[str] | None = None, request: Any = None
) -> Issued:
    """Render the case's documents (all, or those in ``codes``) into one PDF, store it encrypted, audit it with
    its hash, versions and persons, and deliver it through ``channel``. Refused while a value does not fit or a
    character cannot be printed (never clipped or printed as a base glyph silently).

    Only forms of business areas the staff member holds (``selectors.issue_refusal``; a municipal admin: all):
    a form asked for by name that they may not issue → PermissionDenied naming the form and the missing area
    (audited ``refused``); the bundle holds the forms they may issue and ``Issued.left_out`` the others."""
    selectors.require_staff(actor)
    output = channels.get(channel)
    if output is None:
        raise ValidationError(_("出力先「%(channel)s」はありません。") % {"channel": channel})
    plans, left_out = _permitted_plans(actor=actor, counter=counter, case=case, codes=codes, operation="issue",
                                       channel=channel)
    return _document_store_and_deliver(actor=actor, case=case, output=output, channel=channel, plans=plans,
                                       left_out=left_out, request=request)


@transaction.atomic
def _document_store_and_deliver(
    *, actor: Any, case: Any, output: channels.OutputChannel, channel: str, plans: list[render.DocumentPlan],
    left_out: list[render.DocumentPlan], request: Any
) -> Issued:
    problems = [
        f"{p.template_name}{'（' + p.person_name + '）' if p.person_name else ''}：{m}"
        for p in plans
        for m in p.problems
    ]
    if problems:
        raise ValidationError(problems)
    pdf, pages = render.render_pdf(plans, backgrounds=_backgrounds(plans))
    digest = hashlib.sha256(pdf).hexdigest()
    items = [
        {
            "template": p.template_code,
            "version_id": p.version_id,
            "number": p.version_number,
            "person_key": p.person_key,
            "blanks": len(p.blanks),
            "staff_typed": len(p.staff_typed),
            "areas": p.areas,
        }
        for p in plans
    ]
    persons = _persons_of(plans)
    document = IssuedDocument.objects.create(
        case=case,
        channel=channel,
        items=items,
        persons=persons,
        sha256=digest,
        size=len(pdf),
        pages=pages,
        pdf_encrypted=encrypt_pdf(pdf),
        issued_by=actor,
    )
    extra: dict[str, Any] = {"pages": pages}
    if left_out:
        extra["left_out"] = _refused_forms(left_out, actor=actor)
    _audit_handed_out(actor=actor, document=document, extra=extra)
    delivery = output.deliver(document=document, pdf=pdf, actor=actor, request=request)
    return Issued(document=document, pdf=pdf, delivery=delivery, plans=plans, left_out=left_out)


def _audit_handed_out(*, actor: Any, document: IssuedDocument, extra: dict[str, Any]) -> None:
    """Every PDF handed out (issued or reprinted): its hash, versions and persons, the residents named (R6.3)."""
    record(
        actor=actor,
        action="print" if document.channel == "print" else "export",
        target_type="form_document",
        target_id=document.pk,
        details={
            "case": document.case_id,
            "channel": document.channel,
            "sha256": document.sha256,
            **extra,
            "templates": [f"{i['template']}@{i['number']}" for i in document.items],
            "atena_nos": document.persons,
        },
        residents=_atena_nos(document.persons),
    )


def document_reissue(*, actor: Any, document: IssuedDocument, channel: str, request: Any = None) -> Issued:
    """A reprint or re-download of a stored document: the same bytes, a new row and a new audit event. The same
    rule as issuing: every form in it must be of an area the staff member holds (else PermissionDenied, audited
    ``refused``)."""
    selectors.require_staff(actor)
    output = channels.get(channel)
    if output is None:
        raise ValidationError(_("出力先「%(channel)s」はありません。") % {"channel": channel})
    refusal = selectors.reissue_refusal(actor=actor, document=document)
    if refusal:
        raise _refuse(actor=actor, operation="reissue", target_type="form_document", target_id=document.pk,
                      case_id=document.case_id, channel=channel, reasons=[refusal],
                      forms=[{"template": i.get("template"), "person_key": i.get("person_key") or "",
                              "areas": i.get("areas")} for i in document.items or []])
    return _document_copy(actor=actor, document=document, channel=channel, output=output, request=request)


@transaction.atomic
def _document_copy(
    *, actor: Any, document: IssuedDocument, channel: str, output: channels.OutputChannel, request: Any
) -> Issued:
    pdf = decrypt_pdf(document.pdf_encrypted)
    copy = IssuedDocument.objects.create(
        case=document.case,
        channel=channel,
        items=document.items,
        persons=document.persons,
        sha256=document.sha256,
        size=document.size,
        pages=document.pages,
        pdf_encrypted=bytes(document.pdf_encrypted),  # the same bytes under the same key: no need to encrypt again
        issued_by=actor,
    )
    _audit_handed_out(actor=actor, document=copy, extra={"reprint_of": document.pk})
    return Issued(
        document=copy, pdf=pdf, delivery=output.deliver(document=copy, pdf=pdf, actor=actor, request=request), plans=[]
    )


def case_preview(*, actor: Any, case: Any, counter: Any = None, codes: list[str] | None = None) -> bytes:
    """The on-screen preview (not a handed-out document): rendered, audited as a view, not stored. The forms
    shown are those the staff member may issue (the same rule and refusal as ``document_issue``)."""
    selectors.require_staff(actor)
    plans, _left_out = _permitted_plans(actor=actor, counter=counter, case=case, codes=codes, operation="preview",
                                        channel="preview")
    pdf, _pages = render.render_pdf(plans, backgrounds=_backgrounds(plans), watermark=render.PREVIEW_MARK)
    record(
        actor=actor,
        action="view",
        target_type="case",
        target_id=case.pk,
        details={
            "purpose": "form_preview",
            "templates": [p.template_code for p in plans],
            "atena_nos": _persons_of(plans),
        },
        residents=_atena_nos(_persons_of(plans)),
    )
    return pdf


# ---------------------------------------------------------------------------------------------
# 町字 master
# ---------------------------------------------------------------------------------------------
_TOWN = re.compile(r"^(.*?[^\d０-９一二三四五六七八九十]+?)(?:[\d０-９]|[一二三四五六七八九十]+番)")


@transaction.atomic
def address_areas_seed_from_mirror() -> int:
    """Seed the 町字 master from the mirror's address codes on day one (町字 = the address up to the 番地)."""
    prefix = getattr(getattr(connection, "tenant", None), "name", "")
    from integration.models import Resident

    seen: dict[str, tuple[str, str]] = {}
    for code, address, postcode in (
        Resident.objects.exclude(address_code="")
        .values_list("address_code", "address", "postcode")
        .order_by("address_code")
    ):
        if code in seen or AddressArea.objects.filter(code=code).exists():
            continue
        text = address[len(prefix) :] if prefix and address.startswith(prefix) else address
        match = _TOWN.match(text)
        seen[code] = ((match.group(1) if match else text).strip(), postcode)
    AddressArea.objects.bulk_create(
        [
            AddressArea(code=code, name=name, postcode=postcode, source="mirror")
            for code, (name, postcode) in seen.items()
            if name
        ]
    )
    return len(seen)


def forms_setup() -> tuple[int, int]:
    """Day one for a municipality: our default templates, and 町字 from the mirror's address codes."""
    templates = templates_install_defaults()
    towns = address_areas_seed_from_mirror()
    return len(templates), towns


ABR_HEADERS = {
    "code": ("町字ID", "町字コード", "コード"),
    "oaza": ("大字・町名", "町字", "町名"),
    "chome": ("丁目名",),
    "koaza": ("小字名",),
    "kana": ("大字・町名_カナ", "フリガナ", "カナ"),
    "postcode": ("郵便番号",),
}


@transaction.atomic
def address_areas_import(*, actor: Any, data: bytes, file_name: str) -> int:
    """Import the 町字 master: the Digital Agency's アドレス・ベース・レジストリ 町字 CSV (町字ID, 大字・町名,
    丁目名, 小字名 …) or the municipality's own list (コード, 町字, フリガナ, 郵便番号). UTF-8 (with or without
    BOM) or CP932. Every line is checked first; a bad line stops the import and names its line number."""
    selectors.require_admin(actor)
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(_("%(file)s：文字コードが UTF-8 でも Shift_JIS でもありません。") % {"file": file_name})
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None) or []
    columns = {}
    for name, candidates in ABR_HEADERS.items():
        for index, title in enumerate(header):
            if title.strip() in candidates:
                columns[name] = index
                break
    if "code" not in columns or "oaza" not in columns:
        raise ValidationError(
            _("%(file)s：1行目に「町字ID」（またはコード）と「大字・町名」（または町字）の列が必要です。")
            % {"file": file_name}
        )
    source = "abr" if "町字ID" in [h.strip() for h in header] else "own"
    rows: dict[str, AddressArea] = {}
    problems = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        code = cell("code")
        name = cell("oaza") + cell("chome") + cell("koaza")
        postcode = cell("postcode").replace("-", "")
        if not code or len(code) > 20:
            problems.append(_("%(line)d行目：町字コードがありません（または20文字を超えています）。") % {"line": line})
        elif not name or len(name) > 120:
            problems.append(_("%(line)d行目：町字がありません（または120文字を超えています）。") % {"line": line})
        elif postcode and not (postcode.isdigit() and len(postcode) == 7):
            problems.append(
                _("%(line)d行目：郵便番号「%(value)s」は7桁の数字ではありません。")
                % {"line": line, "value": postcode[:10]}
            )
        elif code in rows:
            problems.append(_("%(line)d行目：町字コード %(code)s が重複しています。") % {"line": line, "code": code})
        else:
            rows[code] = AddressArea(code=code, name=name, kana=cell("kana")[:200], postcode=postcode, source=source)
        if len(problems) >= 50:
            break
    if problems:
        raise ValidationError(problems)
    if not rows:
        raise ValidationError(_("%(file)s：町字が1件もありません。") % {"file": file_name})
    AddressArea.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "kana", "postcode", "source", "is_active"],
    )
    record(
        actor=actor,
        action="import",
        target_type="address_area",
        target_id=file_name[:60],
        details={"rows": len(rows), "source": source},
    )
    return len(rows)
