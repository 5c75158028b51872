from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormsTabletConfig(AppConfig):
    """The resident's tablet at a desk (R2.8): pairing, the pushed form, signing, recall."""

    name = "forms_builder.tablet"
    label = "forms_tablet"
    verbose_name = _("タブレット（確認・署名）")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from forms_builder import channels
        from forms_builder.tablet.channel import TabletChannel
        from forms_builder.tablet.handback import install as install_handback
        from madoguchi.menu import MenuEntry, register

        channels.register(TabletChannel())
        install_handback()
        register(MenuEntry(key="forms_tablet.desk", label=str(_("タブレット（席）")), url_name="forms_tablet:desk",
                           description=str(_("席のタブレットをペアリングコードで接続・解除")),
                           section="窓口業務", order=13))
