"""What staff type once in a case for the forms (R2.6: only what no system knows).

An input has a kind (text, address, date, number, choice) and a scope (the case, or each person).
Its value is stored in ``CaseEntry`` and every form reads it through the ``input`` binding source, so a
value is typed once per case and reused by every form. Other apps may register inputs from their
``AppConfig.ready``.

Address values are ``{"code": 町字コード, "town": 町字, "banchi": 番地, "katagaki": 方書, "postcode": 〒}``:
the 町字 is picked from the municipality's 町字 master, 番地 and 方書 are typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

KINDS = ("text", "address", "date", "number", "choice", "postcode")
MAX_TEXT = 200


@dataclass(frozen=True)
class Input:
    key: str
    label: Any
    kind: str = "text"
    scope: str = "case"  # case | person
    help: Any = ""
    choices: tuple[tuple[str, Any], ...] = ()
    max_length: int = MAX_TEXT
    events: tuple[str, ...] = ()  # asked only for cases with one of these life events (empty: when a form needs it)
    sample: Any = ""
    local_only: bool = False  # an address inside this municipality (町字 from the master)


_inputs: dict[str, Input] = {}


def register(item: Input) -> None:
    _inputs[item.key] = item


def get(key: str) -> Input | None:
    return _inputs.get(key)


def all_inputs() -> list[Input]:
    return list(_inputs.values())


def address_text(value: Any) -> str:
    """The one-line address of an address value (町字 + 番地), without 方書."""
    if isinstance(value, dict):
        return f"{value.get('prefix', '')}{value.get('town', '')}{value.get('banchi', '')}".strip()
    return str(value or "")


def clean(item: Input, raw: Any, *, known_towns: dict[str, dict] | None = None) -> Any:
    """Validate a raw value (form strings or a dict for addresses); raise ValidationError naming the input."""
    label = str(item.label)
    if item.kind == "address":
        raw = raw if isinstance(raw, dict) else {"town": str(raw or "")}
        code = str(raw.get("code") or "").strip()
        town = str(raw.get("town") or "").strip()
        banchi = str(raw.get("banchi") or "").strip()
        katagaki = str(raw.get("katagaki") or "").strip()
        postcode = str(raw.get("postcode") or "").replace("-", "").strip()
        prefix = str(raw.get("prefix") or "").strip()
        problems = []
        if item.local_only:
            if not code:
                problems.append(_("%(label)s：町字を一覧から選んでください。") % {"label": label})
            elif known_towns is not None and code not in known_towns:
                problems.append(_("%(label)s：町字コード %(code)s は町字の一覧にありません。")
                                % {"label": label, "code": code})
            else:
                found = (known_towns or {}).get(code) or {}
                town = found.get("name", town)
                postcode = postcode or found.get("postcode", "")
                prefix = found.get("prefix", prefix)
        elif not town:
            problems.append(_("%(label)s：住所を入力してください。") % {"label": label})
        if not banchi and item.local_only:
            problems.append(_("%(label)s：番地を入力してください。") % {"label": label})
        if postcode and not (postcode.isdigit() and len(postcode) == 7):
            problems.append(_("%(label)s：郵便番号は7桁の数字で入力してください。") % {"label": label})
        for part, text in ((_("番地"), banchi), (_("方書"), katagaki), (_("町字"), town)):
            if len(text) > item.max_length:
                problems.append(_("%(label)s：%(part)sは%(n)d文字以内で入力してください。")
                                % {"label": label, "part": part, "n": item.max_length})
        if problems:
            raise ValidationError(problems)
        return {"code": code, "town": town, "banchi": banchi, "katagaki": katagaki, "postcode": postcode,
                "prefix": prefix}
    text = str(raw if raw is not None else "").strip()
    if item.kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise ValidationError(_("%(label)s：日付を YYYY-MM-DD で入力してください。") % {"label": label}) from exc
    if item.kind == "number":
        if not text.isdigit() or len(text) > 6:
            raise ValidationError(_("%(label)s：数字で入力してください。") % {"label": label})
        return int(text)
    if item.kind == "postcode":
        digits = text.replace("-", "").replace("－", "").replace("〒", "").strip()
        if not (digits.isdigit() and len(digits) == 7):
            raise ValidationError(_("%(label)s：郵便番号は7桁の数字で入力してください（例: 810-0001）。")
                                  % {"label": label})
        return digits
    if item.kind == "choice":
        values = {str(v) for v, _l in item.choices}
        if text not in values:
            raise ValidationError(_("%(label)s：選択肢から選んでください。") % {"label": label})
        return text
    if len(text) > item.max_length:
        raise ValidationError(_("%(label)s：%(n)d文字以内で入力してください（%(len)d文字）。")
                              % {"label": label, "n": item.max_length, "len": len(text)})
    if any(ord(c) < 0x20 for c in text):
        raise ValidationError(_("%(label)s：改行や制御文字は使えません。") % {"label": label})
    return text


def _register_defaults() -> None:
    for item in (
        Input("new_address", _lazy("新しい住所（この市区町村内）"), kind="address", local_only=True,
              help=_lazy("町字は一覧から選び、番地と方書（建物名・部屋番号）を入力します。"),
              events=("tennyu", "tenkyo"), sample={"town": "山下町", "banchi": "11番1号", "katagaki": ""}),
        Input("previous_address", _lazy("転入前の住所"), kind="text",
              help=_lazy("転出証明書（またはマイナンバーカード）の住所をそのまま入力します。"), events=("tennyu",),
              sample="東京都千代田区霞が関1丁目1番1号"),
        Input("previous_head", _lazy("転入前の世帯主"), kind="text", help=_lazy("転出証明書の世帯主の氏名"),
              events=("tennyu",), max_length=100, sample="窓口 太郎"),
        Input("destination_address", _lazy("転出先の住所"), kind="text", events=("tenshutsu",),
              sample="福岡県福岡市中央区天神1丁目8番1号"),
        Input("destination_postcode", _lazy("転出先の郵便番号"), kind="postcode", events=("tenshutsu",),
              max_length=8, sample="8100001",
              help=_lazy("分からないときは転出先の住所から郵便番号簿で調べて入力します。")),
        Input("cert_purpose", _lazy("証明書の使用目的"), kind="text", max_length=60, sample="勤務先への提出"),
        Input("cert_copies", _lazy("証明書の通数"), kind="number", sample=1),
        Input("phone", _lazy("連絡先の電話番号"), kind="text", max_length=20, sample="099-000-0000",
              help=_lazy("申請書の連絡先に印字します（住民記録にはありません）。")),
        Input("funeral_date", _lazy("葬祭を行った日"), kind="date", events=("shibou",), sample="2026-04-03"),
        Input("previous_school", _lazy("前の学校"), kind="text", scope="person", max_length=60,
              help=_lazy("在学証明書の学校名"), sample="千代田区立麹町小学校"),
        Input("bank_account", _lazy("振込先口座"), kind="text", max_length=80,
              help=_lazy("金融機関・支店・種別・口座番号（通帳やキャッシュカードで確認）"),
              sample="みなみ銀行 本店 普通 1234567"),
    ):
        register(item)


_register_defaults()
