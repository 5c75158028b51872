"""The audit screen's search form: staff member, resident (宛名番号), action and period."""

from __future__ import annotations

import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.labels import action_choices
from audit.selectors import AuditQuery
from madoguchi.inputs import InputDateField


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


# Dates people type are bounded like every other date field (madoguchi.inputs): 9999-12-31 is refused
# with a message naming the field instead of overflowing.


class AuditSearchForm(forms.Form):
    actor = forms.ChoiceField(label=_("職員（ユーザーID）"), required=False)
    atena_no = forms.CharField(label=_("住民（宛名番号）"), required=False, max_length=32,
                               help_text=_("その住民の情報を表示・出力した操作を探します。全角数字でも構いません。"))
    action = forms.ChoiceField(label=_("操作"), required=False)
    date_from = InputDateField(label=_("期間（から）"), required=False, widget=DateInput())
    date_to = InputDateField(label=_("期間（まで）"), required=False, widget=DateInput())

    def __init__(self, *args: object, actors: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("すべての職員"))] + [(name, name) for name in actors]
        self.fields["action"].choices = [("", _("すべての操作"))] + action_choices()

    def clean_atena_no(self) -> str:
        value = unicodedata.normalize("NFKC", self.cleaned_data.get("atena_no") or "").strip()
        if value and not (value.isascii() and value.isdigit()):
            raise forms.ValidationError(_("宛名番号は数字で入力してください。"))
        return value

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("期間の終わりは始まり（%(start)s）以降の日付にしてください。")
                           % {"start": start.isoformat()})
        return data

    def query(self) -> AuditQuery:
        data = self.cleaned_data
        return AuditQuery(actor=data.get("actor") or "", atena_no=data.get("atena_no") or "",
                          action=data.get("action") or "", date_from=data.get("date_from"),
                          date_to=data.get("date_to"))
