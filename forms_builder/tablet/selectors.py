"""Reads for the tablet: which tablet a cookie names, what it may show, and a case's signing state.

A tablet reaches only its live push: the newest push to it that has not ended, whose case is still open and
whose tablet session has not expired or been revoked. Everything else is ``None`` / ``DoesNotExist`` (404).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from forms_builder import render
from forms_builder import selectors as forms_selectors
from forms_builder.tablet.models import CorrectionRequest, Signature, Tablet, TabletPush
from navigation.cases.models import CaseStatus
from tenants.accounts.models import Desk

# How long a computed "is the signed content still the same" answer is reused while the case's inputs do not
# change (a change of the mirror behind a binding is noticed at the latest after this many seconds, and
# always at close: ``signature_current(..., fresh=True)``).
VALIDITY_CACHE_SECONDS = 30


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tablet_for_token(*, token: str | None) -> Tablet | None:
    """The live tablet of this cookie in this municipality's schema (another municipality has no such row)."""
    if not token or len(token) > 200:
        return None
    now = timezone.now()
    return (Tablet.objects.select_related("desk").filter(token_hash=token_hash(token), revoked_at__isnull=True,
                                                         expires_at__gt=now, desk__is_active=True).first())


def live_push(*, tablet: Tablet) -> TabletPush | None:
    """What the tablet shows now: its newest push not ended, while the case is open; else nothing."""
    push = (TabletPush.objects.select_related("case", "document").filter(tablet=tablet, ended_at__isnull=True)
            .order_by("-pushed_at", "-pk").first())
    if push is None or push.case.status != CaseStatus.OPEN:
        return None
    return push


def push_for_tablet(*, tablet: Tablet, push_id: int) -> TabletPush:
    """The tablet's live push if it has this id; any other id raises ``TabletPush.DoesNotExist`` (404)."""
    push = live_push(tablet=tablet)
    if push is None or push.pk != push_id:
        raise TabletPush.DoesNotExist
    return push


def desk_of(*, actor: Any) -> Desk | None:
    """The desk the staff member is seated at."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return Desk.objects.select_related("counter").filter(staff=actor, is_active=True).first()


def desk_tablet(*, desk: Desk | None) -> Tablet | None:
    if desk is None:
        return None
    return Tablet.objects.filter(desk=desk, revoked_at__isnull=True, expires_at__gt=timezone.now()).first()


# ---------------------------------------------------------------------------------------------
# The content a signature is tied to
# ---------------------------------------------------------------------------------------------
def push_codes(document: Any) -> list[str]:
    """The document keys (``template:person``) an issued document was rendered from."""
    return list(dict.fromkeys(f"{i['template']}:{i.get('person_key') or ''}" for i in document.items or []))


def plans_digest(plans: list[render.DocumentPlan]) -> str:
    """SHA-256 of the pages' HTML before rendering: every printed value, version, background and layout.
    (The PDF's own bytes carry a creation time, so the same content may give another PDF hash.)"""
    return hashlib.sha256(render.html_document(plans).encode()).hexdigest()


def current_plans(*, push: TabletPush) -> list[render.DocumentPlan]:
    """The pushed documents as they would be rendered now, for the same staff member and counter."""
    return forms_selectors.case_plans(actor=push.pushed_by, case=push.case, counter=push.counter,
                                      codes=push.codes or None)


def current_digest(*, push: TabletPush) -> str:
    return plans_digest(current_plans(push=push))


def _inputs_fingerprint(case: Any) -> str:
    agg = case.form_entries.aggregate(n=Count("pk"), last=Max("entered_at"))
    return hashlib.sha256(f"{agg['n']}|{agg['last']}|{case.updated_at}".encode()).hexdigest()[:32]


def _validity_key(signature: Signature) -> str:
    return f"forms_tablet:valid:{signature.pk}:{_inputs_fingerprint(signature.case)}"


def signature_validity_remember(*, signature: Signature) -> None:
    """Just signed against the current content (checked by the signing): the staff screen need not render the
    documents again to show 署名済み."""
    cache.set(_validity_key(signature), True, VALIDITY_CACHE_SECONDS)


def signature_current(*, signature: Signature, fresh: bool = False) -> bool:
    """True while the signed content is what the documents would print now."""
    key = _validity_key(signature)
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return bool(cached)
    valid = current_digest(push=signature.push) == signature.content_digest
    cache.set(key, valid, VALIDITY_CACHE_SECONDS)
    return valid


# ---------------------------------------------------------------------------------------------
# The staff screen
# ---------------------------------------------------------------------------------------------
@dataclass
class CaseTabletState:
    desk: Desk | None
    tablet: Tablet | None
    push: TabletPush | None  # the newest push of this case
    live: bool  # the tablet is showing it now
    signature: Signature | None
    signed: bool  # signed and still the same content (署名済み)
    changed: bool  # signed, then the content changed: must be signed again
    corrections: list[CorrectionRequest] = field(default_factory=list)

    @property
    def version(self) -> str:
        """Changes whenever what the panel shows changes (the staff screen redraws only then)."""
        return ":".join(str(x) for x in (
            getattr(self.tablet, "pk", ""), getattr(self.push, "pk", ""), self.live,
            getattr(self.signature, "pk", ""), self.signed, self.changed,
            getattr(self.signature, "signed_document_id", ""), len(self.corrections)))


def case_tablet_state(*, actor: Any, case: Any) -> CaseTabletState:
    forms_selectors.require_staff(actor)
    desk = desk_of(actor=actor)
    tablet = desk_tablet(desk=desk)
    push = (TabletPush.objects.select_related("case", "pushed_by", "counter", "document", "tablet")
            .filter(case=case).order_by("-pushed_at", "-pk").first())
    signature = Signature.objects.filter(push=push).first() if push is not None else None
    live = bool(push is not None and push.ended_at is None and case.status == CaseStatus.OPEN
                and push.tablet.revoked_at is None and push.tablet.expires_at > timezone.now())
    signed = changed = False
    if signature is not None:
        signed = signature_current(signature=signature)
        changed = not signed
    corrections = list(push.corrections.all()) if push is not None else []
    return CaseTabletState(desk=desk, tablet=tablet, push=push, live=live, signature=signature, signed=signed,
                           changed=changed, corrections=corrections)


def signed_signature(*, case: Any, fresh: bool = True) -> Signature | None:
    """The case's newest signature if its content is still current (the version the hand-back takes)."""
    signature = Signature.objects.select_related("push__case", "push__pushed_by", "push__counter").filter(
        case=case).first()
    if signature is None or not signature_current(signature=signature, fresh=fresh):
        return None
    return signature
