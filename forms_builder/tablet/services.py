"""Writes for the tablet (R2.8): pairing a tablet with a desk, pushing a document, signing, the resident's
correction request, recall and unpairing. Every step is audited with the residents of the document named.

Rules (tests/test_forms_tablet_rules.py):
- a pairing code has ``PAIRING_CODE_DIGITS`` (6) digits, is single-use and expires after 5 minutes; only its
  hash is stored; 10 wrong codes from one client address lock pairing for that client for 15 minutes;
- a tablet's session (cookie, per municipality host) expires after ``settings.TABLET_SESSION_HOURS``; a new
  pairing at the same desk replaces the old tablet;
- a signature needs at least one stroke with points; its strokes and PNG are encrypted with the municipality's
  data key; it is tied to the pushed document's SHA-256 and to the digest of its content, and refused when
  the content changed since the push;
- the signed PDF is the same documents rendered with the signature in every signature box.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from forms_builder import render
from forms_builder import selectors as forms_selectors
from forms_builder import services as forms_services
from forms_builder.models import IssuedDocument
from forms_builder.tablet import selectors
from forms_builder.tablet.models import (
    CorrectionRequest,
    PairingCode,
    PushEnd,
    Signature,
    Tablet,
    TabletPush,
)
from madoguchi.inputs import JSONInputError, json_loads
from tenants.crypto import decrypt_bytes, encrypt_bytes

PAIRING_CODE_DIGITS = 6
PAIRING_CODE_TTL = timedelta(minutes=5)
PAIRING_MAX_FAILURES = 10
PAIRING_LOCK_SECONDS = 15 * 60
MAX_STROKES = 200
MAX_POINTS = 20000
MAX_PNG_BYTES = 1024 * 1024
MAX_CORRECTION = 500
_STROKES_PURPOSE = "forms_tablet.signature_strokes"
_PNG_PURPOSE = "forms_tablet.signature_png"


@dataclass(frozen=True)
class TabletActor:
    """Who acts when the resident uses the tablet (the audit trail names the tablet and its desk)."""

    tablet: Tablet

    @property
    def pk(self) -> None:
        return None

    def get_username(self) -> str:
        return f"tablet:{self.tablet.pk}@desk:{self.tablet.desk_id}"


def _atena_nos(document: IssuedDocument) -> list[str]:
    return [p for p in document.persons or [] if str(p).isdigit()]


def session_lifetime() -> timedelta:
    return timedelta(hours=float(getattr(settings, "TABLET_SESSION_HOURS", 12)))


# ---------------------------------------------------------------------------------------------
# Pairing
# ---------------------------------------------------------------------------------------------
def _code_hash(code: str) -> str:
    return hashlib.sha256(f"{connection.schema_name}:{code}".encode()).hexdigest()


@transaction.atomic
def pairing_code_create(*, actor: Any) -> tuple[str, PairingCode]:
    """A new code for the desk the staff member is seated at (earlier unused codes of the desk end)."""
    forms_selectors.require_staff(actor)
    desk = selectors.desk_of(actor=actor)
    if desk is None:
        raise ValidationError({"desk": _("席に着いてからペアリングコードを発行してください"
                                         "（「カード読み取り（席）」で着席）。")})
    now = timezone.now()
    PairingCode.objects.filter(desk=desk, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    while True:
        code = f"{secrets.randbelow(10 ** PAIRING_CODE_DIGITS):0{PAIRING_CODE_DIGITS}d}"
        digest = _code_hash(code)
        if not PairingCode.objects.filter(code_hash=digest, used_at__isnull=True, expires_at__gt=now).exists():
            break
    pairing = PairingCode.objects.create(desk=desk, code_hash=digest, created_by=actor,
                                         expires_at=now + PAIRING_CODE_TTL)
    record(actor=actor, action="create", target_type="tablet_pairing_code", target_id=pairing.pk,
           details={"desk": desk.pk, "expires_at": pairing.expires_at.isoformat()})
    return code, pairing


def _lock_key(client: str) -> str:
    return f"forms_tablet:pair-failures:{client or '-'}"


def pairing_locked(*, client: str) -> bool:
    return int(cache.get(_lock_key(client)) or 0) >= PAIRING_MAX_FAILURES


def _count_failure(client: str) -> int:
    key = _lock_key(client)
    cache.add(key, 0, PAIRING_LOCK_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, PAIRING_LOCK_SECONDS)
        return 1


def tablet_pair(*, code: str, client: str, user_agent: str = "") -> tuple[Tablet, str]:
    """Pair this browser with the desk whose code it typed; returns the tablet and the cookie token.

    Refused (ValidationError on ``code``) when the client is locked, the code is not 6 digits, unknown, used
    or expired; every refused attempt counts towards the client's lock and is audited (``login_failed``, and
    ``lockout`` at the 10th)."""
    if pairing_locked(client=client):
        raise ValidationError({"code": _("ペアリングコードの誤りが続いたため、"
                                         "この端末からの接続をしばらく停止しています。"
                                         "15分ほど待ってから、職員に新しいコードを発行してもらってください。")})
    outcome = _pair(code=code, user_agent=user_agent)
    if isinstance(outcome, str):
        failures = _count_failure(client)
        locked = failures >= PAIRING_MAX_FAILURES
        record(action="lockout" if locked else "login_failed", target_type="tablet", target_id="",
               details={"purpose": "tablet_pairing", "failures": failures, "locked": locked})
        raise ValidationError({"code": outcome})
    cache.delete(_lock_key(client))
    return outcome


@transaction.atomic
def _pair(*, code: str, user_agent: str) -> tuple[Tablet, str] | str:
    """The pairing itself, or the message why not (nothing written then)."""
    code = (code or "").strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not (len(code) == PAIRING_CODE_DIGITS and code.isascii() and code.isdigit()):
        return _("ペアリングコードは%(n)d桁の数字で入力してください。") % {"n": PAIRING_CODE_DIGITS}
    now = timezone.now()
    pairing = (PairingCode.objects.select_for_update().select_related("desk")
               .filter(code_hash=_code_hash(code)).order_by("-created_at").first())
    if pairing is None or not pairing.desk.is_active:
        return _("ペアリングコードが正しくありません。")
    if pairing.used_at is not None:
        return _("このペアリングコードは使用済みです。職員に新しいコードを発行してもらってください。")
    if pairing.expires_at <= now:
        return _("ペアリングコードの有効期限（5分）が切れています。"
                 "職員に新しいコードを発行してもらってください。")
    token = secrets.token_urlsafe(32)
    previous = list(Tablet.objects.filter(desk=pairing.desk, revoked_at__isnull=True))
    for old in previous:
        _tablet_end(old, now=now)
    tablet = Tablet.objects.create(desk=pairing.desk, token_hash=selectors.token_hash(token),
                                   paired_by=pairing.created_by, expires_at=now + session_lifetime(),
                                   user_agent=(user_agent or "")[:200], last_seen_at=now)
    pairing.used_at, pairing.tablet = now, tablet
    pairing.save(update_fields=["used_at", "tablet"])
    record(actor=TabletActor(tablet), action="create", target_type="tablet", target_id=tablet.pk,
           details={"desk": tablet.desk_id, "pairing_code": pairing.pk, "replaced": [t.pk for t in previous],
                    "expires_at": tablet.expires_at.isoformat()})
    return tablet, token


def _tablet_end(tablet: Tablet, *, now: Any) -> None:
    tablet.revoked_at = now
    tablet.save(update_fields=["revoked_at"])
    TabletPush.objects.filter(tablet=tablet, ended_at__isnull=True).update(ended_at=now, end_reason=PushEnd.UNPAIRED)


@transaction.atomic
def tablet_unpair(*, actor: Any, tablet_id: int) -> Tablet:
    """Staff at the desk (or a municipal admin) disconnect a tablet; its cookie no longer works."""
    forms_selectors.require_staff(actor)
    tablet = Tablet.objects.select_for_update().filter(pk=tablet_id, revoked_at__isnull=True).first()
    if tablet is None:
        raise ValidationError({"tablet": _("そのタブレットは接続されていません。")})
    if tablet.desk.staff_id != actor.pk and not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("この席のタブレットを解除できるのは着席中の職員か業務管理者です。"))
    _tablet_end(tablet, now=timezone.now())
    record(actor=actor, action="delete", target_type="tablet", target_id=tablet.pk, details={"desk": tablet.desk_id})
    return tablet


def tablet_seen(*, tablet: Tablet) -> None:
    """Note that the tablet polled (at most every 30 s a write)."""
    now = timezone.now()
    if tablet.last_seen_at is None or (now - tablet.last_seen_at).total_seconds() > 30:
        Tablet.objects.filter(pk=tablet.pk).update(last_seen_at=now)


# ---------------------------------------------------------------------------------------------
# Push, recall
# ---------------------------------------------------------------------------------------------
@transaction.atomic
def tablet_push(*, actor: Any, document: IssuedDocument, counter: Any = None) -> TabletPush:
    """Send an issued document to the tablet of the desk the staff member is seated at (the document was
    rendered, stored and audited by ``document_issue`` already). A push the tablet still shows is replaced."""
    forms_selectors.require_staff(actor)
    case = document.case
    if case is None or not case.is_open:
        raise ValidationError(_("完了した受付の申請書はタブレットに送れません。"))
    desk = selectors.desk_of(actor=actor)
    if desk is None:
        raise ValidationError({"desk": _("席に着いていません。"
                                         "「カード読み取り（席）」で着席してからタブレットに送ってください。")})
    tablet = selectors.desk_tablet(desk=desk)
    if tablet is None:
        raise ValidationError({"tablet": _("「%(desk)s」にタブレットが接続されていません。「タブレット（席）」で"
                                           "ペアリングしてください。") % {"desk": desk}})
    now = timezone.now()
    replaced = list(TabletPush.objects.select_for_update().filter(tablet=tablet, ended_at__isnull=True))
    for old in replaced:
        old.ended_at, old.end_reason = now, PushEnd.REPLACED
        old.save(update_fields=["ended_at", "end_reason"])
    codes = selectors.push_codes(document)
    plans = forms_selectors.case_plans(actor=actor, case=case, counter=counter, codes=codes or None)
    push = TabletPush.objects.create(tablet=tablet, document=document, case=case, counter=counter, pushed_by=actor,
                                     codes=codes, content_digest=selectors.plans_digest(plans))
    record(actor=actor, action="export", target_type="tablet_push", target_id=push.pk,
           details={"case": case.pk, "document": document.pk, "sha256": document.sha256, "tablet": tablet.pk,
                    "desk": desk.pk, "replaced": [p.pk for p in replaced], "atena_nos": document.persons},
           residents=_atena_nos(document))
    return push


@transaction.atomic
def push_recall(*, actor: Any, case: Any) -> TabletPush | None:
    """Staff take the case's document back from the tablet (it returns to the waiting screen)."""
    forms_selectors.require_staff(actor)
    push = (TabletPush.objects.select_for_update().select_related("document")
            .filter(case=case, ended_at__isnull=True).order_by("-pushed_at").first())
    if push is None:
        raise ValidationError(_("タブレットに表示中の文書はありません。"))
    push.ended_at, push.end_reason = timezone.now(), PushEnd.RECALLED
    push.save(update_fields=["ended_at", "end_reason"])
    record(actor=actor, action="update", target_type="tablet_push", target_id=push.pk,
           details={"change": "recall", "case": case.pk, "document": push.document_id, "tablet": push.tablet_id,
                    "atena_nos": push.document.persons},
           residents=_atena_nos(push.document))
    return push


