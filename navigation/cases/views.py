"""Counter screens: home (queue + search), case, person view, memos. Thin: validate, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integration import selectors as integration_selectors
from integration.search import person_search
from navigation.cases import handback, navi, selectors, services
from navigation.cases.forms import (
    AnswersForm,
    CloseForm,
    CorrectionForm,
    EventsForm,
    HandoffForm,
    MemoForm,
    NewcomerForm,
    ProcedureStatusForm,
    SearchForm,
)
from navigation.cases.grouping import HouseholdAct
from navigation.cases.models import Case, CasePerson, CaseProcedure, QueueState


def _messages_from(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, ValidationError):
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.error(request, str(exc) or _("この操作は許可されていません。"))


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    try:
        return selectors.case_get(actor=request.user, case_id=pk)
    except Case.DoesNotExist as exc:
        raise Http404 from exc


def _to_case(pk: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("navigation:cases:case", args=[pk]) + (f"#{anchor}" if anchor else ""))


# ---------------------------------------------------------------------------------------------
# Home, queue, search
# ---------------------------------------------------------------------------------------------
@login_required
@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    rows = selectors.case_queue(actor=request.user, counter=request.counter)
    return render(request, "cases/home.html", {"rows": rows, "form": SearchForm(), "newcomer_form": NewcomerForm()})


@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    """The queue fragment htmx polls every 5 seconds."""
    rows = selectors.case_queue(actor=request.user, counter=request.counter)
    return render(request, "cases/_queue.html", {"rows": rows})


def _newcomer_from_search(request: HttpRequest) -> NewcomerForm:
    """The newcomer form, filled with the name and birth date already typed into the search."""
    import re

    name = (request.GET.get("q") or "").strip()
    kana_only = bool(name) and re.fullmatch(r"[\u30a0-\u30ff\uff66-\uff9f\s　]+", name) is not None
    return NewcomerForm(initial={"name": "" if kana_only else name, "name_kana": name if kana_only else "",
                                 "birth_date": (request.GET.get("birth") or "").strip()})


@login_required
@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    results, memos, error = [], {}, ""
    if form.has_criteria and form.is_valid():
        data = form.cleaned_data
        try:
            results = person_search(
                actor=request.user,
                query=data["q"],
                birth_date=data["birth"],
                address=data["address"],
                atena_no=data["atena_no"],
                include_departed=data["departed"],
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            memos = selectors.memos_for_persons(actor=request.user, atena_nos=[p.atena_no for p in results])
    rows = [{"person": p, "memos": memos.get(p.atena_no, [])} for p in results]
    truncated = getattr(results, "truncated", False)
    return render(
        request,
        "cases/search.html",
        {
            "form": form,
            "rows": rows,
            "error": error,
            "searched": form.has_criteria and form.is_bound,
            # Submitted (its fields are in the query) with nothing in them: say what to type.
            "newcomer_form": _newcomer_from_search(request),
            "empty_search": not form.has_criteria and any(k in request.GET for k in ("q", "birth", "address",
                                                                                       "atena_no")),
            "truncated": truncated,
        },
    )


@login_required
@require_POST
def case_new_view(request: HttpRequest) -> HttpResponse:
    atena_nos = request.POST.getlist("atena_no")
    if not atena_nos:
        messages.error(request, _("受付する人を選んでください。"))
        return redirect("navigation:cases:search")
    try:
        case = services.case_open(actor=request.user, counter=request.counter, atena_nos=atena_nos)
    except (ValidationError, PermissionDenied) as exc:
        _messages_from(request, exc)
        return redirect("navigation:cases:home")
    messages.success(request, _("受付 %(label)s を開始しました。") % {"label": case.label})
    return _to_case(case.pk)


@login_required
@require_POST
def case_new_newcomer_view(request: HttpRequest) -> HttpResponse:
    """A case for someone not in the mirror yet (転入者 etc.). A refusal keeps every typed value; a newcomer
    already in an open case is asked about first."""
    form = NewcomerForm(request.POST)

    def again(status: int, **extra: object) -> HttpResponse:
        rows = selectors.case_queue(actor=request.user, counter=request.counter)
        return render(request, "cases/home.html", {"rows": rows, "form": SearchForm(), "newcomer_form": form,
                                                   "newcomer_open": True, **extra}, status=status)

    if not form.is_valid():
        return again(400)
    if request.POST.get("confirm_duplicate") != "1":
        duplicate = selectors.newcomer_duplicate(actor=request.user, name=form.cleaned_data["name"],
                                                 birth_date=form.cleaned_data["birth_date"])
        if duplicate:
            return again(200, newcomer_duplicate=duplicate)
    try:
        case = services.case_open(actor=request.user, counter=request.counter, newcomers=[form.cleaned_data])
    except (ValidationError, PermissionDenied) as exc:
        _messages_from(request, exc)
        return again(400)
    messages.success(request, _("受付 %(label)s を開始しました。") % {"label": case.label})
    return _to_case(case.pk)


# ---------------------------------------------------------------------------------------------
# Case screen
# ---------------------------------------------------------------------------------------------
@login_required
@require_GET
def case_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_page(request, pk)


def _case_page(request: HttpRequest, pk: int, extra: dict | None = None) -> HttpResponse:
    _case_or_404(request, pk)
    detail = selectors.case_detail(actor=request.user, case_id=pk)
    case = detail.case
    persons = [row.person for row in detail.persons]
    navi_error = ""
    try:
        event_choices = navi.life_events(case=case)
        questions = navi.interview_questions(case=case, persons=persons)
        answer_rows = navi.answer_rows(case=case, persons=persons)
    except navi.NavigationUnavailable as exc:
        event_choices, questions, answer_rows, navi_error = [], [], [], str(exc)
    here = request.counter is not None and case.current_counter_id == request.counter.pk and case.is_open
    can_edit = here and case.queue_state == QueueState.SERVING
    unresolved = services.unresolved_procedures(case=case)
    counter_open = selectors.procedures_open_at(detail=detail, counter=request.counter)
    step = selectors.case_next_step(
        case=case, counter=request.counter, can_edit=can_edit,
        can_resume=here and case.queue_state == QueueState.WAITING, questions=bool(questions),
        unresolved=unresolved, counter_open=counter_open)
    handoff_counters = selectors.counters_for_handoff(case=case)
    elsewhere = next((p.counter_id for p in unresolved
                      if p.counter_id and p.counter_id != getattr(request.counter, "pk", None)), None)
    context = {
        "detail": detail,
        "case": case,
        "navi_error": navi_error,
        "can_edit": can_edit,
        "can_resume": here and case.queue_state == QueueState.WAITING,
        "next_step": step,
        # The newcomer form stays open while a family of newcomers is being entered (before any event).
        "newcomers_only": not case.events and all(row.person.is_newcomer for row in detail.persons),
        "events_form": EventsForm(
            choices=event_choices, initial={"events": case.events, "event_date": case.event_date}
        ),
        "event_labels": dict(event_choices),
        "answer_rows": answer_rows,
        "answers_form": AnswersForm(questions=questions, answers=navi.answers_flat(case.answers or {})),
        "newcomer_form": NewcomerForm(),
        # Preselected: the counter in charge of the first procedure still open elsewhere.
        "handoff_form": HandoffForm(counters=handoff_counters,
                                    initial={"to_counter": elsewhere} if elsewhere else None),
        "close_form": CloseForm(),
        "memo_form": MemoForm(),
        "status_form": ProcedureStatusForm(),
        "unresolved": unresolved,
        "search_form": SearchForm(),
        "handback": handback.handback_summary_rows(case=case) if not case.is_open else None,
        "may_correct": not case.is_open and bool(case.handback) and handback.may_correct(actor=request.user,
                                                                                         case=case),
        "counter_open": counter_open,
        **(extra or {}),
    }
    return render(request, "cases/case.html", context)


def _case_post(request: HttpRequest, pk: int, action, anchor: str = "") -> HttpResponse:  # noqa: ANN001
    case = _case_or_404(request, pk)
    try:
        text = action(case)
    except (ValidationError, PermissionDenied) as exc:
        _messages_from(request, exc)
    except navi.NavigationUnavailable as exc:
        messages.error(request, str(exc))
    else:
        if text:
            messages.success(request, text)
    return _to_case(pk, anchor)


@login_required
@require_POST
def case_person_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(case: Case) -> str:
        person = services.case_person_add(
            actor=request.user, counter=request.counter, case=case, atena_no=request.POST.get("atena_no", "")
        )
        return _("%(name)s さんを追加しました。") % {"name": person.name}

    return _case_post(request, pk, act, "persons")


@login_required
@require_POST
def case_newcomer_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a newcomer to the case. A refusal keeps every typed value on the case page; the same newcomer
    twice is asked about first."""
    form = NewcomerForm(request.POST)
    case = _case_or_404(request, pk)
    if not form.is_valid():
        return _case_page(request, pk, {"newcomer_form": form, "newcomer_open": True})
    if request.POST.get("confirm_duplicate") != "1":
        duplicate = selectors.newcomer_duplicate(actor=request.user, name=form.cleaned_data["name"],
                                                 birth_date=form.cleaned_data["birth_date"], case=case)
        if duplicate:
            return _case_page(request, pk, {"newcomer_form": form, "newcomer_open": True,
                                            "newcomer_duplicate": duplicate})

    def act(case: Case) -> str:
        person = services.case_newcomer_add(actor=request.user, counter=request.counter, case=case, **form.cleaned_data)
        return _("%(name)s さんを追加しました。") % {"name": person.name}

    return _case_post(request, pk, act, "persons")


