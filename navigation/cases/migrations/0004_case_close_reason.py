from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("navigation_cases", "0003_key_columns_collate_c")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="close_reason",
            field=models.TextField(blank=True, verbose_name="事由のないまま完了した理由"),
        ),
    ]
