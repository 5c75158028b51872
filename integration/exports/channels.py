"""Output channels: how a rendered export reaches a core system.

A channel is a small adapter registered here; a new way of delivering (an SFTP push, a message
queue) is a new channel, not an ``if`` in the services. ``delivers_file`` channels receive the
rendered bytes; the API channel hands records out as JSON and has no file.

``to_core_system`` says that the channel delivers only to the municipality's core system (a machine, not a
person): only such a channel carries the real address of a household under a support measure to everyone.
It is False unless a channel says otherwise, so a new channel masks protected addresses until it is
reviewed (``services.reveals_protected`` decides; tests/test_exports_protected.py enumerates the channels).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _lazy

from integration.exports.render import Rendered


@dataclass(frozen=True)
class OutputChannel:
    """``label``, ``method`` and ``description`` may be lazy translations (channels register at import)."""

    code: str
    label: str
    method: str  # for the linkage disclosure: ファイル / API
    description: str
    delivers_file: bool = True
    to_core_system: bool = False

    def deliver(self, *, rendered: Rendered, filename: str) -> str:
        """Hand the bytes over; returns where they went ('' when the caller streams them)."""
        return ""


@dataclass(frozen=True)
class DownloadChannel(OutputChannel):
    pass  # the view streams the bytes as an attachment


def outbox_dir(schema_name: str | None = None) -> Path:
    return Path(settings.LINKAGE_ROOT) / (schema_name or connection.schema_name) / "outbox"


@dataclass(frozen=True)
class OutboxChannel(OutputChannel):
    def deliver(self, *, rendered: Rendered, filename: str) -> str:
        """Write atomically: a hidden temp file in the same folder, fsync, then rename into place."""
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / filename
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(rendered.content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o640)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return str(target)


_channels: dict[str, OutputChannel] = {}


def register(channel: OutputChannel) -> None:
    _channels[channel.code] = channel


def get(code: str) -> OutputChannel:
    return _channels[code]


def registered() -> list[OutputChannel]:
    return list(_channels.values())


register(DownloadChannel("download", _lazy("画面からダウンロード"), _lazy("ファイル（CSV等）"),
                         _lazy("業務管理者・担当職員が画面から未出力分または期間を指定して都度ダウンロード"
                               "（支援措置の対象世帯の住所は「支援措置の閲覧」の権限がなければマスク）")))
register(OutboxChannel("outbox", _lazy("送信フォルダ（定期）"), _lazy("ファイル（送信フォルダ）"),
                       _lazy("設定した時刻・間隔で未出力分を自治体ごとの送信フォルダ（outbox）に書き出し"),
                       to_core_system=True))
register(OutputChannel("api", _lazy("API（基幹系が取得）"), _lazy("API（PULL）"),
                       _lazy("基幹系システムがAPIトークンでカーソルを指定して取得"), delivers_file=False,
                       to_core_system=True))