@login_required
@require_POST
def case_person_remove_view(request: HttpRequest, pk: int, person_pk: int) -> HttpResponse:
    def act(case: Case) -> str:
        person = get_object_or_404(CasePerson, pk=person_pk, case=case)
        services.case_person_remove(actor=request.user, counter=request.counter, case=case, person=person)
        return _("%(name)s さんを受付から外しました。") % {"name": person.name}

    return _case_post(request, pk, act, "persons")


@login_required
@require_POST
def case_person_subject_view(request: HttpRequest, pk: int, person_pk: int) -> HttpResponse:
    def act(case: Case) -> str:
        person = get_object_or_404(CasePerson, pk=person_pk, case=case)
        subject = request.POST.get("subject") == "1"
        services.case_person_set_subject(
            actor=request.user, counter=request.counter, case=case, person=person, subject=subject
        )
        if subject:
            return _("%(name)s さんを届出・事由の対象者にしました。") % {"name": person.name}
        return _("%(name)s さんを対象者から外しました（世帯員として判定します）。") % {"name": person.name}

    return _case_post(request, pk, act, "persons")


@login_required
@require_POST
def case_events_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(case: Case) -> str:
        form = EventsForm(request.POST, choices=navi.life_events(case=case))
        if not form.is_valid():
            raise ValidationError([f"{form.fields[f].label}：{' '.join(e)}" for f, e in form.errors.items()])
        services.case_events_set(
            actor=request.user,
            counter=request.counter,
            case=case,
            events=form.cleaned_data["events"],
            event_date=form.cleaned_data["event_date"],
        )
        return _("ライフイベントを保存し、手続を判定しました。")

    return _case_post(request, pk, act, "interview")


