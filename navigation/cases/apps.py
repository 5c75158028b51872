from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "navigation.cases"
    label = "navigation_cases"
    verbose_name = _("受付・メモ")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from madoguchi.dbroles import register_append_only
        from madoguchi.menu import MenuEntry, register

        # A correction after hand-back is an audited object: never changed or deleted by the application.
        register_append_only("navigation_cases_handbackcorrection")
        register_append_only("navigation_cases_correctionsignaturereceipt")

        register(
            MenuEntry(
                key="cases.home",
                label=str(_("窓口受付")),
                url_name="navigation:cases:home",
                description=str(_("自分の窓口の待ち一覧、住民検索から新しい受付")),
                section="窓口業務",
                order=10,
            )
        )
        register(
            MenuEntry(
                key="cases.search",
                label=str(_("住民検索")),
                url_name="navigation:cases:search",
                description=str(_("氏名・カナ・生年月日・住所・宛名番号で検索し、メモを確認")),
                section="窓口業務",
                order=11,
            )
        )
