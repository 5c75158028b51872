"""Card errors, each with a code and a Japanese message the staff and the resident can act on.

Django-free (the station agent imports it): messages are marked with ``N_`` and translated by the
server at display time (``gettext(error.message)``).
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - gettext_noop marker, picked up by makemessages (-k N_)
    return text


class CardError(Exception):
    code = "card_error"
    message = N_("カードの読み取りに失敗しました。もう一度カードを置き直してください。")

    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message
        self.details = details

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.details}


class NoReaderError(CardError):
    code = "no_reader"
    message = N_("カードリーダーが見つかりません。リーダーの接続を確認してください。")


class NoCardError(CardError):
    code = "no_card"
    message = N_("カードが置かれていません。マイナンバーカードをリーダーに置いてください。")


class NotMyNumberCardError(CardError):
    code = "not_mynumber_card"
    message = N_("マイナンバーカードではありません。マイナンバーカードを置いてください。")


class WrongPinError(CardError):
    code = "wrong_pin"
    message = N_("暗証番号が違います。")

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"暗証番号が違います。あと{tries_left}回間違えるとロックされます。", tries_left=tries_left)
        self.tries_left = tries_left


class PinConfirmationRequired(CardError):
    code = "confirm_last_try"
    message = N_("暗証番号の残り回数が1回です。窓口の職員が画面で確認するまで暗証番号は照合しません。")

    def __init__(self, tries_left: int = 1) -> None:
        super().__init__(None, tries_left=tries_left)
        self.tries_left = tries_left


class CardBlockedError(CardError):
    code = "blocked"
    message = N_("暗証番号がロックされています。暗証番号の再設定（初期化）の手続きが必要です。")


class CardRemovedError(CardError):
    code = "removed"
    message = N_("読み取りの途中でカードが外されました。カードを置き直して、もう一度お試しください。")


class BadPinFormatError(CardError):
    code = "bad_pin_format"
    message = N_("暗証番号は数字4桁で入力してください。")


class CardDataInvalid(CardError):
    code = "bad_data"
    message = N_("カードのデータの形式が正しくありません。")
