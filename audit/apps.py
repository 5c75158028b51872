from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "監査ログ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants.jobs import PeriodicJob, daily_slot, register

        # Nightly verification of every municipality's chain, well before the counters open.
        register(PeriodicJob(name="audit.verify_chain", task_name="audit.verify_chain", slot=daily_slot(2, 30)))
