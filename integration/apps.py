from django.apps import AppConfig
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = _lazy("基幹系連携")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integration.privileged import owner_sql
        from madoguchi.dbroles import register_owner_sql
        from madoguchi.menu import MenuEntry, register

        register_owner_sql(owner_sql)  # SECURITY DEFINER functions of the bulk swap (integration.privileged)
        from tenants.jobs import PeriodicJob, daily_slot
        from tenants.jobs import register as register_job

        def _admin(user: object) -> bool:
            return bool(getattr(user, "is_municipal_admin", False))

        # Label and description are rendered per request (lazy); the section is a plain string: the home page
        # groups entries by it (a dict key), like the other apps' sections.
        admin_section = _("管理")
        register(MenuEntry(key="linkage", label=_lazy("基幹系連携"), url_name="integration:index",
                           section=admin_section,
                           description=_lazy("連携ファイルの取込状況、取込履歴、スケジュール、レイアウト、外字変換表"),
                           order=60, allowed=_admin))
        register(MenuEntry(key="linkage_disclosure", label=_lazy("データ連携の公開情報"),
                           url_name="integration:disclosure", section=admin_section,
                           description=_lazy("基幹系とのデータ連携の一覧（方向・方法・項目・頻度）"),
                           order=61, allowed=_admin))

        def _due(now: object, municipality: object) -> bool:
            from integration.models import LinkageLayout
            from integration.services import layouts_ensure_shipped, schedules_due

            if not LinkageLayout.objects.exists():  # provisioned before layouts shipped at provisioning
                layouts_ensure_shipped()
            return bool(schedules_due(now=now))

        register_job(PeriodicJob(name="integration.schedules", task_name="integration.run_due_schedules", due=_due))
        register_job(PeriodicJob(name="integration.purge_received", task_name="integration.purge_received",
                                 slot=daily_slot(4, 0)))

        from tenants.signals import municipality_provisioned, municipality_terminated

        def _ship_layouts(sender: object, municipality: object, **kwargs: object) -> None:
            from integration.services import layouts_ensure_shipped

            layouts_ensure_shipped()  # the shipped layouts and their schedules, from the first day

        municipality_provisioned.connect(_ship_layouts, weak=False, dispatch_uid="integration_ship_layouts")

        def _destroy_files(sender: object, municipality: object, **kwargs: object) -> None:
            from integration.services import linkage_storage_destroy

            linkage_storage_destroy(schema_name=municipality.schema_name)

        municipality_terminated.connect(_destroy_files, weak=False, dispatch_uid="integration_destroy_linkage_files")

        from tenants.signals import municipality_renamed

        def _rewrite_search_addresses(sender: object, municipality: object, **kwargs: object) -> None:
            from django_tenants.utils import schema_context

            from integration.tasks import rewrite_search_addresses

            with schema_context(municipality.schema_name):  # the task runs in the renamed municipality's schema
                rewrite_search_addresses.apply_async()

        municipality_renamed.connect(_rewrite_search_addresses, weak=False,
                                     dispatch_uid="integration_rewrite_search_addresses")