@login_required
@require_POST
def case_answers_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(case: Case) -> str:
        answers = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
        services.case_answers_update(actor=request.user, counter=request.counter, case=case, answers=answers)
        return _("回答を保存し、手続を判定しました。")

    return _case_post(request, pk, act, "interview")


@login_required
@require_POST
def case_procedure_view(request: HttpRequest, pk: int, proc_pk: int) -> HttpResponse:
    """One procedure's status. From htmx (the select changed) the answer is the row itself, with the message
    beside it; without JavaScript, the case page again."""
    if request.headers.get("HX-Request") != "true":
        def act(case: Case) -> str:
            return _procedure_set(request, case, proc_pk)

        return _case_post(request, pk, act, f"proc-{proc_pk}")
    case = _case_or_404(request, pk)
    # One read of the row (with what it shows); the service saves this same instance.
    procedure = get_object_or_404(CaseProcedure.objects.select_related("counter", "department"), pk=proc_pk,
                                  case=case)
    procedure.case = case  # already read: the service locks it without reading it twice
    context = {"case": case, "proc": procedure, "status_form": ProcedureStatusForm(), "can_edit": True}
    group = _group_ids(request, proc_pk)
    try:
        context["proc_message"] = _procedure_set(request, case, proc_pk, procedure=procedure)
    except (ValidationError, PermissionDenied) as exc:
        context["proc_error"] = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        context["submitted_status"] = request.POST.get("status", "")
        context["submitted_reason"] = request.POST.get("reason", "")
        context["can_edit"] = not isinstance(exc, PermissionDenied)
    if group:
        context["act"] = _household_act(case, group)
        context["proc"] = context["act"].proc if context["act"].procedures else procedure
    return render(request, "cases/_procedure_row.html", context)


def _group_ids(request: HttpRequest, proc_pk: int) -> list[int]:
    """The rows of a household act posted with its form (``group``), the row itself included."""
    ids = [int(v) for v in request.POST.getlist("group") if v.isdigit()]
    return ids if proc_pk in ids and len(ids) > 1 else []


def _household_act(case: Case, ids: list[int]) -> HouseholdAct:
    return HouseholdAct(procedures=list(case.procedures.filter(pk__in=ids).select_related(
        "counter", "department", "person").order_by("sort_order", "pk")))


