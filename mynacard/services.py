"""Writes of the My Number card app: stations and credentials, signed station requests, card reads into
cases, PIN confirmation at one try left, JPKI challenges (identity proof, staff second factor), purge.

The server never trusts the station: a card read is verified again here against the trust anchors
before anything is stored, and it can only land at the station's own desk.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import time
from dataclasses import dataclass

from cryptography import x509
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from integration.normalize import normalize_address, normalize_name
from integration.search import person_search
from mynacard import credentials, jpki
from mynacard.conf import revocation_source, trust_anchors
from mynacard.models import (
    CardHolding,
    CardLoginPolicy,
    CardRead,
    CardReadStatus,
    JpkiChallenge,
    JpkiPurpose,
    ReaderStation,
    StaffCardCertificate,
    StationNonce,
)
from mynacard.reader import RawCardRead
from mynacard.selectors import open_cases_at_desk
from mynacard.verify import verify_card
from tenants.accounts.models import Desk, Role, User
from tenants.crypto import encrypt

MY_NUMBER_PURPOSE = "mynacard.my_number"
CHALLENGE_SECONDS = 120


def _require_admin(actor: User) -> None:
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("この操作は業務管理者のみ行えます。"))


# ---------------------------------------------------------------------------------------------
# Stations and their device credentials
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssuedStation:
    station: ReaderStation
    credential: str  # shown once: JSON with server URL, key id and the Ed25519 private key


@transaction.atomic
def station_register(*, actor: User, desk_id: int, name: str, server: str) -> IssuedStation:
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("端末の名前を入力してください。")})
    desk = Desk.objects.filter(pk=desk_id, is_active=True).select_related("counter").first()
    if desk is None:
        raise ValidationError({"desk": _("選択された席は存在しないか、使用されていません。")})
    private, public = credentials.new_key_pair()
    station = ReaderStation.objects.create(desk=desk, name=name, key_id=secrets.token_hex(12), public_key=public,
                                           created_by=actor)
    record(actor=actor, action="create", target_type="reader_station", target_id=station.pk,
           details={"desk": desk.pk, "counter": desk.counter_id, "name": name})
    credential = credentials.StationCredential(server=server, key_id=station.key_id, private_key=private)
    return IssuedStation(station=station, credential=credential.dumps())


@transaction.atomic
def station_revoke(*, actor: User, station_id: int) -> ReaderStation:
    _require_admin(actor)
    station = ReaderStation.objects.select_for_update().get(pk=station_id)
    station.is_active = False
    station.save(update_fields=["is_active"])
    record(actor=actor, action="update", target_type="reader_station", target_id=station.pk,
           details={"revoked": True})
    return station


class StationAuthError(Exception):
    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def station_authenticate(*, method: str, host: str, path: str, headers: dict[str, str], body: bytes) -> ReaderStation:
    """Check a signed station request: known active key, fresh timestamp, unused nonce, valid signature."""
    key_id = headers.get("X-Station-Key", "")
    timestamp = headers.get("X-Station-Timestamp", "")
    nonce = headers.get("X-Station-Nonce", "")
    signature = headers.get("X-Station-Signature", "")
    if not (key_id and timestamp.isdigit() and 16 <= len(nonce) <= 64 and signature):
        raise StationAuthError(_("端末の署名がありません。"))
    station = ReaderStation.objects.filter(key_id=key_id, is_active=True).select_related("desk__counter").first()
    if station is None:
        raise StationAuthError(_("この自治体に登録されていない端末です。"))
    if abs(time.time() - int(timestamp)) > credentials.MAX_SKEW:
        raise StationAuthError(_("端末の時刻がずれています。時刻を合わせてください。"))
    message = credentials.canonical(method=method, host=host, path=path, timestamp=timestamp, nonce=nonce,
                                    body=body)
    if not credentials.signature_valid(public_key=bytes(station.public_key), signature_b64=signature,
                                       message=message):
        raise StationAuthError(_("端末の署名が正しくありません。"))
    try:
        with transaction.atomic():
            StationNonce.objects.create(station=station, nonce=nonce, received_at=timezone.now())
    except IntegrityError as exc:
        raise StationAuthError(_("同じ要求が二度送られました（再送は受け付けません）。")) from exc
    return station


def station_report(*, station: ReaderStation, status: dict) -> dict:
    """Store what the station reports and answer with what it should do next.

    ``status``: {"state": "idle|waiting_pin|reading|error", "reader": bool, "card": bool,
    "error": {"code", "message"}, "needs_confirmation": bool}. The answer tells the station whether the
    staff member confirmed the last PIN try and hands over a pending JPKI challenge.
    """
    allowed = {"state", "reader", "card", "error", "needs_confirmation", "reader_name"}
    clean = {k: v for k, v in status.items() if k in allowed}
    now = timezone.now()
    with transaction.atomic():
        station = ReaderStation.objects.select_for_update().get(pk=station.pk)
        station.status, station.last_seen_at = clean, now
        fields = ["status", "last_seen_at"]
        confirmed = station.confirmed_at is not None
        if clean.get("needs_confirmation") and station.confirm_requested_at is None:
            station.confirm_requested_at, fields = now, [*fields, "confirm_requested_at"]
        if confirmed:  # delivered once, then gone
            station.confirmed_at, station.confirm_requested_at, station.confirmed_by = None, None, None
            fields += ["confirmed_at", "confirm_requested_at", "confirmed_by"]
        elif not clean.get("needs_confirmation") and station.confirm_requested_at is not None:
            station.confirm_requested_at, fields = None, [*fields, "confirm_requested_at"]
        station.save(update_fields=fields)
        challenge = (JpkiChallenge.objects.filter(station=station, completed_at__isnull=True, expires_at__gt=now)
                     .order_by("-created_at").first())
        answer: dict = {"confirmed": confirmed, "challenge": None,
                        "with_my_number": station.my_number_requested_at is not None}
        if challenge is not None:
            answer["challenge"] = {"id": challenge.pk, "purpose": challenge.purpose,
                                   "nonce": base64.b64encode(bytes(challenge.nonce)).decode()}
            if challenge.delivered_at is None:
                JpkiChallenge.objects.filter(pk=challenge.pk).update(delivered_at=now)
    return answer


@transaction.atomic
def pin_confirm(*, actor: User, station_id: int) -> ReaderStation:
    """The staff member seated at the station's desk allows the last PIN try."""
    station = ReaderStation.objects.select_for_update().select_related("desk").filter(pk=station_id).first()
    if station is None or station.desk.staff_id != actor.pk:
        raise PermissionDenied(_("この席の端末ではありません。"))
    if station.confirm_requested_at is None:
        raise ValidationError(_("確認を求めている端末はありません。"))
    station.confirmed_at, station.confirmed_by = timezone.now(), actor
    station.save(update_fields=["confirmed_at", "confirmed_by"])
    record(actor=actor, action="update", target_type="reader_station", target_id=station.pk,
           details={"pin_last_try_confirmed": True})
    return station


