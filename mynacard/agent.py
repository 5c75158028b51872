"""Counter reader station (``python -m mynacard.agent``): a small process beside the counter.

- Watches a PC/SC reader (pyscard) and reports running / connected / reader / card states to the server
  with signed requests (``mynacard.credentials``; the device credential is issued by the municipal admin).
- Serves a PIN pad on 127.0.0.1 only, for a kiosk browser on the station's own screen. The resident types
  the PIN there; **the PIN never leaves the station**: it is used for one VERIFY and dropped.
- Reads the 券面事項入力補助AP and posts the raw files; the server verifies them again itself.
- At one PIN try left it does not try until the staff member at the desk confirms on the staff screen.
- Signs JPKI challenges with the 利用者証明用 key (resident identity proof, staff login).

Configuration: ``--credential station.json`` (what the admin screen showed once), ``--reader`` (name of
the PC/SC reader; default the first one), ``--pin-pad-port`` (default 8765).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mynacard.credentials import StationCredential
from mynacard.errors import (
    BadPinFormatError,
    CardError,
    NoReaderError,
    PinConfirmationRequired,
    WrongPinError,
)
from mynacard.reader import ApduLog, CardReader

log = logging.getLogger("mynacard.agent")
KENHOJO_PROMPT = "券面事項入力補助用の暗証番号（数字4桁）"
JPKI_PROMPT = "利用者証明用電子証明書の暗証番号（数字4桁）"


class ServerError(Exception):
    pass


class ServerClient:
    def __init__(self, credential: StationCredential, *, timeout: float = 10.0) -> None:
        self.credential = credential
        self.timeout = timeout
        parsed = urllib.parse.urlsplit(credential.server)
        self.host = parsed.netloc
        self.base = credential.server.rstrip("/")
        if (parsed.hostname or "").endswith(".localhost"):
            # RFC 6761: *.localhost is the loopback address (browsers know it; the C resolver may not).
            self.base = parsed._replace(netloc=parsed.netloc.replace(parsed.hostname, "127.0.0.1", 1)).geturl()

    def post(self, path: str, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        headers = self.credential.sign_headers(method="POST", host=self.host, path=path, body=body)
        request = urllib.request.Request(self.base + path, data=body, method="POST",  # noqa: S310 - configured https URL
                                         headers={**headers, "Content-Type": "application/json", "Host": self.host})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", "")
            except ValueError:
                message = ""
            raise ServerError(message or f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ServerError(str(exc)) from exc


@dataclass
class PadState:
    """What the PIN pad shows, and the PIN typed there (kept only until it is used once)."""

    message: str = "マイナンバーカードをリーダーに置いてください。"
    prompt: str = ""  # non-empty: the pad asks for a PIN
    result: str = ""
    pin: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_pin(self) -> str | None:
        with self.lock:
            pin, self.pin = self.pin, None
            return pin


PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh}"><title>暗証番号の入力</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>マイナンバーカード</h1><p id="message" role="status">{message}</p>{result}{form}</main></body></html>"""
FORM = """<form method="post" action="/pin" autocomplete="off"><label for="pin">{prompt}</label>
<input id="pin" name="pin" type="password" inputmode="numeric" pattern="[0-9]{{4}}" maxlength="4" required autofocus>
<button type="submit">確定</button></form>"""


