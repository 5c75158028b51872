from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext

from integration.models import LinkageLayout, LinkageSchedule
from integration.records_editor import RecordsEditor
from madoguchi.inputs import JSONFileField, JSONTextField

MAX_UPLOAD = 2 * 1024 * 1024 * 1024


class ImportUploadForm(forms.Form):
    layout = forms.ModelChoiceField(label=_lazy("レイアウト"), queryset=LinkageLayout.objects.none(), empty_label=None,
                                    help_text=_lazy("取り込むファイルの形式を選んでください。"))
    file = forms.FileField(label=_lazy("連携ファイル"),
                           help_text=_lazy("CSVまたは固定長のファイル。検証ですべての行を確認してから反映します。"))

    def __init__(self, *args: object, layouts: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if layouts is not None:
            self.fields["layout"].queryset = layouts


class LayoutFileForm(forms.Form):
    file = JSONFileField(label=_lazy("レイアウトファイル（JSON）"),
                           help_text=_lazy("エクスポートしたレイアウトと同じ形式です。"))


class GaijiUploadForm(forms.Form):
    file = forms.FileField(label=_lazy("外字変換表（CSV）"),
                           help_text=_lazy("見出し行「外字コード,UCS,MJ文字図形名,備考」。"
                                           "コードは U+E000 の形式、UTF-8。"))
    replace = forms.BooleanField(label=_lazy("既存の変換表を置き換える"), required=False)


class CodePointForm(forms.Form):
    text = forms.CharField(label=_lazy("文字"), max_length=50,
                           help_text=_lazy("コードを調べたい文字を入力してください。"))


class ScheduleForm(forms.Form):
    kind = forms.ChoiceField(label=_lazy("種類"), choices=LinkageSchedule.Kind.choices, widget=forms.RadioSelect)
    at_time = forms.TimeField(label=_lazy("実行時刻"), required=False, help_text=_lazy("夜間の場合。例: 02:00"),
                              widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
    every_minutes = forms.IntegerField(label=_lazy("間隔（分）"), required=False, min_value=1, max_value=1440,
                                       help_text=_lazy("一定間隔の場合。支援措置などの緊急ファイルは5分"))
    deadline_time = forms.TimeField(label=_lazy("完了期限"), required=False,
                                    help_text=_lazy("夜間処理は 08:00 までに完了（R7.4）"),
                                    widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
    is_active = forms.BooleanField(label=_lazy("有効"), required=False, initial=True)


# ---------------------------------------------------------------------------------------------
# Layout editor: the settings of one linkage file, its columns and its code tables, on one screen
# ---------------------------------------------------------------------------------------------
DELIMITERS = [(",", _lazy("カンマ（,）")), ("\t", _lazy("タブ")), ("|", _lazy("縦棒（|）")),
              (";", _lazy("セミコロン（;）"))]
OP_FIELDS = (("op_add", "add"), ("op_change", "change"), ("op_delete", "delete"))


def format_code_tables(tables: dict) -> str:
    """Code tables as the editor shows them: ``[name]`` then ``file value=stored value`` per line."""
    blocks = []
    for name, table in (tables or {}).items():
        blocks.append("\n".join([f"[{name}]", *(f"{code}={value}" for code, value in table.items())]))
    return "\n\n".join(blocks)


def parse_code_tables(text: str) -> dict[str, dict[str, str]]:
    """The editor's code-table text back to a dict; ValidationError naming every bad line."""
    tables: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    problems: list[str] = []
    last_problem = -1  # the line of the last problem: lines under a bad table name are not reported again
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        problem = ""
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1].strip()
            current = None
            if not name.replace("_", "").isalnum() or not name.isascii():
                problem = _("表の名前「%(name)s」は英数字と下線で書いてください") % {"name": name}
            elif name in tables:
                problem = _("表「%(name)s」が二度書かれています") % {"name": name}
            else:
                current = tables[name] = {}
        elif current is None:
            if last_problem != number - 1:
                problem = _("先に [表の名前] の行を書いてください")
            else:
                last_problem = number
        else:
            code, sep, value = line.partition("=")
            code, value = code.strip(), value.strip()
            if not sep or not code:  # (an empty value is allowed: 0= means "none" in a 支援措置区分 table)
                problem = _("「ファイルの値=取り込む値」の形で書いてください（%(line)s）") % {"line": line}
            elif code in current:
                problem = _("コード「%(code)s」が同じ表に二度あります") % {"code": code}
            else:
                current[code] = value
        if problem:
            problems.append(_("%(number)s行目: %(problem)s") % {"number": number, "problem": problem})
            last_problem = number
    if problems:
        raise forms.ValidationError(problems)
    return tables


class LayoutSettingsForm(forms.Form):
    key = forms.SlugField(label=_lazy("識別子"), max_length=64,
                          help_text=_lazy("英数字・ハイフン・下線。受信フォルダの名前にもなり、作成後は変更できません。"))
    name = forms.CharField(label=_lazy("名称"), max_length=100)
    description = forms.CharField(label=_lazy("説明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    format = forms.ChoiceField(label=_lazy("形式"), choices=LinkageLayout.Format.choices, widget=forms.RadioSelect)
    encoding = forms.ChoiceField(label=_lazy("文字コード"), choices=LinkageLayout.Encoding.choices,
                                 help_text=_lazy("Shift_JIS はベンダー拡張文字を含む CP932 として読みます。"))
    has_header = forms.BooleanField(label=_lazy("1行目は見出し行"), required=False)
    delimiter = forms.ChoiceField(label=_lazy("区切り文字（CSV）"), choices=DELIMITERS, required=False)
    record_length = forms.IntegerField(label=_lazy("レコード長（バイト、固定長）"), required=False, min_value=1,
                                       max_value=100_000, help_text=_lazy("改行を除いた1レコードのバイト数"))
    mode = forms.ChoiceField(label=_lazy("取込方式"), choices=LinkageLayout.Mode.choices, widget=forms.RadioSelect,
                             help_text=_lazy("全件はファイルの内容で置き換え、差分は処理区分に従って追加・変更・削除します。"))
    op_add = forms.CharField(label=_lazy("処理区分コード（追加）"), required=False, max_length=40,
                             help_text=_lazy("差分の場合。複数あるときは「,」で区切ります（例: A,1）"))
    op_change = forms.CharField(label=_lazy("処理区分コード（変更）"), required=False, max_length=40)
    op_delete = forms.CharField(label=_lazy("処理区分コード（削除）"), required=False, max_length=40)
    date_formats = forms.MultipleChoiceField(label=_lazy("日付形式"), widget=forms.CheckboxSelectMultiple,
                                             help_text=_lazy("日付の項目はこの順に試して読みます。"))
    code_tables = forms.CharField(
        label=_lazy("コード表"), required=False, widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=_lazy("[表の名前] の行に続けて「ファイルの値=取り込む値」を1行ずつ書きます"
                        "（例: [sex] の次に 1=1）。"))
    records = JSONTextField(
        label=_lazy("レコード種別とファイル検査（JSON）"), required=False, expected=dict, empty=dict,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=_lazy("上の項目と同じ内容をJSONで書いたものです（どちらを変更しても保存できます）。"
                        "ヘッダ・データ・トレーラのレコード区分、各レコードの項目、ファイル区分コードと検査"
                        "（municipality_code・record_count・file_kind・reference_date）。書き方は運用資料"
                        "「レコード種別」を参照してください。空欄はデータレコードだけのファイルです。"))
    method = forms.CharField(label=_lazy("連携方法"), max_length=100,
                             help_text=_lazy("データ連携の公開情報に載ります。"))
    is_active = forms.BooleanField(label=_lazy("有効"), required=False)

    def __init__(self, *args: object, creating: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        from integration.dates import FORMAT_LABELS

        self.fields["date_formats"].choices = list(FORMAT_LABELS.items())
        if not creating:
            self.fields["key"].disabled = True

    def clean_code_tables(self) -> dict[str, dict[str, str]]:
        return parse_code_tables(self.cleaned_data.get("code_tables", ""))

    def clean(self) -> dict:
        data = super().clean()
        op_codes: dict[str, str] = {}
        for name, op in OP_FIELDS:
            for code in (c.strip() for c in (data.get(name) or "").split(",")):
                if not code:
                    continue
                if code in op_codes:
                    self.add_error(name, _("コード「%(code)s」は別の処理区分にも指定されています") % {"code": code})
                op_codes[code] = op
        data["op_codes"] = op_codes
        return data


CHARS = [("", _lazy("制限なし")), ("fullwidth", _lazy("全角のみ")), ("halfwidth", _lazy("半角のみ")),
         ("digits", _lazy("数字のみ")), ("kana", _lazy("カタカナのみ"))]


class LayoutColumnForm(forms.Form):
    label = forms.CharField(label=_lazy("見出し・名称"), max_length=100, required=False)
    field = forms.ChoiceField(label=_lazy("取り込む項目"), required=False)
    start = forms.IntegerField(label=_lazy("開始位置"), required=False, min_value=1, max_value=100_000)
    length = forms.IntegerField(label=_lazy("長さ"), required=False, min_value=1, max_value=100_000)
    required = forms.BooleanField(label=_lazy("必須"), required=False)
    chars = forms.ChoiceField(label=_lazy("文字種"), required=False, choices=CHARS)
    none_values = forms.CharField(label=_lazy("未設定を表す値"), required=False, max_length=100,
                                  help_text=_lazy("例: 0000000（複数は「,」で区切る）"))
    exists_in = forms.BooleanField(label=_lazy("住民記録にあること"), required=False)
    allow_formula = forms.BooleanField(label=_lazy("先頭の = + - @ を許す"), required=False)

    def __init__(self, *args: object, field_choices: list[tuple[str, str]] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", _("（選んでください）")), *field_choices]

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not data.get("field") and not data.get("label")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("label") and not data.get("field"):
            self.add_error("field", _("取り込む項目を選んでください（取り込まない列は「（未使用）」）"))
        return data


LayoutColumnFormSet = forms.formset_factory(LayoutColumnForm, extra=3, can_delete=True, can_order=True,
                                            max_num=200, validate_max=True)


class LayoutEditor:
    """The settings form and the column formset of one layout, and the settings dict they make.

    ``target`` is fixed for the editor (chosen before: a new layout for a target, or a copy of a layout);
    the column choices are that target's fields. Checking the layout as a whole (required fields, key,
    fixed-width positions, code values) is the service's job (``services.layout_save``).
    """

    def __init__(self, *, target: object, data: object = None, layout: LinkageLayout | None = None,
                 creating: bool = True, copy_of: LinkageLayout | None = None) -> None:
        self.target, self.creating = target, creating
        source = layout or copy_of
        initial = self.initial_for(source) if source else self.initial_new()
        if copy_of is not None:
            initial.update(key=f"{copy_of.key}_copy", name=_("%(name)s（複製）") % {"name": copy_of.name},
                           is_active=True)
        self.options = dict(source.options or {}) if source else {}
        self.settings = LayoutSettingsForm(data, initial=initial, creating=creating, prefix="layout")
        # The layout's date formats first, in its order (they are tried in order: a browser posts the boxes in
        # the page's order, so an unchanged save keeps the order only if the page shows it).
        chosen = list(initial.get("date_formats") or [])
        formats = self.settings.fields["date_formats"]
        formats.choices = sorted(formats.choices, key=lambda c: chosen.index(c[0]) if c[0] in chosen else len(chosen))
        if target.layout_keys:  # the target offers more than one key: the layout declares which the file uses
            self.settings.fields["key_fields"] = forms.ChoiceField(
                label=_("キー項目"), choices=[(",".join(key), self._key_text(key)) for key in target.key_choices],
                initial=",".join(self._key_of(source)),
                help_text=_("ファイルが1件を何で識別するか。期間のキーがないファイル（宛名番号ごとに1件）は"
                            "「宛名番号」を選びます"))
        choices = [(spec.name, spec.label) for spec in (*target.fields, *target_common_fields())]
        if target.allow_details:  # 詳細 (details.*) columns the layout has: opened and saved unchanged
            names = sorted({c.get("field", "") for c in (source.columns if source else []) or []
                            if c.get("field", "").startswith("details.")})
            if data is not None:
                names += sorted({v for k, v in data.items() if k.startswith("col-") and k.endswith("-field")
                                 and str(v).startswith("details.")} - set(names))
            choices += [(name, _("詳細: %(name)s") % {"name": name[8:]}) for name in names]
        # Initial rows only for the page as first shown: a bound formset compares the posted rows with its
        # initial ones and would drop every row the admin left unchanged.
        rows = None if data is not None else (self.column_initial(source) if source else self.column_initial_new())
        self.columns = LayoutColumnFormSet(data, initial=rows, prefix="col", form_kwargs={"field_choices": choices})
        # Record kinds and file checks as fields, the JSON box (settings' ``records``) as their advanced view.
        self.records = RecordsEditor(data=data, records=source.records if source else {},
                                     options=self.options, fixed=bool(source and source.format == "fixed"),
                                     encoding=source.encoding if source else "utf-8")
        self.errors: list[str] = []

    def _key_text(self, key: tuple[str, ...]) -> str:
        return pgettext("separator", "・").join(self.target.field(name).label for name in key)

    def _key_of(self, source: LinkageLayout | None) -> tuple[str, ...]:
        """The key a layout declares, if its target offers it; else the target's own."""
        try:
            return self.target.keyed(source.key_fields if source else None).key_columns
        except ValueError:
            return self.target.key_columns

    @property
    def key_labels(self) -> str:
        return self._key_text(self.target.key_columns)

    @property
    def code_table_rows(self) -> list[dict]:
        """The code tables as a readable table (code → meaning), from what the form holds now."""
        from integration import labels

        tables = {}
        if self.settings.is_bound:
            if self.settings.is_valid() or "code_tables" in getattr(self.settings, "cleaned_data", {}):
                tables = self.settings.cleaned_data.get("code_tables") or {}
        else:
            try:
                tables = parse_code_tables(self.settings.initial.get("code_tables") or "")
            except forms.ValidationError:
                tables = {}
        return labels.code_tables(self.target, tables)

    def initial_new(self) -> dict:
        return {"format": LinkageLayout.Format.CSV, "encoding": LinkageLayout.Encoding.UTF8, "has_header": True,
                "delimiter": ",", "mode": LinkageLayout.Mode.FULL, "date_formats": ["yyyymmdd"],
                "method": LinkageLayout._meta.get_field("method").default, "is_active": True}

    def initial_for(self, layout: LinkageLayout) -> dict:
        initial = {name: getattr(layout, name) for name in (
            "key", "name", "description", "format", "encoding", "has_header", "delimiter", "record_length",
            "mode", "date_formats", "method", "is_active")}
        for name, op in OP_FIELDS:
            initial[name] = ",".join(code for code, value in (layout.op_codes or {}).items() if value == op)
        initial["code_tables"] = format_code_tables(layout.code_tables)
        initial["records"] = json.dumps(layout.records, ensure_ascii=False, indent=1) if layout.records else ""
        return initial

    def column_initial(self, layout: LinkageLayout) -> list[dict]:
        return [{"label": c.get("label", ""), "field": c.get("field", ""), "start": c.get("start"),
                 "length": c.get("length"), "required": bool(c.get("required")), "ORDER": i,
                 "chars": c.get("chars", ""), "none_values": ",".join(c.get("none_values") or []),
                 "exists_in": c.get("exists_in") == "residents", "allow_formula": bool(c.get("allow_formula"))}
                for i, c in enumerate(layout.columns or [], start=1)]

    def column_initial_new(self) -> list[dict]:
        return [{"label": self.target.field(name).default_header, "field": name, "required": True, "ORDER": i}
                for i, name in enumerate(self.target.required, start=1)]

    def is_valid(self) -> bool:
        valid = self.settings.is_valid() & self.columns.is_valid()
        settings = self.settings.cleaned_data
        fixed = settings.get("format", self.settings.data.get("layout-format")) == LinkageLayout.Format.FIXED
        self.records.form.encoding = settings.get("encoding") or "utf-8"
        context = {"record_length": settings.get("record_length") if fixed else None,
                   "has_header": bool(settings.get("has_header")),
                   "op_codes": settings.get("op_codes") if not self.settings.has_error("op_add") else None,
                   "data_columns": self.data_columns(fixed=fixed) if self.columns.is_valid() else None}
        valid &= self.records.decide(json_value=settings.get("records"), json_valid="records" in settings,
                                     fixed=fixed, context=context)
        if self.records.json_text is not None:  # the JSON view shows what the fields composed
            self.settings.data = self.settings.data.copy()
            self.settings.data[self.settings.add_prefix("records")] = self.records.json_text
        return valid

    def data_columns(self, *, fixed: bool) -> list[dict]:
        """The data record's columns as the layout stores them (after the column rows were cleaned)."""
        columns = []
        for form in self.columns.ordered_forms:
            if form.is_blank:
                continue
            column = {"field": form.cleaned_data["field"], "label": form.cleaned_data["label"],
                      "required": form.cleaned_data["required"]}
            if fixed:
                column.update(start=form.cleaned_data["start"], length=form.cleaned_data["length"])
            cleaned = form.cleaned_data
            if cleaned.get("chars"):
                column["chars"] = cleaned["chars"]
            nones = [v.strip() for v in (cleaned.get("none_values") or "").split(",") if v.strip()]
            if nones:
                column["none_values"] = nones
            if cleaned.get("exists_in"):
                column["exists_in"] = "residents"
            if cleaned.get("allow_formula"):
                column["allow_formula"] = True
            columns.append(column)
        return columns

    def to_data(self) -> dict:
        """The layout settings (the JSON file's shape, without the schedule, which its own form edits)."""
        settings = self.settings.cleaned_data
        fixed = settings["format"] == LinkageLayout.Format.FIXED
        columns = self.data_columns(fixed=fixed)
        data = {name: settings[name] for name in (
            "name", "description", "format", "encoding", "has_header", "mode", "date_formats", "method",
            "is_active", "op_codes", "code_tables")}
        data["records"] = self.records.records or {}
        if self.creating:
            data["key"] = settings["key"]
        data.update(target=self.target.key, direction=LinkageLayout.Direction.IN, columns=columns,
                    key_fields=(settings["key_fields"].split(",") if settings.get("key_fields")
                                else list(self.target.key_columns)), options=self.records.options,
                    delimiter="" if fixed else (settings.get("delimiter") or ","),
                    record_length=settings.get("record_length") if fixed else None)
        if data["mode"] == LinkageLayout.Mode.FULL and not (data["records"] or {}).get("file_kinds"):
            data["op_codes"] = {}  # (a layout whose header gives the file kind keeps its codes for delta files)
        return data

    def add_errors(self, exc: forms.ValidationError) -> None:
        """Errors of the service: settings fields on their field, the rest at the top of the editor."""
        for name, messages in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
            if name in self.settings.fields and not self.settings.fields[name].disabled:
                self.settings.add_error(name, messages)
            elif name in ("op_codes",):
                self.settings.add_error("op_add", messages)
            else:
                self.errors.extend(messages)


def target_common_fields() -> tuple:
    from integration.targets import COMMON

    return COMMON
