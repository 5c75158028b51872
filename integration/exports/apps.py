from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _lazy


class IntegrationExportsConfig(AppConfig):
    name = "integration.exports"
    label = "integration_exports"
    verbose_name = _lazy("基幹系への出力")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.translation import gettext as _

        from integration.exports import channels, kinds  # noqa: F401 - registers the shipped kinds/channels
        from integration.exports.jobs import OUTBOX_JOB
        from madoguchi.menu import MenuEntry, register
        from tenants import jobs

        def may_export(user: object) -> bool:
            return bool(getattr(user, "is_municipal_admin", False) or getattr(user, "areas", None))

        # Label and description are rendered per request (lazy); the section is a plain string: the home page
        # groups entries by it (a dict key).
        register(MenuEntry(key="integration_exports.index", label=_lazy("受付データの出力"),
                           url_name="integration_exports:index",
                           description=_lazy("受付した住民異動届などを基幹系システム向けにCSVで出力します。"),
                           section=_("連携"), order=400, allowed=may_export))
        jobs.register(OUTBOX_JOB)
