from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormsBuilderConfig(AppConfig):
    name = "forms_builder"
    verbose_name = _("申請書作成")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from forms_builder import channels, sources  # noqa: F401 - built-in sources and channels register on import
        from forms_builder.handback import install as install_handback
        from madoguchi.menu import MenuEntry, register

        install_handback()
        from audit.labels import register_action, register_target

        register_action("refused", _("拒否（担当業務外）"))
        register_target("form_document", _("申請書（発行した文書）"))
        from forms_builder.purposes import certificate_requests
        from navigation.cases import purposes

        purposes.register("forms.certificate", certificate_requests)
        is_admin = lambda user: getattr(user, "is_municipal_admin", False)  # noqa: E731
        register(MenuEntry(key="forms.templates", label=str(_("申請書の様式")), url_name="forms_builder:templates",
                           description=str(_("様式の一覧・下書き・公開、背景の登録、町字の一覧（業務管理者）")),
                           section="管理", order=930, allowed=is_admin))