@transaction.atomic
def my_number_request(*, actor: User, station_id: int, purpose: str) -> ReaderStation:
    """The seated staff member asks the station to read the 個人番号 with the next read, for ``purpose``."""
    purpose = (purpose or "").strip()[:100]
    if not purpose:
        raise ValidationError({"purpose": _("個人番号を利用する事務（手続名）を入力してください。")})
    station = ReaderStation.objects.select_for_update().select_related("desk").filter(pk=station_id).first()
    if station is None or station.desk.staff_id != actor.pk:
        raise PermissionDenied(_("この席の端末ではありません。"))
    station.my_number_requested_at, station.my_number_purpose = timezone.now(), purpose
    station.save(update_fields=["my_number_requested_at", "my_number_purpose"])
    record(actor=actor, action="my_number_request", target_type="reader_station", target_id=station.pk,
           details={"purpose": purpose})
    return station


# ---------------------------------------------------------------------------------------------
# Card reads
# ---------------------------------------------------------------------------------------------
def _b64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise ValidationError({field: _("%(field)s がありません。") % {"field": field}})
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError({field: _("%(field)s が base64 ではありません。") % {"field": field}}) from exc


def raw_read_from_payload(payload: dict) -> RawCardRead:
    my_number = payload.get("my_number")
    return RawCardRead(basic4=_b64(payload.get("basic4"), "basic4"),
                       integrity=_b64(payload.get("integrity"), "integrity"),
                       certificate=_b64(payload.get("certificate"), "certificate"),
                       my_number=_b64(my_number, "my_number") if my_number is not None else None)


