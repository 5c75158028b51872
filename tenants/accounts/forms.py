from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.accounts.models import Counter, Department, Role, User
from tenants.areas import BusinessArea


class LoginForm(forms.Form):
    username = forms.CharField(label=_("ユーザーID"), max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(label=_("パスワード"), widget=forms.PasswordInput(render_value=False), strip=False)


class CounterSelectForm(forms.Form):
    counter = forms.ModelChoiceField(label=_("窓口"), queryset=Counter.objects.none(), empty_label=None,
                                     widget=forms.RadioSelect)

    def __init__(self, *args: object, queryset: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["counter"].queryset = queryset


class CounterForm(forms.Form):
    name = forms.CharField(label="窓口名", max_length=64, help_text="例：総合窓口 1番")
    kind = forms.ChoiceField(label="種別", choices=Counter.Kind.choices)
    department = forms.ModelChoiceField(label="部署", queryset=Department.objects.all(), required=False,
                                        empty_label="（なし）")
    location = forms.CharField(label="場所（階・番号）", max_length=64, required=False, help_text="例：本庁舎1階 3番")
    sort_order = forms.IntegerField(label="表示順", min_value=0, initial=0)
    is_active = forms.BooleanField(label="使用中", required=False, initial=True)
    staff = forms.ModelMultipleChoiceField(
        label="担当職員（部署以外）", queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="この窓口の部署の職員は選ばなくても使えます。ほかの部署の職員にも使わせるときに選びます。")


class ApiClientForm(forms.Form):
    name = forms.CharField(label="名称", max_length=64, help_text="例：住民記録システム（基幹系）")
    scopes = forms.MultipleChoiceField(
        label="権限",
        choices=[("linkage:write", "連携データの送信"), ("linkage:read", "受付データの取得"),
                 ("navigation:read", "手続ナビの参照")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class StaffForm(forms.Form):
    username = forms.CharField(label="ユーザーID", max_length=150, help_text="半角英数字と @ . + - _")
    display_name = forms.CharField(label="表示名", max_length=64, required=False,
                                   help_text="画面のヘッダーに表示されます。")
    role = forms.ChoiceField(label="役割", choices=Role.choices)
    department = forms.ModelChoiceField(label="部署", queryset=Department.objects.all(), required=False,
                                        empty_label="（なし）")
    areas = forms.MultipleChoiceField(label="担当業務", choices=BusinessArea.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    may_view_support_measures = forms.BooleanField(
        label="支援措置の閲覧", required=False, initial=False,
        help_text="支援措置（DV等）の対象世帯の住所をマスクせずにダウンロードできます。"
                  "基幹系への連携担当者だけに付与してください（窓口職員には付与しません）。",
    )
    is_active = forms.BooleanField(label="有効", required=False, initial=True)
    password = forms.CharField(label="初期パスワード", widget=forms.PasswordInput, strip=False, required=False,
                               help_text="新規登録時は必須。12文字以上、英大文字・英小文字・数字・記号のうち3種類以上。")

    def __init__(self, *args: object, editing: bool = False, areas: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if areas is not None:
            self.fields["areas"].choices = [(code, label) for code, label in BusinessArea.choices if code in areas]
        if editing:  # the user ID never changes; it is shown in the heading instead of a read-only field
            del self.fields["username"]
            del self.fields["password"]
        else:
            self.fields["password"].required = True


class PasswordResetForm(forms.Form):
    password = forms.CharField(label="新しいパスワード", widget=forms.PasswordInput, strip=False,
                               help_text="12文字以上、英大文字・英小文字・数字・記号のうち3種類以上。")
