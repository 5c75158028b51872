from django.apps import AppConfig


class NavigationConfig(AppConfig):
    name = "navigation"
    verbose_name = "手続ナビ"
    default_auto_field = "django.db.models.BigAutoField"