# ---------------------------------------------------------------------------------------------
# The resident at the tablet
# ---------------------------------------------------------------------------------------------
def _parse_strokes(raw: Any) -> tuple[list[dict], int, list[str]]:
    """signature_pad's ``toData()``: ``[{"points": [{"x", "y", "time", "pressure"?}, …], …}, …]``."""
    problems: list[str] = []
    try:
        data = json_loads(raw, field=_("署名（筆跡）")) if isinstance(raw, str | bytes) else raw
    except JSONInputError as exc:
        return [], 0, [str(exc)]
    if not isinstance(data, list):
        return [], 0, [_("署名（筆跡）の形式が正しくありません。")]
    strokes: list[dict] = []
    points = 0
    for stroke in data:
        pts = stroke.get("points") if isinstance(stroke, dict) else None
        if not isinstance(pts, list):
            return [], 0, [_("署名（筆跡）の形式が正しくありません。")]
        clean = []
        for point in pts:
            if not isinstance(point, dict) or not all(
                    isinstance(point.get(k), int | float) and not isinstance(point.get(k), bool) for k in ("x", "y")):
                return [], 0, [_("署名（筆跡）の座標が正しくありません。")]
            item = {"x": round(float(point["x"]), 2), "y": round(float(point["y"]), 2)}
            for extra in ("time", "pressure"):
                if isinstance(point.get(extra), int | float) and not isinstance(point.get(extra), bool):
                    item[extra] = point[extra]
            clean.append(item)
        if clean:
            strokes.append({"points": clean, **({"penColor": stroke["penColor"]} if isinstance(
                stroke.get("penColor"), str) and len(stroke["penColor"]) < 40 else {})})
            points += len(clean)
    if not strokes:
        problems.append(_("署名がありません。枠の中に指でお名前を書いてください。"))
    elif len(strokes) > MAX_STROKES or points > MAX_POINTS:
        problems.append(_("署名の筆跡が多すぎます。「書き直す」を押して、もう一度お書きください。"))
    return strokes, points, problems