def _match(*, staff: User | None, name: str, birth: dt.date, address: str, sex: str) -> tuple[str, list, list]:
    """(宛名番号 if exactly one person matches, candidates, differences between card and mirror)."""
    if staff is None:
        return "", [], []
    found = [p for p in person_search(actor=staff, query=name, birth_date=birth, limit=10)
             if normalize_name(p.name) == normalize_name(name) and p.birth_date == birth]
    if len(found) > 1:  # the address decides between namesakes born the same day
        same_address = [p for p in found if normalize_address(p.address) == normalize_address(address)]
        found = same_address or found
    if len(found) != 1:
        return "", [p.atena_no for p in found], []
    person = found[0]
    differences = []
    if person.name != name:
        differences.append({"field": "name", "card": name, "mirror": person.name})
    if not person.address_restricted and normalize_address(person.address) != normalize_address(address):
        differences.append({"field": "address", "card": address, "mirror": person.address})
    if person.sex and sex and person.sex != sex:
        differences.append({"field": "sex", "card": sex, "mirror": person.sex})
    return person.atena_no, [person.atena_no], differences


def card_read_receive(*, station: ReaderStation, raw: RawCardRead, apdu_count: int = 0) -> CardRead:
    """Verify a read posted by a station and attach it to the case open at the station's desk."""
    with transaction.atomic():
        station = ReaderStation.objects.select_for_update().get(pk=station.pk)
        purpose = station.my_number_purpose if station.my_number_requested_at else ""
        if raw.my_number is not None and not purpose:
            # Nobody asked for it: the 個人番号 is neither verified nor kept.
            raw = RawCardRead(basic4=raw.basic4, integrity=raw.integrity, certificate=raw.certificate)
        if raw.my_number is not None:
            station.my_number_requested_at, station.my_number_purpose = None, ""
            station.save(update_fields=["my_number_requested_at", "my_number_purpose"])
    result = verify_card(raw, trust_anchors())
    desk = Desk.objects.select_related("counter", "staff").get(pk=station.desk_id)
    staff = desk.staff
    purge_after = timezone.now() + dt.timedelta(hours=settings.MYNACARD_RETENTION_HOURS)
    if not result.verified:
        read = CardRead.objects.create(station=station, desk=desk, staff=staff, status=CardReadStatus.REJECTED,
                                       verified=False, reason=result.reason, purge_after=purge_after,
                                       apdu_count=apdu_count)
        record(actor=staff, action="card_read", target_type="card_read", target_id=read.pk,
               details={"station": station.pk, "verified": False, "reason": result.reason,
                        "detail": result.detail})
        return read
    basic4 = result.basic4
    birth = dt.date(int(basic4.birth_date[:4]), int(basic4.birth_date[4:6]), int(basic4.birth_date[6:]))
    atena_no, candidates, differences = _match(staff=staff, name=basic4.name, birth=birth, address=basic4.address,
                                               sex=basic4.sex)
    with transaction.atomic():
        read = CardRead.objects.create(
            station=station, desk=desk, staff=staff, verified=True, reason=result.reason, name=basic4.name,
            address=basic4.address, birth_date=birth, sex=basic4.sex, atena_no=atena_no, candidates=candidates,
            differences=differences, apdu_count=apdu_count, purge_after=purge_after,
            my_number_encrypted=(encrypt(connection.tenant, result.my_number, purpose=MY_NUMBER_PURPOSE)
                                 if result.my_number else None),
        )
        if atena_no:
            CardHolding.objects.update_or_create(atena_no=atena_no, defaults={"confirmed_at": timezone.now()})
        record(actor=staff, action="card_read", target_type="card_read", target_id=read.pk,
               details={"station": station.pk, "desk": desk.pk, "verified": True, "atena_nos": candidates,
                        "my_number_read": bool(result.my_number), "my_number_purpose": purpose if result.my_number
                        else "", "differences": [d["field"] for d in differences]},
               residents=candidates)
        cases = open_cases_at_desk(desk=desk)
        if len(cases) == 1:
            _attach(read, cases[0], actor=staff)
    return read


