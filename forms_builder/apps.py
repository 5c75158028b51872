from django.apps import AppConfig


class FormsBuilderConfig(AppConfig):
    name = "forms_builder"
    verbose_name = "申請書作成"
    default_auto_field = "django.db.models.BigAutoField"
