"""Catalogue editor screens for municipal admins (thin: forms → services; permission in services)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods, require_POST

from navigation import forms as nav_forms
from navigation import selectors, services
from navigation.determination import AREA_LABELS, CatalogueInvalid
from navigation.facts import HOUSEHOLD_VARS, OTHER_VARS, PERSON_VARS
from navigation.models import LifeEvent, Procedure, Question, Rule

SECTIONS: dict[str, dict[str, Any]] = {
    "events": {"model": LifeEvent, "form": nav_forms.EventForm, "title": _lazy("異動事由（ライフイベント）"),
               "serialise": selectors.event_dict},
    "procedures": {"model": Procedure, "form": nav_forms.ProcedureForm, "title": _lazy("手続"),
                   "serialise": selectors.procedure_dict},
    "questions": {"model": Question, "form": nav_forms.QuestionForm, "title": _lazy("質問"),
                  "serialise": selectors.question_dict},
    "rules": {"model": Rule, "form": nav_forms.RuleForm, "title": _lazy("判定ルール"),
              "serialise": selectors.rule_dict},
}


def _section(name: str) -> dict[str, Any]:
    if name not in SECTIONS:
        raise Http404
    return SECTIONS[name]


def _admin(request: HttpRequest) -> None:
    selectors.require_admin(request.user)


def _queryset(section: str) -> Any:
    areas = selectors.municipality_areas()
    model = SECTIONS[section]["model"]
    if section == "procedures":
        return model.objects.filter(area__in=areas)
    if section == "rules":
        return model.objects.filter(procedure__area__in=areas).select_related("procedure")
    return model.objects.all()


def _form(section: str, *args: Any, **kwargs: Any) -> Any:
    cls = SECTIONS[section]["form"]
    if section in ("procedures", "rules"):
        kwargs["areas"] = selectors.municipality_areas()
    return cls(*args, **kwargs)


def _try_form(data: Any = None) -> nav_forms.TryForm:
    events = list(LifeEvent.objects.values_list("code", "name"))
    return nav_forms.TryForm(data, prefix="try", events=events, initial={"on": date.today(), "events": [events[0][0]]
                                                           if events else []})


def _home(request: HttpRequest, *, import_form: nav_forms.ImportForm | None = None, status: int = 200) -> HttpResponse:
    context = {
        "status": selectors.catalogue_draft_status(), "versions": selectors.catalogue_versions(),
        "publish_form": nav_forms.PublishForm(initial={"effective_from": date.today()}),
        "import_form": import_form or nav_forms.ImportForm(), "try_form": _try_form(), "sections": SECTIONS,
        "current": selectors.catalogue_version_current(on=date.today()),
        "vocabulary": selectors.rule_vocabulary(),
        "counter_rows": selectors.counter_mapping_rows(), "counters": selectors.active_counters(),
    }
    return render(request, "navigation/admin_home.html", context, status=status)


@login_required
def catalogue_home(request: HttpRequest) -> HttpResponse:
    _admin(request)
    return _home(request)


@login_required
@require_POST
def counter_mapping(request: HttpRequest) -> HttpResponse:
    """Map one catalogue counter name to one of the municipality's counters."""
    _admin(request)
    counters = {str(c.pk): c for c in selectors.active_counters()}
    name = request.POST.get("catalogue_counter", "")
    try:
        services.counter_mapping_set(actor=request.user, catalogue_counter=name,
                                     counter=counters.get(request.POST.get("counter", "")))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("担当窓口「%(name)s」の対応を保存しました。") % {"name": name})
    return redirect("navigation:admin_home")


