from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "基幹系連携"
    default_auto_field = "django.db.models.BigAutoField"
