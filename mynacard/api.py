"""The station's side of the server: signed JSON requests only (no cookies, so no CSRF token).

Every view authenticates the request with ``services.station_authenticate`` first; the station's desk
comes from its credential, never from the request body.
"""

from __future__ import annotations

import base64
import binascii

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from madoguchi.inputs import JSONInputError, json_loads
from mynacard import services
from mynacard.models import CardReadStatus, ReaderStation
from mynacard.verify import REASONS

MAX_BODY = 64 * 1024


def _authenticated(request: HttpRequest) -> tuple[ReaderStation | None, dict, JsonResponse | None]:
    body = request.body[: MAX_BODY + 1]
    if len(body) > MAX_BODY:
        return None, {}, JsonResponse({"error": _("要求が大きすぎます。")}, status=413)
    try:
        station = services.station_authenticate(method=request.method, host=request.get_host(), path=request.path,
                                                headers=request.headers, body=body)
    except services.StationAuthError as exc:
        return None, {}, JsonResponse({"error": exc.message}, status=exc.status)
    try:
        payload = json_loads(body or b"{}", field=_("カード読取りの送信内容"))
    except JSONInputError as exc:
        return station, {}, JsonResponse({"error": exc.message}, status=400)
    if not isinstance(payload, dict):
        return station, {}, JsonResponse({"error": _("JSON オブジェクトを送ってください。")}, status=400)
    return station, payload, None


@csrf_exempt
@require_POST
def status_view(request: HttpRequest) -> JsonResponse:
    station, payload, error = _authenticated(request)
    if error:
        return error
    return JsonResponse(services.station_report(station=station, status=payload))


@csrf_exempt
@require_POST
def read_view(request: HttpRequest) -> JsonResponse:
    station, payload, error = _authenticated(request)
    if error:
        return error
    try:
        raw = services.raw_read_from_payload(payload)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    apdus = payload.get("apdu_count")
    read = services.card_read_receive(station=station, raw=raw, apdu_count=apdus if isinstance(apdus, int) else 0)
    if not read.verified:
        return JsonResponse({"verified": False, "reason": read.reason, "message": _(REASONS[read.reason])})
    message = (_("受付に反映しました。窓口の職員にお伝えください。") if read.status == CardReadStatus.ATTACHED
               else _("読み取りました。窓口の職員が受付を選びます。"))
    return JsonResponse({"verified": True, "status": read.status, "message": message})


@csrf_exempt
@require_POST
def jpki_view(request: HttpRequest) -> JsonResponse:
    station, payload, error = _authenticated(request)
    if error:
        return error
    try:
        certificate = base64.b64decode(payload.get("certificate", ""), validate=True)
        signature = base64.b64decode(payload.get("signature", ""), validate=True)
        challenge_id = int(payload.get("challenge"))
    except (binascii.Error, ValueError, TypeError):
        return JsonResponse({"error": _("証明書・署名・確認番号の形式が正しくありません。")}, status=400)
    try:
        challenge = services.jpki_response_receive(station=station, host=request.get_host(),
                                                   challenge_id=challenge_id, certificate=certificate,
                                                   signature=signature)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    from mynacard.jpki import REASONS as JPKI_REASONS

    return JsonResponse({"ok": challenge.succeeded, "reason": challenge.reason,
                         "message": _(JPKI_REASONS[challenge.reason])})