def _attach(read: CardRead, case: object, *, actor: User | None) -> None:
    read.case, read.status, read.attached_at = case, CardReadStatus.ATTACHED, timezone.now()
    read.save(update_fields=["case", "status", "attached_at"])
    record(actor=actor, action="update", target_type="case", target_id=case.pk,
           details={"change": "card_read", "card_read": read.pk, "atena_no": read.atena_no},
           residents=[read.atena_no] if read.atena_no else [])
    if read.atena_no and actor is not None and not case.persons.filter(atena_no=read.atena_no).exists():
        from navigation.cases.services import case_person_add

        try:
            with transaction.atomic():
                case_person_add(actor=actor, counter=case.current_counter, case=case, atena_no=read.atena_no)
        except (ValidationError, PermissionDenied, ValueError):
            pass  # the read stays attached; staff add the person by hand


@transaction.atomic
def card_read_attach(*, actor: User, card_read_id: int, case_id: int) -> CardRead:
    """The staff member at the desk picks which of their open cases a pending read belongs to."""
    read = CardRead.objects.select_for_update().select_related("desk").filter(pk=card_read_id).first()
    if read is None or read.desk.staff_id != actor.pk:
        raise PermissionDenied(_("この席のカード読み取りではありません。"))
    if read.status != CardReadStatus.PENDING:
        raise ValidationError(_("このカード読み取りはすでに受付に反映されています。"))
    case = next((c for c in open_cases_at_desk(desk=read.desk) if c.pk == case_id), None)
    if case is None:
        raise PermissionDenied(_("この席で対応中の受付ではありません。"))
    _attach(read, case, actor=actor)
    return read


def card_reads_purge(*, now: dt.datetime | None = None) -> int:
    """Delete card data past its retention (run per municipality by the periodic job)."""
    deleted, _rows = CardRead.objects.filter(purge_after__lt=now or timezone.now()).delete()
    StationNonce.objects.filter(received_at__lt=(now or timezone.now()) - dt.timedelta(days=1)).delete()
    return deleted


# ---------------------------------------------------------------------------------------------
# JPKI: identity proof and staff second factor
# ---------------------------------------------------------------------------------------------
@transaction.atomic
def jpki_challenge_create(*, actor: User, station_id: int, purpose: str, case_id: int | None = None) -> JpkiChallenge:
    station = ReaderStation.objects.select_related("desk").filter(pk=station_id, is_active=True).first()
    if station is None:
        raise ValidationError(_("カードリーダー端末が見つかりません。"))
    if purpose == JpkiPurpose.IDENTITY and station.desk.staff_id != actor.pk:
        raise PermissionDenied(_("この席の端末ではありません。"))
    if purpose not in JpkiPurpose.values:
        raise ValidationError(_("不明な確認の種類です。"))
    JpkiChallenge.objects.filter(station=station, completed_at__isnull=True).update(
        completed_at=timezone.now(), reason="expired_challenge")
    return JpkiChallenge.objects.create(
        purpose=purpose, station=station, user=actor, case_id=case_id, nonce=secrets.token_bytes(32),
        expires_at=timezone.now() + dt.timedelta(seconds=CHALLENGE_SECONDS))


