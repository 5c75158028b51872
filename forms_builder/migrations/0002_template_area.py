# The business area of a form of its own (a certificate's 交付請求書 follows its certificate), for the rule that
# staff issue only forms of the business areas they hold.

from django.db import migrations, models

CERTIFICATE_AREAS = {"cert_juminhyo": "juki", "cert_inkan": "inkan", "cert_koseki": "koseki", "cert_zei": "zei"}


def set_certificate_areas(apps, schema_editor):  # noqa: ANN001, ANN201
    template = apps.get_model("forms_builder", "FormTemplate")
    for code, area in CERTIFICATE_AREAS.items():
        template.objects.filter(code=code, kind="certificate", area="").update(area=area)


class Migration(migrations.Migration):

    dependencies = [
        ("forms_builder", "0001_forms_templates_documents"),
    ]

    operations = [
        migrations.AddField(
            model_name="formtemplate",
            name="area",
            field=models.CharField(
                blank=True,
                choices=[
                    ("juki", "住民基本台帳"),
                    ("inkan", "印鑑登録"),
                    ("koseki", "戸籍"),
                    ("zei", "税"),
                    ("kokuho", "国民健康保険"),
                    ("kaigo", "介護保険"),
                    ("kouki", "後期高齢者医療"),
                    ("jidou_teate", "児童手当"),
                    ("gakureibo", "学齢簿"),
                ],
                max_length=16,
                verbose_name="業務",
            ),
        ),
        migrations.RunPython(set_certificate_areas, migrations.RunPython.noop),
    ]
