from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MynacardConfig(AppConfig):
    name = "mynacard"
    verbose_name = "マイナンバーカード"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from madoguchi.menu import MenuEntry, register
        from mynacard.bindings import install as install_bindings
        from tenants.jobs import PeriodicJob, daily_slot

        install_bindings()  # the card as a forms binding source and as the navigation's card holding
        from mynacard.middleware import install as install_policy_at_login

        install_policy_at_login()
        from tenants.jobs import register as register_job

        # Card data past its retention is hidden by the selectors at once and deleted every night.
        register_job(PeriodicJob(name="mynacard.purge", task_name="mynacard.purge_card_reads",
                                 slot=daily_slot(3, 0)))
        register(MenuEntry(key="mynacard.desk", label=str(_("カード読み取り（席）")), url_name="mynacard:desk",
                           description=str(_("席に着き、カードリーダー端末の状態と読み取ったカードを確認")),
                           section="窓口業務", order=12))
        register(MenuEntry(key="mynacard.my_card", label=str(_("自分のカードを登録")), url_name="mynacard:my_card",
                           description=str(_("カードでのログインに使う自分のマイナンバーカードを登録")),
                           section="窓口業務", order=90))
        register(MenuEntry(key="mynacard.stations", label=str(_("カードリーダー端末と席")),
                           url_name="mynacard:admin_stations",
                           description=str(_("席の追加、端末の登録と資格情報の発行、カードでのログインの設定")),
                           section="管理", order=60, allowed=lambda user: user.is_municipal_admin))