def _parse_png(raw: Any) -> tuple[bytes, list[str]]:
    prefix = "data:image/png;base64,"
    if not isinstance(raw, str) or not raw.startswith(prefix) or len(raw) > MAX_PNG_BYTES * 4 // 3 + 100:
        return b"", [_("署名の画像（PNG）がありません。")]
    try:
        png = base64.b64decode(raw[len(prefix):], validate=True)
        from PIL import Image

        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG" or not (10 <= image.width <= 4000 and 10 <= image.height <= 4000):
                raise ValueError("size")
            image.verify()
    except Exception:  # noqa: BLE001 - any decoding problem is the same message
        return b"", [_("署名の画像（PNG）が読み取れません。")]
    return png, []


def _require_live(tablet: Tablet, push_id: int) -> TabletPush:
    try:
        return selectors.push_for_tablet(tablet=tablet, push_id=push_id)
    except TabletPush.DoesNotExist as exc:
        raise PermissionDenied(_("この文書は表示できません。")) from exc


def signature_submit(*, tablet: Tablet, push_id: int, strokes: Any, png: Any) -> Signature:
    """See ``_signature_store``; a document whose content changed since the push is taken off the tablet (kept
    even though the signature is refused)."""
    outcome = _signature_store(tablet=tablet, push_id=push_id, strokes=strokes, png=png)
    if isinstance(outcome, Signature):
        return outcome
    raise ValidationError({"signature": [outcome]})


