from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "監査ログ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _lazy

        from audit.tasks import checkpoint_due
        from madoguchi.dbroles import register_append_only
        from madoguchi.menu import MenuEntry
        from madoguchi.menu import register as menu_register
        from tenants.jobs import PeriodicJob, daily_slot, register

        menu_register(MenuEntry(key="audit.events", label=_lazy("監査ログ"), url_name="audit:events", section="管理",
                                description=_lazy("誰がいつどの住民の情報を表示・出力したかの検索（業務管理者）"),
                                order=915, allowed=lambda user: getattr(user, "is_municipal_admin", False)))
        # The application role may only read and append to the chain, its checkpoints and its keys.
        for table in ("audit_auditevent", "tenants_auditcheckpoint", "tenants_auditchainkey"):
            register_append_only(table)
        # Nightly verification of every municipality's whole chain, well before the counters open.
        register(PeriodicJob(name="audit.verify_chain", task_name="audit.verify_chain", slot=daily_slot(2, 30)))
        # The head signed every few minutes (if it grew): at most AUDIT_CHECKPOINT_SECONDS of events unanchored.
        register(PeriodicJob(name="audit.checkpoint", task_name="audit.checkpoint", due=checkpoint_due))
