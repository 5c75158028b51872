"""Structured (JSON line) logging with the request id of the current request."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from madoguchi.context import current_request_context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current_request_context()
        record.request_id = getattr(record, "request_id", None) or ctx.request_id
        record.tenant = getattr(record, "tenant", None) or ctx.schema_name
        return True


class JsonFormatter(logging.Formatter):
    _extra_keys = ("request_id", "tenant", "method", "path", "status", "duration_ms", "user_id", "client_ip")

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in self._extra_keys:
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)
