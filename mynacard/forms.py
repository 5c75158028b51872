from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.accounts.models import Counter, Desk, Role


class DeskCreateForm(forms.Form):
    counter = forms.ModelChoiceField(label=_("窓口"), queryset=Counter.objects.filter(is_active=True))
    name = forms.CharField(label=_("席の名前"), max_length=64, help_text=_("例: 1番席"))


class StationRegisterForm(forms.Form):
    desk = forms.ModelChoiceField(label=_("席"), queryset=Desk.objects.filter(is_active=True).select_related("counter"))
    name = forms.CharField(label=_("端末の名前"), max_length=64, help_text=_("例: 総合窓口1番席のリーダー"))


class PolicyForm(forms.Form):
    roles = forms.MultipleChoiceField(label=_("カードでの二要素認証が必要な役割"), choices=Role.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
