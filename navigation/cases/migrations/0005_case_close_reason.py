from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("navigation_cases", "0004_caseperson_newcomer_facts_procedure_rule_source")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="close_reason",
            field=models.TextField(blank=True, verbose_name="事由のないまま完了した理由"),
        ),
    ]
