from django.apps import AppConfig


class MynacardConfig(AppConfig):
    name = "mynacard"
    verbose_name = "マイナンバーカード"
    default_auto_field = "django.db.models.BigAutoField"
