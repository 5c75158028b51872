"""Per-request context (request id, client address, actor) shared by logging and the audit trail."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestContext:
    request_id: str | None = None
    client_ip: str | None = None
    schema_name: str | None = None
    user_id: int | None = None
    username: str = ""
    counter_id: int | None = None


_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "madoguchi_request_context", default=RequestContext()  # noqa: B039 - frozen dataclass, immutable
)


def current_request_context() -> RequestContext:
    return _context.get()


def set_request_context(ctx: RequestContext) -> contextvars.Token:
    return _context.set(ctx)


def update_request_context(**changes: object) -> None:
    _context.set(replace(_context.get(), **changes))


def reset_request_context(token: contextvars.Token) -> None:
    _context.reset(token)
