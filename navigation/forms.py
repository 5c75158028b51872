"""Forms of the catalogue editor. Each form turns its fields into an item dict (``default.json`` format)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.inputs import InputDateField, JSONFileField, JSONTextField
from navigation.models import LifeEvent, Procedure, QuestionKind, QuestionScope, RuleScope
from tenants.areas import BusinessArea


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class EventForm(forms.Form):
    code = forms.CharField(label=_("コード"), max_length=60, help_text=_("英小文字・数字・_・-（例：tennyu）"))
    name = forms.CharField(label=_("名称"), max_length=60)
    description = forms.CharField(label=_("説明"), max_length=200, required=False)
    order = forms.IntegerField(label=_("表示順"), initial=0)

    def item(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    @staticmethod
    def initial_from(data: dict[str, Any]) -> dict[str, Any]:
        return data


class ProcedureForm(forms.Form):
    code = forms.CharField(label=_("コード"), max_length=60, help_text=_("英小文字・数字・_・-（例：kokuho_kanyu）"))
    name = forms.CharField(label=_("手続名"), max_length=120)
    area = forms.ChoiceField(label=_("業務"), choices=())
    events = forms.MultipleChoiceField(label=_("異動事由"), choices=(), widget=forms.CheckboxSelectMultiple)
    guidance = forms.CharField(label=_("職員向けの案内"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    documents = forms.CharField(label=_("持ち物"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                help_text=_("1行に1つ"))
    counter = forms.CharField(label=_("担当窓口"), max_length=64, required=False)
    department = forms.CharField(label=_("担当部署"), max_length=64, required=False)
    legal_basis = forms.CharField(label=_("根拠法令"), max_length=300, required=False)
    legal_url = forms.URLField(label=_("根拠法令のURL"), required=False, assume_scheme="https")
    source = forms.CharField(label=_("判定の出典"), max_length=300, required=False,
                             help_text=_("条文だけでは分からない判定の出典（事務処理要領、省庁の通知など）。案内に表示します"))
    fee = forms.CharField(label=_("手数料"), max_length=100, required=False)
    forms_ = forms.CharField(label=_("様式コード"), required=False,
                             help_text=_("1行に1つ。申請書の様式コード（例: juki_idou）、窓口で作らない紙の届書は"
                                         "「paper:届書の名前」（例: paper:出生届）"),
                             widget=forms.Textarea(attrs={"rows": 2}))
    staff_alert = forms.BooleanField(label=_("職員への注意喚起（支援措置など）"), required=False)
    export = JSONTextField(
        label=_("基幹系への連携（JSON）"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        expected=dict, empty=dict,
        help_text=_("受付を完了したとき、この手続が「完了」なら基幹系へ渡すデータ種別と項目。"
                    "例：{\"kind\": \"juki_idou\", \"items\": {\"idou_jiyu\": \"tennyu\"}}。"
                    "値は固定値か @event_date・@received_date・@answer.質問コード・@mirror.address・@eligibility.業務。"
                    "空欄なら連携しません"))
    order = forms.IntegerField(label=_("表示順"), initial=0)

    def __init__(self, *args: Any, areas: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [(a, BusinessArea(a).label) for a in areas]
        self.fields["events"].choices = list(LifeEvent.objects.values_list("code", "name"))

    def item(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["documents"] = _lines(data["documents"])
        data["forms"] = _lines(data.pop("forms_"))
        return data

    @staticmethod
    def initial_from(data: dict[str, Any]) -> dict[str, Any]:
        export = data.get("export")
        return {**data, "documents": "\n".join(data["documents"]), "forms_": "\n".join(data["forms"]),
                "export": json.dumps(export, ensure_ascii=False, indent=1) if export else ""}


class QuestionForm(forms.Form):
    code = forms.CharField(label=_("コード"), max_length=60, help_text=_("ルールでは answer.コード で参照します"))
    text = forms.CharField(label=_("質問文"), max_length=300)
    help = forms.CharField(label=_("補足"), max_length=300, required=False)
    kind = forms.ChoiceField(
        label=_("回答の種類"), choices=QuestionKind.choices,
        help_text=_("文字・住所は職員が入力します。コードが申請書の入力項目（new_address：新しい住所、previous_address："
                    "転入前の住所、destination_address：転出先の住所 など）と同じなら、その値として1回だけ入力し、"
                    "どの申請書にも印字します。住所は町字を町字の一覧から選び、番地・方書を入力します。"))
    scope = forms.ChoiceField(label=_("対象"), choices=QuestionScope.choices)
    choices = forms.CharField(label=_("選択肢"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              help_text=_("選択のとき、1行に「値:表示名」（例：abroad:国外）"))
    order = forms.IntegerField(label=_("表示順"), initial=0, help_text=_("小さいものから尋ねます"))
    exclusive = forms.BooleanField(
        label=_("1人だけが「はい」"), required=False,
        help_text=_("人ごとの はい／いいえ の質問で、誰か1人が「はい」と答えたら"
                    "他の人は「いいえ」とします（新しい世帯主など）"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("exclusive") and (data.get("kind") != "yesno" or data.get("scope") != "person"):
            self.add_error("exclusive", _("「1人だけが「はい」」は人ごとの はい／いいえ の質問にだけ指定できます。"))
        if data.get("choices") and data.get("kind") != QuestionKind.CHOICE:
            self.add_error("choices", _("選択肢は回答の種類が「選択」のときだけ指定します。"))
        return data

    def clean_choices(self) -> list[dict[str, str]]:
        result = []
        for number, line in enumerate(_lines(self.cleaned_data["choices"]), start=1):
            value, sep, label = line.partition(":")
            if not value.strip():
                raise forms.ValidationError(_("%(n)d行目：値がありません。") % {"n": number})
            result.append({"value": value.strip(), "label": (label if sep else value).strip()})
        return result

    def item(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    @staticmethod
    def initial_from(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "choices": "\n".join(f"{c['value']}:{c.get('label', '')}" for c in data["choices"])}


class RuleForm(forms.Form):
    code = forms.CharField(label=_("コード"), max_length=80, help_text=_("例：kokuho_kanyu.newcomer"))
    procedure = forms.ChoiceField(label=_("手続"), choices=())
    scope = forms.ChoiceField(label=_("対象"), choices=RuleScope.choices)
    events = forms.MultipleChoiceField(label=_("適用する異動事由"), choices=(), required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text=_("選ばなければ手続のすべての異動事由に適用します"))
    condition = JSONTextField(label=_("条件（JsonLogic）"),
                                widget=forms.Textarea(attrs={"rows": 10, "class": "code"}),
                                help_text=_("例：{\"and\": [{\"var\": \"person.subject\"}, "
                                            "{\">=\": [{\"var\": \"person.age\"}, 65]}]}"))
    reason = forms.CharField(label=_("理由の文"), max_length=300,
                             help_text=_("{person.name}・{person.age} などを差し込めます"))
    order = forms.IntegerField(label=_("表示順"), initial=0)

    def __init__(self, *args: Any, areas: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = list(Procedure.objects.filter(area__in=areas).values_list("code", "name"))
        self.fields["events"].choices = list(LifeEvent.objects.values_list("code", "name"))

    def item(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    @staticmethod
    def initial_from(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "condition": json.dumps(data["condition"], ensure_ascii=False, indent=2)}


class PublishForm(forms.Form):
    effective_from = InputDateField(label=_("適用開始日"), widget=forms.DateInput(attrs={"type": "date"}),
                                     help_text=_("この日以後の届出・事由に新しい版を使います"))
    note = forms.CharField(label=_("メモ"), max_length=200, required=False)


class ImportForm(forms.Form):
    file = JSONFileField(label=_("カタログのJSONファイル"),
                           help_text=_("書き出したファイルを取り込むと下書きを置き換えます"))


SAMPLE_PERSONS = json.dumps([
    {"key": "p1", "name": "世帯主", "birth_date": "1984-05-10", "relationship": "世帯主"},
    {"key": "p2", "name": "配偶者", "birth_date": "1986-08-20", "relationship": "妻"},
    {"key": "p3", "name": "子", "birth_date": "2016-09-01", "relationship": "子"},
], ensure_ascii=False, indent=1)


class TryForm(forms.Form):
    events = forms.MultipleChoiceField(label=_("異動事由"), choices=(), widget=forms.CheckboxSelectMultiple)
    on = InputDateField(label=_("基準日（届出日）"), widget=forms.DateInput(attrs={"type": "date"}))
    household_no = forms.CharField(label=_("住民記録の世帯番号"), max_length=15, required=False,
                                   help_text=_("入力すると住民記録の世帯を使います（下の世帯JSONより優先）"))
    persons = JSONTextField(label=_("試す世帯（JSON）"), widget=forms.Textarea(attrs={"rows": 8, "class": "code"}),
                            required=False, initial=SAMPLE_PERSONS, expected=list, empty=list,
                            help_text=_("人ごとに key・birth_date（必須）・relationship・eligibilities"
                                        "（kokuho・kaigo・kouki・jidou_teate・inkan …）・foreign・"
                                        "support_measure・subject"))
    answers = JSONTextField(label=_("回答（JSON）"), widget=forms.Textarea(attrs={"rows": 4, "class": "code"}),
                            required=False, initial='{"case": {}, "persons": {}}', expected=dict, empty=dict)

    def __init__(self, *args: Any, events: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = events



class TryRuleForm(forms.Form):
    """The rule being edited, sent along with the "try it" panel from the rule editor (unprefixed fields)."""

    condition = JSONTextField(label=_("条件（JsonLogic）"), required=False)
    scope = forms.ChoiceField(label=_("対象"), choices=RuleScope.choices, required=False)
