from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from integration.exports.layouts import LayoutSpec
from integration.exports.models import ExportSchedule
from madoguchi.inputs import InputDateField, JSONFileField, JSONTextField


def _layout_choices(layouts: list[LayoutSpec]) -> list[tuple[str, str]]:
    return [(spec.code, spec.name) for spec in layouts]


class DownloadForm(forms.Form):
    selection = forms.ChoiceField(
        label=_("出力する受付データ"),
        choices=[("pending", _("未出力分（まだ基幹系にファイルで渡していないもの）")),
                 ("range", _("受付日で指定（出力済みを含む・再出力）"))],
        initial="pending", widget=forms.RadioSelect,
    )
    date_from = InputDateField(label=_("受付日（開始）"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                help_text=_("受付日で指定する場合に入力します。"))
    date_to = InputDateField(label=_("受付日（終了）"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    layout = forms.ChoiceField(label=_("レイアウト"), help_text=_("文字コード・項目の並び・日付の形式を決めます。"))

    def __init__(self, *args: object, layouts: list[LayoutSpec], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["layout"].choices = _layout_choices(layouts)


class ScheduleForm(forms.Form):
    is_active = forms.BooleanField(label=_("定期出力を行う"), required=False, initial=True)
    mode = forms.ChoiceField(label=_("実行方法"), choices=ExportSchedule.Mode.choices, widget=forms.RadioSelect,
                             initial=ExportSchedule.Mode.DAILY)
    time_of_day = forms.TimeField(label=_("時刻"), required=False,
                                  widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                  help_text=_("「毎日決まった時刻」の場合。例：07:00"))
    interval_minutes = forms.IntegerField(label=_("間隔（分）"), required=False, min_value=5, max_value=1440,
                                          help_text=_("「一定の間隔」の場合。5〜1440分"))
    layout_code = forms.ChoiceField(label=_("レイアウト"))

    def __init__(self, *args: object, layouts: list[LayoutSpec], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["layout_code"].choices = _layout_choices(layouts)


class LayoutImportForm(forms.Form):
    file = JSONFileField(label=_("レイアウト定義ファイル（JSON）"), max_bytes=2 * 1024 * 1024,
                           help_text=_("この画面から書き出したJSONを編集して取り込めます。同じ種別・コードのレイアウトは置き換えます。"))


class LayoutEditForm(forms.Form):
    """The visual layout editor writes its definition here; the textarea is also its advanced (JSON) view."""

    definition = JSONTextField(
        label=_("レイアウト定義（JSON）"), expected=dict, max_length=2 * 1024 * 1024,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code-input"}),
        help_text=_("組み立て表示と同じ内容です。どちらを編集しても、もう一方に反映されます。"),
    )
