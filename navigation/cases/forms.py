from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integration.models import Sex
from integration.search import parse_birth_date
from madoguchi.inputs import InputDateField
from navigation.cases.models import MemoVisibility, ProcedureStatus
from tenants.accounts.models import Counter


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("氏名・フリガナ"),
        max_length=100,
        required=False,
        help_text=_("漢字・カナ・ひらがな、全角・半角、旧字体のどれでも検索できます。"),
    )
    birth = forms.CharField(
        label=_("生年月日"),
        max_length=20,
        required=False,
        help_text=_("例：1970-01-02、S45.1.2、昭和45年1月2日、S450102"),
    )
    address = forms.CharField(label=_("住所"), max_length=200, required=False)
    atena_no = forms.CharField(label=_("宛名番号"), max_length=15, required=False)
    departed = forms.BooleanField(label=_("転出・死亡した人も含める"), required=False)

    def clean_birth(self) -> object:
        try:
            value = parse_birth_date(self.cleaned_data.get("birth") or "")
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        if value is not None and value > timezone.localdate():
            raise forms.ValidationError(
                _("「%(text)s」（%(date)s）は今日より後の日付です。生年月日を確かめてください。")
                % {"text": self.cleaned_data.get("birth"), "date": value.isoformat()})
        return value

    @property
    def has_criteria(self) -> bool:
        data = self.data
        return any((data.get(k) or "").strip() for k in ("q", "birth", "address", "atena_no"))


class NewcomerForm(forms.Form):
    name = forms.CharField(label=_("氏名"), max_length=100)
    name_kana = forms.CharField(label=_("氏名（フリガナ）"), max_length=200, required=False)
    birth_date = forms.CharField(label=_("生年月日"), max_length=20, help_text=_("例：2024-04-01、R6.4.1"))
    sex = forms.ChoiceField(label=_("性別"), choices=[("", "―")] + list(Sex.choices), required=False)
    relationship = forms.CharField(label=_("続柄"), max_length=40, required=False, help_text=_("例：子"))
    is_foreign = forms.BooleanField(label=_("外国人住民"), required=False)
    nationality = forms.CharField(label=_("国籍・地域"), max_length=60, required=False)
    residence_status = forms.CharField(label=_("在留資格"), max_length=60, required=False,
                                       help_text=_("外国人住民のとき。在留カードのとおり（例：技術・人文知識・国際業務）"))
    entry_date = forms.CharField(label=_("入国（上陸）年月日"), max_length=20, required=False,
                                 help_text=_("外国人住民のとき。例：2026-05-20、R8.5.20"))
    support_measure = forms.BooleanField(
        label=_("支援措置（DV等）の対象"), required=False,
        help_text=_("転入前の市区町村で支援措置を受けていた、または申出をする方。住所を第三者に伝えないでください"))

    def clean_entry_date(self) -> object:
        text = self.cleaned_data.get("entry_date") or ""
        if not text.strip():
            return None
        try:
            return parse_birth_date(text)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("is_foreign") and (data.get("residence_status") or data.get("entry_date")):
            self.add_error("is_foreign", _("在留資格・入国年月日は外国人住民のときだけ入力します。"))
        return data

    def clean_birth_date(self) -> object:
        try:
            value = parse_birth_date(self.cleaned_data.get("birth_date") or "")
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        if value is None:
            raise forms.ValidationError(_("生年月日を入力してください。"))
        return value


