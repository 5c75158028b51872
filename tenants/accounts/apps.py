from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "職員・窓口"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from madoguchi.menu import MenuEntry, register
        from tenants.accounts import signals  # noqa: F401

        is_admin = lambda user: getattr(user, "is_municipal_admin", False)  # noqa: E731
        register(MenuEntry(key="accounts.counter", label="窓口の選択", url_name="accounts:select_counter",
                           description="今座っている窓口を選びます。", section="はじめに", order=10))
        register(MenuEntry(key="accounts.counters", label="窓口の管理", url_name="accounts:counters",
                           description="窓口の追加・変更（業務管理者）", section="管理", order=900, allowed=is_admin))
        register(MenuEntry(key="accounts.staff", label="職員の管理", url_name="accounts:staff",
                           description="職員の登録・役割・担当業務・ロック解除（業務管理者）", section="管理",
                           order=905, allowed=is_admin))
        register(MenuEntry(key="accounts.api_clients", label="APIクライアント", url_name="accounts:api_clients",
                           description="基幹系システム用のAPIトークン発行（業務管理者）", section="管理", order=910,
                           allowed=is_admin))