def challenge_message(challenge: JpkiChallenge, host: str) -> bytes:
    """What the card signs: bound to the municipality's host, the purpose and the challenge."""
    return b"MADOGUCHI-JPKI-1|" + host.lower().encode() + b"|" + challenge.purpose.encode() + b"|" + bytes(
        challenge.nonce)


def jpki_response_receive(*, station: ReaderStation, host: str, challenge_id: int, certificate: bytes,
                          signature: bytes) -> JpkiChallenge:
    with transaction.atomic():
        challenge = (JpkiChallenge.objects.select_for_update()
                     .filter(pk=challenge_id, station=station, completed_at__isnull=True).first())
        if challenge is None:
            raise ValidationError(_("この端末への確認要求はありません。"))
        now = timezone.now()
        result = _jpki_check(challenge, host=host, certificate=certificate, signature=signature, now=now)
        challenge.completed_at, challenge.succeeded, challenge.reason = now, result.ok, result.reason
        if result.certificate is not None:
            challenge.subject = result.certificate.subject.rfc4514_string()[:200]
        challenge.save(update_fields=["completed_at", "succeeded", "reason", "subject"])
        if result.ok and challenge.purpose == JpkiPurpose.STAFF_REGISTER:
            StaffCardCertificate.objects.filter(user=challenge.user).update(is_active=False)
            StaffCardCertificate.objects.update_or_create(
                fingerprint=jpki.fingerprint(certificate),
                defaults={"user": challenge.user, "certificate": certificate, "is_active": True,
                          "subject": challenge.subject, "serial": str(result.certificate.serial_number),
                          "not_after": result.certificate.not_valid_after_utc})
        record(actor=challenge.user, action="jpki", target_type="jpki_challenge", target_id=challenge.pk,
               details={"purpose": challenge.purpose, "ok": result.ok, "reason": result.reason,
                        "station": station.pk})
    return challenge


def _jpki_check(challenge: JpkiChallenge, *, host: str, certificate: bytes, signature: bytes,
                now: dt.datetime) -> jpki.JpkiResult:
    if challenge.expires_at < now:
        return jpki.JpkiResult(False, "expired_challenge")
    result = jpki.verify_auth_certificate(certificate, trust_anchors(), revocation_source(), now=now)
    if not result.ok:
        return result
    if not jpki.signature_valid(result.certificate, message=challenge_message(challenge, host), signature=signature):
        return jpki.JpkiResult(False, "bad_signature", result.certificate)
    if challenge.purpose == JpkiPurpose.STAFF_LOGIN:
        registered = StaffCardCertificate.objects.filter(user=challenge.user, is_active=True,
                                                         fingerprint=jpki.fingerprint(certificate)).exists()
        if not registered:
            return jpki.JpkiResult(False, "not_registered", result.certificate)
    return result


def card_login_required(*, user: User) -> bool:
    policy = CardLoginPolicy.objects.first()
    return bool(policy and user.role in policy.required_roles)


@transaction.atomic
def card_login_policy_set(*, actor: User, roles: list[str]) -> CardLoginPolicy:
    _require_admin(actor)
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError({"roles": _("不明な役割です: %(roles)s") % {"roles": ", ".join(unknown)}})
    policy = CardLoginPolicy.objects.first() or CardLoginPolicy()
    policy.required_roles = sorted(set(roles))
    policy.save()
    record(actor=actor, action="update", target_type="card_login_policy", target_id=policy.pk,
           details={"roles": policy.required_roles})
    return policy


def certificate_subject(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()