class EventsForm(forms.Form):
    events = forms.MultipleChoiceField(label=_("ライフイベント"), widget=forms.CheckboxSelectMultiple, required=False)
    event_date = InputDateField(label=_("異動日・届出日"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: object, choices: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = choices


class ProcedureStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("状態"), choices=ProcedureStatus.choices)
    reason = forms.CharField(label=_("理由・メモ"), max_length=400, required=False, help_text=_("「不要」のときは必須"))
    to_counter = forms.ModelChoiceField(
        label=_("担当窓口"),
        queryset=Counter.objects.filter(is_active=True),
        required=False,
        empty_label=_("（変更しない）"),
    )


class HandoffForm(forms.Form):
    to_counter = forms.ModelChoiceField(label=_("引継ぎ先の窓口"), queryset=Counter.objects.none(), empty_label=None)
    note = forms.CharField(
        label=_("引継ぎメモ"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text=_("次の窓口の職員に伝えること"),
    )

    def __init__(self, *args: object, counters: list[Counter], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_counter"].queryset = Counter.objects.filter(pk__in=[c.pk for c in counters])


class CloseForm(forms.Form):
    override_reason = forms.CharField(
        label=_("未完了のまま完了する理由（窓口責任者のみ）"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=1000,
        help_text=_("未完了の手続が残っているときだけ入力します。記録に残ります。"),
    )
    close_reason = forms.CharField(
        label=_("完了する理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=1000,
        help_text=_("ライフイベントも証明書の交付請求もない受付のときに入力します"
                    "（相談のみ、書類の不備で出直し など）。"),
    )


class MemoForm(forms.Form):
    body = forms.CharField(label=_("メモ"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    visibility = forms.ChoiceField(
        label=_("公開範囲"),
        choices=MemoVisibility.choices,
        initial=MemoVisibility.ALL,
        widget=forms.RadioSelect,
    )


class AnswersForm(forms.Form):
    """One field per interview question (``navi.Question``); names are the answer keys."""

    def __init__(self, *args: object, questions: list, answers: dict, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            label = f"{question.person_name}：{question.text}" if question.person_name else question.text
            current = answers.get(question.key)
            if question.kind in ("yesno", "yes_no"):
                field = forms.ChoiceField(
                    label=label,
                    choices=[("yes", _("はい")), ("no", _("いいえ"))],
                    widget=forms.RadioSelect,
                    required=False,
                )
                initial = {True: "yes", False: "no"}.get(current)
            elif question.kind == "choice":
                field = forms.ChoiceField(
                    label=label, choices=list(question.choices), widget=forms.RadioSelect, required=False
                )
                initial = current
            elif question.kind == "text":
                field = forms.CharField(label=label, required=False, max_length=200,
                                        widget=forms.TextInput(attrs={"autocomplete": "off"}))
                initial = question.current if question.current is not None else current
            elif question.kind == "address":
                self._address_fields(question, label, question.current or current)
                continue
            elif question.kind == "date":
                field = InputDateField(
                    label=label,
                    required=False,
                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                )
                initial = current
            else:
                field = forms.IntegerField(label=label, required=False)
                initial = current
            field.help_text = question.help_text
            field.decides = question.decides
            self.fields[question.key] = field
            self.initial[question.key] = initial

    def _address_fields(self, question: object, label: str, current: object) -> None:
        """An address question: the 町字 from the municipality's 町字 master, then 番地 and 方書 typed by hand
        (fields ``<key>``, ``<key>|banchi``, ``<key>|katagaki``; the service puts them together)."""
        from forms_builder.selectors import town_choices

        value = current if isinstance(current, dict) else {}
        towns = sorted(town_choices().items(), key=lambda kv: (kv[1].get("kana") or kv[1]["name"], kv[0]))
        choices = [("", _("町字を選んでください"))] + [
            (code, f"{town['name']}（〒{town['postcode']}）" if town.get("postcode") else town["name"])
            for code, town in towns]
        town = forms.ChoiceField(label=_("%(label)s（町字）") % {"label": label}, choices=choices, required=False)
        town.help_text = question.help_text or _("町字は一覧から選び、番地と方書（建物名・部屋番号）を入力します。")
        town.decides = question.decides
        banchi = forms.CharField(label=_("%(label)s（番地）") % {"label": label}, required=False, max_length=200,
                                 widget=forms.TextInput(attrs={"autocomplete": "off"}))
        banchi.help_text = _("例：11番1号、3-2-1")
        katagaki = forms.CharField(label=_("%(label)s（方書）") % {"label": label}, required=False, max_length=200,
                                   widget=forms.TextInput(attrs={"autocomplete": "off"}))
        katagaki.help_text = _("建物名・部屋番号（なければ空欄）")
        for suffix, field, initial in (("", town, value.get("code", "")), ("|banchi", banchi, value.get("banchi", "")),
                                       ("|katagaki", katagaki, value.get("katagaki", ""))):
            self.fields[question.key + suffix] = field
            self.initial[question.key + suffix] = initial


class CorrectionForm(forms.Form):
    """訂正 of a handed-back value (the service validates the value and the reason and names the field)."""

    field = forms.ChoiceField(label=_("訂正する項目"), choices=())
    value = forms.CharField(label=_("訂正後の値"), required=False, max_length=1000,
                            help_text=_("基幹系へ送った値を、この値に訂正します。"))
    reason = forms.CharField(label=_("訂正の理由"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                             max_length=2000,
                             help_text=_("必須。誰からの申出か、何を確かめたかを書きます。記録に残ります。"))

    def __init__(self, *args: object, fields: list | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(f.code, f"{f.label}（{_('現在')}：{f.value or '-'}）")
                                        for f in fields or []]