@transaction.atomic
def _signature_store(*, tablet: Tablet, push_id: int, strokes: Any, png: Any) -> Signature | str:
    """Store the resident's signature for the pushed document (encrypted), end the push, audit.

    Refused with nothing stored: zero strokes, a bad image, a document no longer shown on this tablet, or a
    document whose content changed since it was pushed (it must be pushed and signed again)."""
    push = _require_live(tablet, push_id)
    push = (TabletPush.objects.select_for_update(of=("self",))
            .select_related("document", "case", "pushed_by", "counter").get(pk=push.pk))
    if push.ended_at is not None:
        raise PermissionDenied(_("この文書は表示できません。"))
    clean, points, problems = _parse_strokes(strokes)
    image, png_problems = _parse_png(png)
    problems += [p for p in png_problems if not problems]
    if problems:
        raise ValidationError({"signature": problems})
    if selectors.current_digest(push=push) != push.content_digest:
        push.ended_at, push.end_reason = timezone.now(), PushEnd.CHANGED
        push.save(update_fields=["ended_at", "end_reason"])
        record(actor=TabletActor(tablet), action="update", target_type="tablet_push", target_id=push.pk,
               details={"change": "content_changed_before_signing", "case": push.case_id},
               residents=_atena_nos(push.document))
        return _("申請書の内容が変更されたため署名できません。職員にお知らせください。")
    import json

    tenant = connection.tenant
    now = timezone.now()
    signature = Signature.objects.create(
        push=push, case=push.case, tablet=tablet, document=push.document, document_sha256=push.document.sha256,
        content_digest=push.content_digest, signed_at=now, stroke_count=len(clean), point_count=points,
        strokes_encrypted=encrypt_bytes(tenant, json.dumps(clean, separators=(",", ":")).encode(),
                                        purpose=_STROKES_PURPOSE),
        png_encrypted=encrypt_bytes(tenant, image, purpose=_PNG_PURPOSE))
    push.ended_at, push.end_reason = now, PushEnd.SIGNED
    push.save(update_fields=["ended_at", "end_reason"])
    transaction.on_commit(lambda: selectors.signature_validity_remember(signature=signature))
    transaction.on_commit(lambda: _enqueue_signed_document(signature.pk))
    record(actor=TabletActor(tablet), action="create", target_type="tablet_signature", target_id=signature.pk,
           details={"case": push.case_id, "document": push.document_id, "sha256": push.document.sha256,
                    "content_digest": push.content_digest, "strokes": len(clean), "points": points,
                    "tablet": tablet.pk, "desk": tablet.desk_id, "atena_nos": push.document.persons},
           residents=_atena_nos(push.document))
    return signature


