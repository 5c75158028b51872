from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "自治体"
    default_auto_field = "django.db.models.BigAutoField"
