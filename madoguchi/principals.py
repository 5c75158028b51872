"""Who acts when no person does.

Services take an ``actor`` and check its permissions themselves. The service acting on its own behalf
— schedules, inbox pick-up, Celery tasks, management commands, an API client whose token scope was
checked — passes a ``SystemPrincipal`` explicitly; ``None`` is never taken to mean "the system", so a
view that loses its user cannot slip through a permission check. The audit trail records the principal's
name (``system``, ``api:<client>``, ``command:<name>``) with no user id.
"""

from __future__ import annotations


class SystemPrincipal:
    is_authenticated = True
    is_active = True
    is_municipal_admin = True  # allowed whatever a municipal admin is allowed in the services that accept it
    pk = None

    def __init__(self, name: str = "system") -> None:
        self.name = name

    def get_username(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"SystemPrincipal({self.name!r})"


SYSTEM = SystemPrincipal()


def is_system(actor: object) -> bool:
    return isinstance(actor, SystemPrincipal)