def _enqueue_signed_document(signature_id: int) -> None:
    """The signed PDF is rendered by a worker (rendering in the web process would hold up the staff screen's
    polls); if the broker is unreachable it is built on demand from the staff screen."""
    from forms_builder.tablet.tasks import build_signed_document

    try:
        build_signed_document.delay(signature_id)
    except Exception:  # noqa: BLE001 - the signature is stored; the PDF follows on demand
        logging.getLogger(__name__).exception("could not enqueue the signed PDF of signature %s", signature_id)


def signature_png(signature: Signature) -> bytes:
    return decrypt_bytes(connection.tenant, signature.png_encrypted, purpose=_PNG_PURPOSE)


def signature_strokes(signature: Signature) -> list[dict]:
    return json_loads(decrypt_bytes(connection.tenant, signature.strokes_encrypted, purpose=_STROKES_PURPOSE),
                      field=_("署名（筆跡）"))


@transaction.atomic
def signed_document_build(*, signature: Signature) -> IssuedDocument | None:
    """The signed PDF: the pushed documents rendered again with the signature in every signature box, stored
    encrypted as an issued document (channel ``signed``). None when the content changed since signing."""
    signature = Signature.objects.select_for_update(of=("self",)).select_related("push__case", "push__pushed_by",
                                                                     "push__counter", "document").get(pk=signature.pk)
    if signature.signed_document_id:
        return signature.signed_document
    plans = selectors.current_plans(push=signature.push)
    if selectors.plans_digest(plans) != signature.content_digest:
        return None
    render.embed_signature(plans, signature_png(signature))
    pdf, pages = render.render_pdf(plans, backgrounds=forms_services._backgrounds(plans))
    source = signature.document
    document = IssuedDocument.objects.create(
        case=signature.case, channel="signed", items=source.items, persons=source.persons,
        sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf), pages=pages,
        pdf_encrypted=forms_services.encrypt_pdf(pdf), issued_by=signature.push.pushed_by)
    signature.signed_document = document
    signature.save(update_fields=["signed_document"])
    record(actor=signature.push.pushed_by, action="create", target_type="form_document", target_id=document.pk,
           details={"case": signature.case_id, "channel": "signed", "signature": signature.pk,
                    "signed_sha256": source.sha256, "sha256": document.sha256, "pages": pages,
                    "atena_nos": source.persons},
           residents=_atena_nos(source))
    return document


@transaction.atomic
def correction_request(*, tablet: Tablet, push_id: int, text: str) -> CorrectionRequest:
    """The resident asks for a correction (「訂正を依頼」); the staff screen shows the question."""
    push = _require_live(tablet, push_id)
    text = (text or "").strip()
    if len(text) > MAX_CORRECTION:
        raise ValidationError({"text": _("お問い合わせは%(n)d文字以内でお書きください。") % {"n": MAX_CORRECTION}})
    item = CorrectionRequest.objects.create(push=push, text=text)
    record(actor=TabletActor(tablet), action="create", target_type="tablet_correction", target_id=item.pk,
           details={"case": push.case_id, "document": push.document_id, "tablet": tablet.pk,
                    "atena_nos": push.document.persons},
           residents=_atena_nos(push.document))
    return item
