from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "自治体"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from madoguchi import checks  # noqa: F401 - registers the database-role and anchor-store checks