def _procedure_set(request: HttpRequest, case: Case, proc_pk: int, *, procedure: CaseProcedure | None = None) -> str:
    procedure = procedure or get_object_or_404(CaseProcedure, pk=proc_pk, case=case)
    form = ProcedureStatusForm(request.POST)
    if not form.is_valid():
        raise ValidationError([f"{form.fields[f].label}：{' '.join(e)}" for f, e in form.errors.items()])
    group = _group_ids(request, proc_pk)
    if group:
        changed = services.case_household_act_set_status(
            actor=request.user, counter=request.counter, case=case, procedure_ids=group,
            status=form.cleaned_data["status"], reason=form.cleaned_data["reason"],
            to_counter=form.cleaned_data["to_counter"])
        return _("「%(name)s」（%(n)d 人分）を「%(status)s」にしました。") % {
            "name": changed[0].name, "n": len(changed), "status": changed[0].get_status_display()}
    procedure = services.case_procedure_set_status(
        actor=request.user,
        counter=request.counter,
        procedure=procedure,
        status=form.cleaned_data["status"],
        reason=form.cleaned_data["reason"],
        to_counter=form.cleaned_data["to_counter"],
    )
    return _("「%(name)s」を「%(status)s」にしました。") % {
        "name": procedure.name,
        "status": procedure.get_status_display(),
    }