def pin_pad_handler(state: PadState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # never log requests (they carry the PIN)
            pass

        def _send(self, status: int, body: str, extra: dict | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", "default-src 'none'; form-action 'self'")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            with state.lock:
                form = FORM.format(prompt=html.escape(state.prompt)) if state.prompt and state.pin is None else ""
                result = f'<p id="result" role="alert">{html.escape(state.result)}</p>' if state.result else ""
                page = PAGE.format(refresh=30 if form else 1, message=html.escape(state.message), result=result,
                                   form=form)
            self._send(200, page)

        def do_POST(self) -> None:  # noqa: N802
            length = min(int(self.headers.get("Content-Length", "0") or 0), 1024)
            fields = urllib.parse.parse_qs(self.rfile.read(length).decode("ascii", "replace"))
            pin = (fields.get("pin") or [""])[0]
            with state.lock:
                if state.prompt:
                    state.pin, state.prompt, state.result = pin, "", ""
                    state.message = "読み取っています。カードを動かさないでください。"
            self._send(303, "", {"Location": "/"})

    return Handler


class Station:
    def __init__(self, *, client: ServerClient, reader: CardReader, pad: PadState) -> None:
        self.client, self.reader, self.pad = client, reader, pad
        self.needs_confirmation = False
        self.confirmed = False
        self.challenge: dict | None = None
        self.error: dict | None = None
        self.state = "idle"
        self.card_seen = False
        self.done_with_card = False
        self.offline = False
        self.with_my_number = False

    # ------------------------------------------------------------------ one round
    def step(self) -> None:
        reader_ok, card = True, False
        try:
            card = self.reader.card_present()
        except NoReaderError as exc:
            reader_ok, self.error = False, exc.as_dict()
        if not card:
            if self.card_seen:
                self.pad.take_pin()
            self.card_seen = self.done_with_card = False
            if reader_ok and self.state != "idle":
                self.state = "idle"
        try:
            answer = self.client.post("/mynacard/station/status/", {
                "state": self.state, "reader": reader_ok, "card": card, "error": self.error,
                "needs_confirmation": self.needs_confirmation, "reader_name": self.reader.reader_name or ""})
        except ServerError as exc:
            if not self.offline:
                log.warning("server unreachable: %s", exc)
            self.offline = True
            self._show("サーバーに接続できません。職員にお知らせください。", prompt="")
            return
        if self.offline:
            log.info("server reachable again")
        self.offline = False
        if answer.get("confirmed"):
            self.needs_confirmation, self.confirmed = False, True
        self.challenge = answer.get("challenge")
        self.with_my_number = bool(answer.get("with_my_number"))
        if not card:
            self._show("マイナンバーカードをリーダーに置いてください。", prompt="")
            return
        self.card_seen = True
        if self.needs_confirmation:
            self._show("暗証番号の残り回数が1回です。窓口の職員が確認するまでお待ちください。", prompt="")
            return
        if self.done_with_card and not self.challenge:
            return
        prompt = JPKI_PROMPT if self.challenge else KENHOJO_PROMPT
        if self.pad.pin is None and not self.pad.prompt:
            note = "職員が確認しました。" if self.confirmed else ""
            self._show(note + "暗証番号を入力してください。", prompt=prompt)
            self.state = "waiting_pin"
        pin = self.pad.take_pin()
        if pin is None:
            return
        self.state = "reading"
        # The PIN is used for one VERIFY on the card and dropped: never stored, logged or sent.
        if self.challenge:
            self._jpki(pin)
        else:
            self._read(pin)

    def _show(self, message: str, *, prompt: str, result: str | None = None) -> None:
        with self.pad.lock:
            self.pad.message, self.pad.prompt = message, prompt
            if result is not None:
                self.pad.result = result

    def _read(self, pin: str) -> None:
        log_ = ApduLog()
        try:
            with self.reader.wait_for_card(timeout=2, log=log_) as session:
                # The 個人番号 only when the staff member asked for it (a procedure needs it).
                raw = session.read_card(pin, confirmed=self.confirmed, with_my_number=self.with_my_number)
        except PinConfirmationRequired as exc:
            self.needs_confirmation, self.error = True, exc.as_dict()
            self.state = "error"
            self._show(exc.message, prompt="", result="")
            return
        except (WrongPinError, BadPinFormatError) as exc:
            self.confirmed, self.error, self.state = False, exc.as_dict(), "error"
            self._show("暗証番号を入力してください。", prompt=KENHOJO_PROMPT, result=exc.message)
            return
        except CardError as exc:
            self.confirmed, self.error, self.state = False, exc.as_dict(), "error"
            self.done_with_card = True
            self._show("カードを置き直してください。", prompt="", result=exc.message)
            return
        self.confirmed, self.error = False, None
        payload = {"basic4": base64.b64encode(raw.basic4).decode(),
                   "integrity": base64.b64encode(raw.integrity).decode(),
                   "certificate": base64.b64encode(raw.certificate).decode(), "apdu_count": log_.count}
        if raw.my_number is not None:
            payload["my_number"] = base64.b64encode(raw.my_number).decode()
        try:
            answer = self.client.post("/mynacard/station/reads/", payload)
        except ServerError as exc:
            self.error = {"code": "server", "message": str(exc)}
            self._show("送信できませんでした。職員にお知らせください。", prompt="", result="")
            return
        self.done_with_card, self.state = True, "done"
        self._show("カードを取り外してください。", prompt="", result=answer.get("message", ""))

    def _jpki(self, pin: str) -> None:
        challenge = self.challenge or {}
        nonce = base64.b64decode(challenge.get("nonce", ""))
        message = (b"MADOGUCHI-JPKI-1|" + self.client.host.lower().encode() + b"|"
                   + str(challenge.get("purpose", "")).encode() + b"|" + nonce)
        try:
            with self.reader.wait_for_card(timeout=2) as session:
                certificate = session.read_jpki_auth_certificate()
                signature = session.jpki_auth_sign(pin=pin, digest=hashlib.sha256(message).digest(),
                                                   confirmed=self.confirmed)
        except PinConfirmationRequired as exc:
            self.needs_confirmation, self.error, self.state = True, exc.as_dict(), "error"
            self._show(exc.message, prompt="", result="")
            return
        except CardError as exc:
            self.confirmed, self.error, self.state = False, exc.as_dict(), "error"
            self._show("暗証番号を入力してください。", prompt=JPKI_PROMPT, result=exc.message)
            return
        self.confirmed, self.error = False, None
        try:
            answer = self.client.post("/mynacard/station/jpki/", {
                "challenge": challenge.get("id"), "certificate": base64.b64encode(certificate).decode(),
                "signature": base64.b64encode(signature).decode()})
        except ServerError as exc:
            self._show("確認できませんでした。", prompt="", result=str(exc))
            return
        self.done_with_card, self.state, self.challenge = True, "done", None
        self._show("カードを取り外してください。", prompt="", result=answer.get("message", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mynacard.agent", description=__doc__.splitlines()[0])
    parser.add_argument("--credential", required=True, help="station credential file (JSON, from the admin screen)")
    parser.add_argument("--reader", default=None, help="PC/SC reader name (default: the first reader)")
    parser.add_argument("--pin-pad-port", type=int, default=8765, help="PIN pad on 127.0.0.1:PORT")
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between rounds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    credential = StationCredential.loads(Path(args.credential).read_text(encoding="utf-8"))
    pad = PadState()
    server = ThreadingHTTPServer(("127.0.0.1", args.pin_pad_port), pin_pad_handler(pad))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PIN pad: http://127.0.0.1:{server.server_address[1]}/", flush=True)
    station = Station(client=ServerClient(credential), reader=CardReader(args.reader), pad=pad)
    try:
        while True:
            station.step()
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
