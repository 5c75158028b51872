from __future__ import annotations

from django import forms

from integration.models import LinkageLayout, LinkageSchedule

MAX_UPLOAD = 2 * 1024 * 1024 * 1024


class ImportUploadForm(forms.Form):
    layout = forms.ModelChoiceField(label="レイアウト", queryset=LinkageLayout.objects.none(), empty_label=None,
                                    help_text="取り込むファイルの形式を選んでください。")
    file = forms.FileField(label="連携ファイル",
                           help_text="CSVまたは固定長のファイル。検証ですべての行を確認してから反映します。")

    def __init__(self, *args: object, layouts: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if layouts is not None:
            self.fields["layout"].queryset = layouts


class LayoutFileForm(forms.Form):
    file = forms.FileField(label="レイアウトファイル（JSON）", help_text="エクスポートしたレイアウトと同じ形式です。")


class GaijiUploadForm(forms.Form):
    file = forms.FileField(label="外字変換表（CSV）",
                           help_text="見出し行「外字コード,UCS,MJ文字図形名,備考」。コードは U+E000 の形式、UTF-8。")
    replace = forms.BooleanField(label="既存の変換表を置き換える", required=False)


class CodePointForm(forms.Form):
    text = forms.CharField(label="文字", max_length=50, help_text="コードを調べたい文字を入力してください。")


class ScheduleForm(forms.Form):
    kind = forms.ChoiceField(label="種類", choices=LinkageSchedule.Kind.choices, widget=forms.RadioSelect)
    at_time = forms.TimeField(label="実行時刻", required=False, help_text="夜間の場合。例: 02:00",
                              widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
    every_minutes = forms.IntegerField(label="間隔（分）", required=False, min_value=1, max_value=1440,
                                       help_text="一定間隔の場合。支援措置などの緊急ファイルは5分")
    deadline_time = forms.TimeField(label="完了期限", required=False, help_text="夜間処理は 08:00 までに完了（R7.4）",
                                    widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
    is_active = forms.BooleanField(label="有効", required=False, initial=True)