@login_required
@require_POST
def case_procedures_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark every open procedure of one person, or of this counter, 完了 in one action."""
    case = _case_or_404(request, pk)
    person_id = request.POST.get("person") or None
    try:
        done = services.case_procedures_complete(
            actor=request.user, counter=request.counter, case=case,
            person_id=int(person_id) if person_id and person_id.isdigit() else None,
            only_this_counter=request.POST.get("scope") == "counter",
        )
    except (ValidationError, PermissionDenied) as exc:
        text, ok = (" ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)), False
    else:
        text, ok = _("%(n)d 件の手続を「完了」にしました。") % {"n": len(done)}, True
    if request.headers.get("HX-Request") == "true":
        # htmx takes the persons section of the page (hx-select), with the message inside it.
        return _case_page(request, pk, {"persons_message": text, "persons_message_ok": ok})
    (messages.success if ok else messages.error)(request, text)
    return _to_case(pk, "persons")


@login_required
@require_POST
def case_handoff_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    form = HandoffForm(request.POST, counters=selectors.counters_for_handoff(case=case))
    try:
        if not form.is_valid():
            raise ValidationError([f"{form.fields[f].label}：{' '.join(e)}" for f, e in form.errors.items()])
        handoff = services.case_handoff(
            actor=request.user,
            counter=request.counter,
            case=case,
            to_counter=form.cleaned_data["to_counter"],
            note=form.cleaned_data["note"],
        )
    except (ValidationError, PermissionDenied) as exc:
        _messages_from(request, exc)
        return _to_case(pk, "handoff")
    messages.success(
        request,
        _("受付 %(label)s を「%(counter)s」に引き継ぎました。")
        % {"label": case.label, "counter": handoff.to_counter.name},
    )
    return redirect("navigation:cases:home")


@login_required
@require_POST
def case_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(case: Case) -> str:
        services.case_resume(actor=request.user, counter=request.counter, case=case)
        return _("受付 %(label)s を再開しました。") % {"label": case.label}

    return _case_post(request, pk, act)


@login_required
@require_POST
def case_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Closing in two steps: a summary of what the case did (and what it did not), then the confirmation."""
    case = _case_or_404(request, pk)
    form = CloseForm(request.POST)
    form.is_valid()
    if request.POST.get("confirm") != "1":
        summary = selectors.case_close_summary(actor=request.user, case=case)
        return render(request, "cases/close_confirm.html", {"case": case, "summary": summary, "form": form})
    try:
        services.case_close(
            actor=request.user,
            counter=request.counter,
            case=case,
            override_reason=form.cleaned_data.get("override_reason", ""),
            close_reason=form.cleaned_data.get("close_reason", ""),
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "close_reason" in exc.error_dict:
            form.add_error("close_reason", exc.error_dict["close_reason"])
            summary = selectors.case_close_summary(actor=request.user, case=case)
            return render(request, "cases/close_confirm.html", {"case": case, "summary": summary, "form": form},
                          status=400)
        _messages_from(request, exc)
        return _to_case(pk, "close")
    except PermissionDenied as exc:
        _messages_from(request, exc)
        return _to_case(pk, "close")
    messages.success(request, _("受付 %(label)s を完了しました。") % {"label": case.label})
    return redirect("navigation:cases:home")


@login_required
@require_http_methods(["GET", "POST"])
def case_correction_view(request: HttpRequest, pk: int) -> HttpResponse:
    """訂正 on a closed, handed-back case: the values that went to the core system, a form, and the history."""
    case = _case_or_404(request, pk)
    if not handback.may_correct(actor=request.user, case=case):
        raise PermissionDenied(_("受付 %(label)s の訂正は、完了した窓口の職員か窓口責任者だけが行えます。")
                               % {"label": case.label})
    fields = handback.correctable_fields(case=case) if not case.is_open else []
    form = CorrectionForm(request.POST or None, fields=fields)
    status = 200
    if request.method == "POST":
        form.is_valid()
        data = form.cleaned_data
        try:
            services.case_handback_correct(actor=request.user, case=case, field=data.get("field", ""),
                                           value=data.get("value", request.POST.get("value", "")),
                                           reason=data.get("reason", ""))
        except ValidationError as exc:
            named = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            for name, texts in named.items():
                for text in texts:
                    form.add_error(name if name in form.fields else None, text)
            status = 400
        else:
            messages.success(request, _("訂正を送信しました。基幹系には訂正の記録として連携されます。"))
            return redirect("navigation:cases:correction", pk=pk)
    corrections = handback.corrections_for(case=case)
    handback.correction_history_audit(actor=request.user, case=case, corrections=corrections)
    return render(request, "cases/correction.html", {
        "case": case, "form": form, "fields": fields, "corrections": corrections,
        "has_handback": bool(handback.handback_records(case=case)),
    }, status=status)


@login_required
@require_POST
def case_correction_signature_view(request: HttpRequest, pk: int, correction_id: int) -> HttpResponse:
    """The document re-issued after a correction came back signed on paper: record its receipt."""
    case = _case_or_404(request, pk)
    try:
        services.case_correction_signature_received(actor=request.user, case=case, correction_id=correction_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("訂正後の申請書の署名を受領しました。"))
    return redirect("navigation:cases:case", pk=pk)


@login_required
@require_POST
def case_memo_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(case: Case) -> str:
        form = MemoForm(request.POST)
        if not form.is_valid():
            raise ValidationError([f"{form.fields[f].label}：{' '.join(e)}" for f, e in form.errors.items()])
        services.memo_create(
            actor=request.user,
            counter=request.counter,
            case=case,
            atena_no=request.POST.get("atena_no", ""),
            **form.cleaned_data,
        )
        return _("メモを保存しました。")

    return _case_post(request, pk, act, "memos")


# ---------------------------------------------------------------------------------------------
# Person view and memos
# ---------------------------------------------------------------------------------------------
@login_required
@require_GET
def person_view(request: HttpRequest, atena_no: str) -> HttpResponse:
    detail = selectors.person_detail(actor=request.user, atena_no=atena_no)
    if detail is None:
        raise Http404
    name_chars = integration_selectors.name_characters(text=detail.person.name)
    return render(request, "cases/person.html", {
        "detail": detail, "memo_form": MemoForm(), "name_chars": name_chars,
        "name_outside_jis": any(c["outside_jis"] for c in name_chars)})


@login_required
@require_POST
def person_memo_view(request: HttpRequest, atena_no: str) -> HttpResponse:
    form = MemoForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError([f"{form.fields[f].label}：{' '.join(e)}" for f, e in form.errors.items()])
        services.memo_create(actor=request.user, counter=request.counter, atena_no=atena_no, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as exc:
        _messages_from(request, exc)
    else:
        messages.success(request, _("メモを保存しました。"))
    back = request.POST.get("next", "")
    if back.startswith("/navi/cases/") and "//" not in back:
        return redirect(back)
    return redirect("navigation:cases:person", atena_no=atena_no)


@login_required
@require_http_methods(["GET", "POST"])
def memo_edit_view(request: HttpRequest, memo_pk: int) -> HttpResponse:
    memo, revisions = selectors.memo_history(actor=request.user, memo_id=memo_pk)
    can_edit = memo.author_id == request.user.pk
    form = MemoForm(request.POST or None, initial={"body": memo.body, "visibility": memo.visibility})
    if request.method == "POST":
        if form.is_valid():
            try:
                memo = services.memo_update(
                    actor=request.user,
                    memo=selectors.memo_for_edit(actor=request.user, memo_id=memo_pk),
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("メモを更新しました。"))
                if memo.atena_no:
                    return redirect("navigation:cases:person", atena_no=memo.atena_no)
                return _to_case(memo.case_id, "memos")
    return render(
        request,
        "cases/memo_edit.html",
        {"memo": memo, "revisions": revisions, "form": form, "can_edit": can_edit},
    )
