"""System checks for the two database roles and the audit anchor store.

``check --deploy`` (settings only): the application must not connect as the owner, and the checkpoints must go
to a write-once store outside the containers. ``check --database default``: the connected application role is
no superuser and owns no table.
"""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def roles_check(app_configs: object = None, **kwargs: object) -> list:
    from madoguchi.dbroles import roles_separated

    # Web and beat need no DATABASE_OWNER_URL at all (only migrate and the provisioning worker do); an owner URL
    # that names the application's own role means the application connects as the owner.
    if roles_separated() or not getattr(settings, "DATABASE_OWNER_URL_SET", False):
        return []
    return [Warning("DATABASE_OWNER_URL names the same role as DATABASE_URL: the application would connect as "
                    "the owner of the audit tables.",
                    hint="Create the two roles (manage.py db_roles, docs/operations.md) and set both URLs.",
                    id="madoguchi.W001")]


@register(Tags.security, deploy=True)
def anchor_store_check(app_configs: object = None, **kwargs: object) -> list:
    if urlparse(settings.AUDIT_ANCHOR_URL).scheme == "s3":
        return []
    return [Warning("MADOGUCHI_AUDIT_ANCHOR_URL is not an S3 Object Lock bucket: the signed audit checkpoints "
                    "would be kept on a container's own disk, which neither lasts nor is write-once.",
                    hint="s3://<bucket with Object Lock>/<prefix> (docs/operations.md).", id="madoguchi.W002")]


@register(Tags.database)
def application_role_check(app_configs: object = None, databases: object = None, **kwargs: object) -> list:
    if not databases or "default" not in databases:
        return []
    from django.db import connection

    from madoguchi.dbroles import roles_separated

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, (SELECT count(*) FROM pg_class WHERE relowner = r.oid) "
                       "FROM pg_roles r WHERE rolname = current_user")
        user, superuser, owned = cursor.fetchone()
    if user != settings.DATABASES["default"]["USER"]:
        return []  # the owner's connection (migrate_schemas runs its checks as the owner): nothing to say
    errors = []
    if superuser:
        errors.append(Error("DATABASE_URL connects as a superuser: it could disable the audit triggers.",
                            id="madoguchi.E001"))
    elif owned and roles_separated():
        errors.append(Error(f"The application role owns {owned} relations: it could alter the audit tables.",
                            hint="Hand them to the owner role (manage.py db_roles).", id="madoguchi.E002"))
    return errors