@login_required
def item_list(request: HttpRequest, section: str) -> HttpResponse:
    _admin(request)
    info = _section(section)
    status = selectors.catalogue_draft_status()
    modified = {code for sec, code, _name in status.modified if sec == section}
    local = {code for sec, code, _name in status.local if sec == section}
    rows = []
    for item in _queryset(section):
        data = info["serialise"](item)
        rows.append({"pk": item.pk, "code": item.code,
                     "label": data.get("name") or data.get("text") or data.get("reason"),
                     "extra": AREA_LABELS.get(data.get("area", ""), "") or data.get("procedure", ""),
                     "state": _("独自") if item.code in local else (_("変更あり") if item.code in modified
                                                                    else _("標準のまま"))})
    hidden = SECTIONS[section]["model"].objects.count() - len(rows)
    return render(request, "navigation/admin_list.html",
                  {"section": section, "info": info, "rows": rows, "hidden": hidden, "sections": SECTIONS})


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, section: str, pk: int | None = None) -> HttpResponse:
    _admin(request)
    info = _section(section)
    instance = get_object_or_404(_queryset(section), pk=pk) if pk is not None else None
    if request.method == "POST":
        form = _form(section, request.POST)
        if form.is_valid():
            try:
                saved = services.catalogue_item_save(actor=request.user, section=section, data=form.item(),
                                                     instance=instance)
            except ValidationError as exc:
                for field_name, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                    form.add_error(field_name if field_name in form.fields else None, errors)
            else:
                messages.success(request, _("「%(code)s」を下書きに保存しました。公開するまで窓口には反映されません。")
                                 % {"code": saved.code})
                return redirect("navigation:admin_edit", section=section, pk=saved.pk)
    else:
        initial = info["form"].initial_from(info["serialise"](instance)) if instance is not None else None
        form = _form(section, initial=initial)
    context = {"section": section, "info": info, "form": form, "instance": instance, "sections": SECTIONS}
    if section == "rules":
        context.update({"try_form": _try_form(), "person_vars": PERSON_VARS, "household_vars": HOUSEHOLD_VARS,
                        "other_vars": OTHER_VARS, "questions": Question.objects.all(),
                        "events": LifeEvent.objects.all(), "vocabulary": selectors.rule_vocabulary()})
    return render(request, "navigation/admin_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def item_delete(request: HttpRequest, section: str, pk: int) -> HttpResponse:
    _admin(request)
    _section(section)
    instance = get_object_or_404(_queryset(section), pk=pk)
    try:
        services.catalogue_item_delete(actor=request.user, section=section, instance=instance)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("navigation:admin_edit", section=section, pk=pk)
    messages.success(request, _("「%(code)s」を下書きから削除しました。") % {"code": instance.code})
    return redirect("navigation:admin_list", section=section)


@login_required
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    """Publishing in two steps: the difference from the version in force, then the confirmation."""
    _admin(request)
    form = nav_forms.PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("適用開始日を正しく入力してください。"))
        return redirect("navigation:admin_home")
    if request.POST.get("confirm") != "1":
        diff = selectors.catalogue_publish_diff(actor=request.user)
        if diff.unchanged:
            messages.error(request, _("下書きは公開中の版から変わっていません。変更してから公開してください。"))
            return redirect("navigation:admin_home")
        return render(request, "navigation/admin_publish_confirm.html",
                      {"form": form, "diff": diff, "effective_from": form.cleaned_data["effective_from"],
                       "note": form.cleaned_data["note"]})
    try:
        version = services.catalogue_publish(actor=request.user, **form.cleaned_data)
    except CatalogueInvalid as exc:
        messages.error(request, _("下書きに誤りがあるため公開できません：%(p)s") % {"p": " / ".join(exc.problems[:10])})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("第%(n)d版を公開しました（適用開始日 %(d)s）。")
                         % {"n": version.number, "d": version.effective_from.isoformat()})
    return redirect("navigation:admin_home")


@login_required
@require_POST
def install_default(request: HttpRequest) -> HttpResponse:
    _admin(request)
    report = services.catalogue_install_default(actor=request.user, publish=False)
    messages.success(request, _("標準カタログ %(r)s を下書きに取り込みました：追加 %(a)d、更新 %(u)d、"
                                "自治体の変更を保持 %(k)d、独自項目を保持 %(l)d。公開すると窓口に反映されます。")
                     % {"r": report.release, "a": len(report.added), "u": len(report.updated),
                        "k": len(report.kept_modified), "l": len(report.kept_local)})
    return redirect("navigation:admin_home")


@login_required
def export(request: HttpRequest) -> HttpResponse:
    data = services.catalogue_export(actor=request.user)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=1), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="catalogue.json"'
    return response


@login_required
@require_POST
def import_view(request: HttpRequest) -> HttpResponse:
    _admin(request)
    form = nav_forms.ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _home(request, import_form=form, status=400)
    try:
        result = services.catalogue_import(actor=request.user, data=form.cleaned_data["file"])
    except CatalogueInvalid as exc:
        form.add_error("file", _("取り込めません（何も変更していません）：%(p)s")
                       % {"p": " / ".join(exc.problems[:10])})
        return _home(request, import_form=form, status=400)
    else:
        messages.success(request, _("取り込みました：新規 %(c)d、更新 %(u)d、削除 %(d)d。")
                         % {"c": len(result["created"]), "u": len(result["updated"]), "d": len(result["deleted"])})
    return redirect("navigation:admin_home")


@login_required
@require_POST
def try_it(request: HttpRequest) -> HttpResponse:
    """The "try it" panel (htmx): runs the draft — and the rule being edited — on a sample household."""
    if not getattr(request.user, "is_municipal_admin", False):
        raise PermissionDenied
    form = _try_form(request.POST)
    rule_form = nav_forms.TryRuleForm(request.POST)
    context: dict[str, Any] = {"forms": [form, rule_form]}
    if form.is_valid() & rule_form.is_valid():
        result = services.catalogue_try(
            actor=request.user, events=form.cleaned_data["events"], on=form.cleaned_data["on"],
            persons=form.cleaned_data["persons"], household_no=form.cleaned_data["household_no"].strip(),
            answers=form.cleaned_data["answers"], condition=rule_form.cleaned_data["condition"],
            rule_scope=rule_form.cleaned_data["scope"] or "person")
        context["result"] = result
    # 422: the panel still shows the messages (base.html lets htmx swap a 422 in).
    return render(request, "navigation/_try_result.html", context,
                  status=422 if form.errors or rule_form.errors else 200)
