from django.db import migrations, models

from audit.db import PROTECT_SQL, UNPROTECT_SQL


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(unique=True, verbose_name="連番")),
                ("occurred_at", models.DateTimeField(db_index=True, verbose_name="日時")),
                ("actor_id", models.BigIntegerField(blank=True, null=True, verbose_name="操作者ID")),
                ("actor", models.CharField(blank=True, max_length=150, verbose_name="操作者")),
                ("action", models.CharField(db_index=True, max_length=32, verbose_name="操作")),
                ("target_type", models.CharField(blank=True, max_length=64, verbose_name="対象種別")),
                ("target_id", models.CharField(blank=True, db_index=True, max_length=64, verbose_name="対象ID")),
                ("area", models.CharField(blank=True, max_length=16, verbose_name="業務")),
                ("request_id", models.CharField(blank=True, max_length=64, verbose_name="リクエストID")),
                ("client_ip", models.CharField(blank=True, max_length=64, verbose_name="端末アドレス")),
                ("counter_id", models.BigIntegerField(blank=True, null=True, verbose_name="窓口ID")),
                ("details", models.JSONField(blank=True, default=dict, verbose_name="詳細")),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64, unique=True)),
            ],
            options={"verbose_name": "監査ログ", "verbose_name_plural": "監査ログ", "ordering": ["seq"]},
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["target_type", "target_id"], name="audit_audit_target__idx"),
        ),
        migrations.RunSQL(PROTECT_SQL, UNPROTECT_SQL),
    ]
