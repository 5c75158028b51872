from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "監査ログ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.tasks import checkpoint_due
        from madoguchi.dbroles import register_append_only
        from tenants.jobs import PeriodicJob, daily_slot, register

        # The application role may only read and append to the chain, its checkpoints and its keys.
        for table in ("audit_auditevent", "tenants_auditcheckpoint", "tenants_auditchainkey"):
            register_append_only(table)
        # Nightly verification of every municipality's whole chain, well before the counters open.
        register(PeriodicJob(name="audit.verify_chain", task_name="audit.verify_chain", slot=daily_slot(2, 30)))
        # The head signed every few minutes (if it grew): at most AUDIT_CHECKPOINT_SECONDS of events unanchored.
        register(PeriodicJob(name="audit.checkpoint", task_name="audit.checkpoint", due=checkpoint_due))
