from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NavigationConfig(AppConfig):
    name = "navigation"
    verbose_name = _("手続ナビ")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from madoguchi.menu import MenuEntry, register

        is_admin = lambda user: getattr(user, "is_municipal_admin", False)  # noqa: E731
        register(MenuEntry(key="navigation.catalogue", label=str(_("手続カタログの編集")),
                           url_name="navigation:admin_home",
                           description=str(_("異動事由・手続・質問・判定ルールの編集と公開（業務管理者）")),
                           section="管理", order=920, allowed=is_admin))

        from tenants.signals import municipality_provisioned

        def _default_counters(sender: object, municipality: object, **kwargs: object) -> None:
            from navigation.services import counters_provision_default

            # A usable municipality from the first day: the counters the default catalogue names for the plan's
            # areas, each catalogue counter mapped to one (R2.1; nobody has to run a command by hand).
            counters_provision_default(areas=list(getattr(municipality, "areas", None) or []))

        municipality_provisioned.connect(_default_counters, weak=False, dispatch_uid="navigation_default_counters")
