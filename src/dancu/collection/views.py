"""DC01/DC02 pages: the queues, a form being filled in (checked as the officer types), a form's steps; and
the import page: a legacy file uploaded, imported by the background worker, its progress and report."""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import reports, selectors, services, workflow
from dancu.collection.forms import (
    DC01Form,
    DC02Form,
    current_values,
    data_rows,
    errors_by_field,
    form_class,
    messages_of,
    seen_of,
    seen_parse,
    staging_rows,
)
from dancu.collection.forms import grouped as grouped_fields
from dancu.collection.models import CollectionForm, ImportRun
from dancu.collection.readers import VIETNAMESE_HEADERS, FileRejectedError
from dancu.collection.reports import rejected_rows_download
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.registry import selectors as registry_selectors
from dancu.registry.models import Citizen
from dancu.registry.rules import FIELD_LABELS
from dancu.web.access import current_user, officer_required, purpose_of

Kind = CollectionForm.Kind


def _form_or_404(request: HttpRequest, pk: int) -> CollectionForm:
    try:
        return selectors.form_get(actor=current_user(request), pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None


def _flash_errors(request: HttpRequest, exc: DomainError) -> None:
    """Each refusal as a message above the page, led by the field it is about where the message does not
    name it: a message shown away from its field ("at most 1,000 characters") says nothing of which."""
    english = request.LANGUAGE_CODE.startswith("en")
    for problem in exc.errors:
        message = problem.message(request.LANGUAGE_CODE)
        labels = FIELD_LABELS.get(problem.field)
        label = labels[1 if english else 0] if labels is not None else ""
        if label and label.lower() not in message.lower():
            message = f"{label}: {message}"
        messages.error(request, f"{message} [{problem.code}]")


@officer_required
def queue_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    queue = selectors.form_queue(actor=user, purpose=purpose_of(request))
    statuses = [
        (status, CollectionForm.Status(status).label, queue.counts.get(status, 0))
        for status in queue.statuses
    ]
    rows = [(form, queue.age_of(form)) for form in queue.forms]
    return render(
        request,
        "collection/queue.html",
        {
            "queue": queue,
            "rows": rows,
            "statuses": statuses,
            "can_author": user.role in workflow.AUTHOR_ROLES,
        },
    )


def _edit_page(
    request: HttpRequest,
    *,
    kind: str,
    page_form: DC01Form | DC02Form,
    problems: list[FieldError] | list[dict[str, Any]],
    warnings: list[FieldError] | list[dict[str, Any]],
    citizen: Citizen | None = None,
    form: CollectionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    names = set(page_form.fields)
    errors, general = errors_by_field(problems, names=names, language=request.LANGUAGE_CODE)
    if page_form.is_bound:
        # What the page form itself refused (a choice not offered, a NUL character, a megabyte of text).
        for name, messages_ in page_form.errors.items():
            errors.setdefault(name, []).extend(str(message) for message in messages_)
    return render(
        request,
        "collection/form_edit.html",
        {
            "kind": kind,
            "citizen": citizen,
            "form_obj": form,
            "groups": grouped_fields(page_form, errors, current_values(citizen) if citizen else None),
            "general_errors": general,
            "error_count": len(problems),
            "warnings": messages_of(warnings, language=request.LANGUAGE_CODE),
            # A new form's page key goes back with every send of it (workflow.AlreadySavedError); a saved
            # form's page sends back when the form last changed as the page first showed it (_locked).
            "submission_key": page_form["submission_key"].value() if form is None else None,
            "seen": page_form["seen"].value() if form is not None else None,
        },
        status=status,
    )


def _new_form_initial(**initial: Any) -> dict[str, Any]:
    """What a page opening a new form starts with: a key of its own, sent back with the form."""
    return {**initial, "submission_key": uuid.uuid4()}


def _save(
    request: HttpRequest,
    *,
    kind: str,
    page_form: DC01Form | DC02Form,
    citizen: Citizen | None,
    form: CollectionForm | None,
) -> HttpResponse:
    """Save the draft (new or existing), then submit it when the officer asked to."""
    actor = Actor(current_user(request))
    data = page_form.data_of()
    document, reason = page_form.cleaned_data["document"], page_form.cleaned_data["reason"]
    try:
        if form is None:
            form = workflow.form_create_draft(
                actor=actor,
                kind=kind,
                data=data,
                citizen=citizen,
                document=document,
                reason=reason,
                submission_key=page_form.cleaned_data.get("submission_key"),
            )
        else:
            form = workflow.form_update_draft(
                actor=actor,
                form=form,
                data=data,
                document=document,
                reason=reason,
                seen=seen_parse(page_form.cleaned_data.get("seen")),
            )
    except workflow.AlreadySavedError as exc:
        # The button pressed twice, or the post sent again: the officer lands on the form the first send
        # made, and is told that no second one was.
        messages.info(request, exc.errors[0].message(request.LANGUAGE_CODE))
        return redirect("collection:form", pk=exc.form.pk)
    except DomainError as exc:
        # Nothing was saved (no commune of the officer's area): the page comes back as it was typed.
        return _edit_page(
            request,
            kind=kind,
            page_form=page_form,
            problems=exc.errors,
            warnings=[],
            citizen=citizen,
            form=form,
            status=422,
        )
    if form.from_import:
        # A reviewer's correction of an imported row: the form keeps waiting to be checked.
        messages.success(request, _("Đã lưu bản sửa phiếu %(label)s") % {"label": form.label})
        return redirect("collection:form", pk=form.pk)
    if request.POST.get("action") != "submit":
        messages.success(request, _("Đã lưu nháp phiếu %(label)s") % {"label": form.label})
        return redirect("collection:form_edit", pk=form.pk)
    try:
        form = workflow.form_submit(actor=actor, form=form)
    except DomainError:
        messages.error(
            request,
            _("Đã lưu nháp phiếu %(label)s nhưng chưa gửi được: hãy sửa các lỗi") % {"label": form.label},
        )
        return redirect("collection:form_edit", pk=form.pk)
    messages.success(request, _("Đã gửi phiếu %(label)s để kiểm tra") % {"label": form.label})
    return redirect("collection:form", pk=form.pk)


def _require_author(request: HttpRequest) -> None:
    if current_user(request).role not in workflow.AUTHOR_ROLES:
        raise PermissionDenied


@officer_required
@require_http_methods(["GET", "POST"])
def dc01_new_view(request: HttpRequest) -> HttpResponse:
    _require_author(request)
    user = current_user(request)
    if request.method == "POST":
        page_form = DC01Form(request.POST)
        if page_form.is_valid():
            return _save(request, kind=Kind.DC01, page_form=page_form, citizen=None, form=None)
        return _edit_page(request, kind=Kind.DC01, page_form=page_form, problems=[], warnings=[], status=422)
    area = user.police_unit.admin_unit if user.police_unit else None
    initial = (
        {"commune_code": area.code}
        if area is not None and area.level == "commune" and not area.is_legacy
        else {}
    )
    return _edit_page(
        request,
        kind=Kind.DC01,
        page_form=DC01Form(initial=_new_form_initial(**initial)),
        problems=[],
        warnings=[],
    )


@officer_required
@require_http_methods(["GET", "POST"])
def dc02_new_view(request: HttpRequest, citizen_pk: int) -> HttpResponse:
    _require_author(request)
    try:
        citizen = registry_selectors.citizen_get(
            actor=current_user(request), pk=citizen_pk, purpose=purpose_of(request)
        )
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST":
        page_form = DC02Form(request.POST)
        if page_form.is_valid():
            return _save(request, kind=Kind.DC02, page_form=page_form, citizen=citizen, form=None)
        return _edit_page(
            request,
            kind=Kind.DC02,
            page_form=page_form,
            problems=[],
            warnings=[],
            citizen=citizen,
            status=422,
        )
    return _edit_page(
        request,
        kind=Kind.DC02,
        page_form=DC02Form(initial=_new_form_initial()),
        problems=[],
        warnings=[],
        citizen=citizen,
    )


@officer_required
@require_http_methods(["GET", "POST"])
def form_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = _form_or_404(request, pk)
    if "edit" not in workflow.form_allowed_actions(user=current_user(request), form=form):
        messages.error(request, _("Phiếu này không sửa được ở bước hiện tại"))
        return redirect("collection:form", pk=form.pk)
    page_class = form_class(form.kind)
    if request.method == "POST":
        page_form = page_class(request.POST)
        if page_form.is_valid():
            return _save(request, kind=form.kind, page_form=page_form, citizen=form.citizen, form=form)
        return _edit_page(
            request,
            kind=form.kind,
            page_form=page_form,
            problems=[],
            warnings=[],
            citizen=form.citizen,
            form=form,
            status=422,
        )
    page_form = page_class(initial=page_class.initial_of(form))
    return _edit_page(
        request,
        kind=form.kind,
        page_form=page_form,
        problems=form.errors,
        warnings=form.warnings,
        citizen=form.citizen,
        form=form,
    )


@officer_required
@require_POST
def validate_view(request: HttpRequest) -> HttpResponse:
    """The errors of what was typed so far, for the page to show beside each field (HTMX, as one types)."""
    user = current_user(request)
    kind = request.POST.get("kind", Kind.DC01)
    if kind not in Kind.values:
        raise Http404
    citizen = None
    if kind == Kind.DC02:
        # The record was read (and logged) when the page was opened; this only needs its values to compare.
        citizen = _citizen_in_area(user, request.POST.get("citizen", ""))
    page_form = form_class(kind)(request.POST)
    names = set(page_form.fields)
    if not page_form.is_valid():
        errors = {name: [str(e) for e in errs] for name, errs in page_form.errors.items()}
        general: list[str] = []
        warnings: list[str] = []
        count = sum(len(v) for v in errors.values())
    else:
        try:
            check = workflow.form_validate(
                user=user,
                kind=kind,
                data=page_form.data_of(),
                citizen=citizen,
                document=page_form.cleaned_data["document"],
                reason=page_form.cleaned_data["reason"],
                complete=False,
            )
            problems, warning_list = check.errors, check.warnings
            workflow.checked_records_log(user, check, channel=AccessLog.Channel.WEB, detail=kind)
        except DomainError as exc:
            problems, warning_list = exc.errors, []
        errors, general = errors_by_field(problems, names=names, language=request.LANGUAGE_CODE)
        warnings = messages_of(warning_list, language=request.LANGUAGE_CODE)
        count = len(problems)
    return render(
        request,
        "collection/_live_check.html",
        {
            "error_count": count,
            "general_errors": general,
            "warnings": warnings,
            # The page's hidden keys (submission_key, seen) have no place for errors beside them.
            "fields": [
                (name, errors.get(name, []))
                for name, field in page_form.fields.items()
                if not field.widget.is_hidden
            ],
        },
    )


def _citizen_in_area(user: User, value: str) -> Citizen:
    if not (value.isascii() and value.isdigit()):
        raise Http404
    citizen = Citizen.objects.filter(citizen_scope(user)).filter(pk=int(value)).first()
    if citizen is None:
        raise Http404
    return citizen


@officer_required
def form_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, _form_or_404(request, pk))


def _form_page(
    request: HttpRequest, form: CollectionForm, *, refused: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The form as its reviewer reads it, with the steps open to them; `refused` is a return or rejection
    refused for its reason: its step, the reason as typed, put back in its box, and why it was refused."""
    user = current_user(request)
    actions = workflow.form_allowed_actions(user=user, form=form)
    acknowledged = set(form.acknowledged_warnings)
    language = request.LANGUAGE_CODE
    warnings = [
        {"code": w["code"], "text": _line(w, language), "acknowledged": w["code"] in acknowledged}
        for w in form.warnings
    ]
    # A warning is acknowledged by its code (workflow.form_check, and the API alike), and one code may come
    # twice (a DC02 changing both the name and the date of birth): one tick per code, naming every warning
    # it confirms, so that no tick confirms a warning it does not show.
    ticks: dict[str, dict[str, Any]] = {}
    for warning in warnings:
        tick = ticks.setdefault(warning["code"], {**warning, "texts": []})
        tick["texts"].append(warning["text"])
    duplicates = None
    if {problem["code"] for problem in form.warnings + form.errors} & workflow.DUPLICATE_CODES:
        # The warning says a record may be the same person: the reviewer sees which, to judge it.
        duplicates = registry_selectors.citizens_compared(
            actor=user,
            citizen_ids=workflow.form_duplicates_compared(user=user, form=form),
            detail=f"phiếu {form.label}",
        )
    # The records the duplicates queue decided are the same person as the form's imported row: the page
    # says so beside them, and not that they may be (the pair is settled, the reviewer does not judge it).
    decided_same: set[int] = set()
    if duplicates is not None and duplicates.shown and form.staging_record_id is not None:
        decided = selectors.staged_pair_decisions(
            record_id=form.staging_record_id, citizen_ids=[citizen.pk for citizen in duplicates.shown]
        )
        decided_same = {pk for pk, status in decided.items() if status in selectors.SAME_PERSON}
    return render(
        request,
        "collection/form_detail.html",
        {
            "form": form,
            # Sent back with every action: an action on a form changed since is refused (workflow._locked).
            "seen": seen_of(form),
            "rows": data_rows(form),
            "staging": staging_rows(form.staging_record, language=language),
            "elsewhere": selectors.numbers_waiting_elsewhere(actor=user, record=form.staging_record),
            "actions": actions,
            "events": selectors.form_events(actor=user, form=form),
            "errors": [_line(e, language) for e in form.errors],
            "apply_errors": [_line(e, language) for e in form.apply_errors],
            "warnings": warnings,
            "ticks": list(ticks.values()),
            "duplicates": duplicates,
            "decided_same": decided_same,
            # Every record shown was decided the same person: the heading says that, not "may be".
            "all_decided_same": bool(decided_same)
            and duplicates is not None
            and len(decided_same) == len(duplicates.shown),
            # A reviewer works through dozens of forms a day: the next one is a tap away.
            "next_form": selectors.form_queue_next(actor=user, after=form),
            "refused": refused,
        },
        status=status,
    )


def _line(problem: dict[str, Any], language: str) -> str:
    text = problem["message_en"] if language.startswith("en") else problem["message_vi"]
    return f"{text} [{problem['code']}]"


@officer_required
@require_http_methods(["GET", "POST"])
def form_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if request.method == "GET":
        # The address a reason refused in place leaves in the bar: opened again as a link, or reloaded
        # once the officer has moved on, it leads to the form (which checks who may see it), not to a 405.
        return redirect("collection:form", pk=pk)
    form = _form_or_404(request, pk)
    actor = Actor(current_user(request))
    done = {
        "submit": _("Đã gửi phiếu %(label)s để kiểm tra"),
        "check": _("Đã kiểm tra phiếu %(label)s"),
        "recheck": _("Đã phúc tra phiếu %(label)s"),
        "return": _("Đã trả lại phiếu %(label)s cho người lập"),
        "reject": _("Đã từ chối phiếu %(label)s"),
        "apply": _("Đã cập nhật phiếu %(label)s vào CSDL"),
    }
    acknowledged = request.POST.getlist("acknowledged")
    # When the form last changed as the page showed it: what is confirmed is what the officer read.
    seen = seen_parse(request.POST.get("seen"))
    reason = request.POST.get("reason", "")
    try:
        if action == "submit":
            form = workflow.form_submit(actor=actor, form=form, seen=seen)
        elif action == "check":
            form = workflow.form_check(actor=actor, form=form, acknowledged=acknowledged, seen=seen)
        elif action == "recheck":
            form = workflow.form_recheck(actor=actor, form=form, acknowledged=acknowledged, seen=seen)
        elif action == "return":
            form = workflow.form_return(actor=actor, form=form, reason=reason, seen=seen)
        elif action == "reject":
            form = workflow.form_reject(actor=actor, form=form, reason=reason, seen=seen)
        elif action == "apply":
            form = workflow.form_apply(actor=actor, form=form, seen=seen)
        else:
            raise Http404
    except NotFoundError:
        raise Http404 from None
    except DomainError as exc:
        if action in ("return", "reject") and reason.strip() and all(p.field == "reason" for p in exc.errors):
            # A reason refused (a character no record may hold, too long) is answered on the page, with the
            # reason back in its box to correct and why under it, where a phone's screen shows it: a
            # redirect would empty the box, and a supervisor on a phone would type it all again. An empty
            # one has nothing to keep, and any other refusal (the form changed since the page was read,
            # the step is not the officer's) goes back as every refusal does, to the form as it now is.
            refused = {
                "step": action,
                "reason": reason,
                "errors": [
                    f"{problem.message(request.LANGUAGE_CODE)} [{problem.code}]" for problem in exc.errors
                ],
            }
            return _form_page(request, _form_or_404(request, form.pk), refused=refused, status=422)
        _flash_errors(request, exc)
        return redirect("collection:form", pk=form.pk)
    messages.success(request, done[action] % {"label": form.label})
    if action == "apply" and form.citizen_id is not None:
        return redirect("registry:citizen", pk=form.citizen_id)
    return redirect("collection:form", pk=form.pk)


# Imports -----------------------------------------------------------------------------------------------


def _run_or_404(request: HttpRequest, pk: int) -> ImportRun:
    try:
        return selectors.import_run_get(actor=current_user(request), pk=pk)
    except NotFoundError:
        raise Http404 from None


@officer_required
@require_http_methods(["GET", "POST"])
def imports_view(request: HttpRequest) -> HttpResponse:
    """The runs the officer may see, and (for the roles that may import) the upload form."""
    user = current_user(request)
    can_import = user.role in services.IMPORT_ROLES
    refusal = ""
    # Refused as a file imported before under another source: the form asks whether to go on, with the
    # source name the officer typed kept.
    same_file = False
    source_name = ""
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        source_name = request.POST.get("source", "")
        if upload is None:
            refusal = _("Chọn tệp CSV hoặc XLSX để nhập [file.missing]")
        else:
            uploaded_at = timezone.now()
            try:
                run = services.import_upload(
                    actor=Actor(user),
                    upload=upload,
                    source_name=source_name,
                    same_file_again=request.POST.get("same_file_again") == "on",
                )
            except FileRejectedError as exc:
                message = exc.message_en if request.LANGUAGE_CODE.startswith("en") else exc.message_vi
                refusal = f"{upload.name}: {message} [{exc.code}]"
                same_file = exc.code == "file.already_imported"
            else:
                if run.started_at < uploaded_at:
                    # The same file under the same source: its earlier run is shown, not imported again,
                    # and the officer is told so rather than left to wonder at a report dated earlier.
                    messages.info(
                        request,
                        _(
                            "Tệp này đã được nhập với nguồn “%(source)s” (lần nhập #%(run)d, %(when)s): "
                            "đây là lần nhập đó, tệp không được nhập lại."
                        )
                        % {
                            "source": run.source,
                            "run": run.pk,
                            "when": timezone.localtime(run.started_at).strftime("%d/%m/%Y %H:%M"),
                        },
                    )
                if getattr(request, "htmx", False):
                    # The form was sent by HTMX, which showed the upload's progress: the browser goes on.
                    return HttpResponseClientRedirect(reverse("collection:import_run", args=[run.pk]))
                return redirect("collection:import_run", pk=run.pk)
        status = 403 if not can_import else 422
    return render(
        request,
        "collection/imports.html",
        {
            "runs": selectors.import_runs(actor=user),
            "can_import": can_import,
            "refusal": refusal,
            "same_file": same_file,
            "source_name": source_name,
            "max_mb": settings.DANCU_IMPORT_UPLOAD_MAX_MB,
            "vietnamese_headers": list(VIETNAMESE_HEADERS.items()),
        },
        status=status,
    )


@officer_required
def import_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    # The form to discard the run is outside the progress, which is polled and would be redrawn while
    # the officer types the reason; it is offered as the page is loaded, and the service checks it again.
    can_discard = selectors.import_can_discard(actor=current_user(request), run=run)
    return render(request, "collection/import_run.html", {"run": run, "can_discard": can_discard})


# The steps of an import as the page lists them; the upload is done by the time the run exists.
IMPORT_STEPS = ("reading", "writing")


def _time_left(seconds: int | None) -> str:
    if seconds is None:
        return _("Đang ước tính thời gian còn lại…")
    if seconds < 60:
        return _("Còn dưới 1 phút")
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return ngettext("Còn khoảng %(n)d phút", "Còn khoảng %(n)d phút", minutes) % {"n": minutes}
    return _("Còn khoảng %(h)d giờ %(m)d phút") % {"h": minutes // 60, "m": minutes % 60}


@officer_required
def import_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's step and counters, polled by the page (HTMX) until the run is finished, then its report."""
    user = current_user(request)
    run = _run_or_404(request, pk)
    progress = selectors.import_progress(run)
    finished = progress.finished
    # A run read from a file on the server is continued there, by the same command: no button for it.
    on_server = selectors.import_server_resume(run) if progress.step == "interrupted" else None
    # Which of the two steps the run is at (or was at, when it stopped).
    current = "writing" if run.finished_at is not None else "reading"
    position = IMPORT_STEPS.index(current)
    steps = [
        {
            "key": key,
            "state": "done" if finished or index < position else "current" if index == position else "todo",
        }
        for index, key in enumerate(IMPORT_STEPS)
    ]
    return render(
        request,
        "collection/_import_progress.html",
        {
            "run": run,
            "progress": progress,
            "finished": finished,
            "current": current,
            "steps": steps,
            "time_left": _time_left(progress.remaining_seconds),
            "can_resume": selectors.import_can_resume(actor=user, run=run, step=progress.step),
            "resume_on_server": on_server.message(request.LANGUAGE_CODE) if on_server else "",
            "issues": reports.by_rule(
                run.issue_counts, fields=run.issue_fields, language=request.LANGUAGE_CODE
            ),
            "repairs": reports.by_rule(run.repair_counts, language=request.LANGUAGE_CODE),
            # Where the rows sent for review stand now, once they are all filed: the run's own counters
            # stop at "queued", and the officer who imported follows them on from here.
            "review_forms": selectors.import_run_form_counts(actor=user, run=run) if finished else [],
            # And which forms those are, each a tap away: the queue the counts lead to is the reader's own
            # (a supervisor's holds the checked forms), not the forms still waiting for the communes.
            "waiting": selectors.import_run_waiting_forms(actor=user, run=run, purpose=purpose_of(request))
            if finished
            else None,
            "now": timezone.now(),
        },
    )


@officer_required
@require_POST
def import_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    try:
        services.import_resume(actor=Actor(current_user(request)), run=run)
    except DomainError as exc:
        _flash_errors(request, exc)
    return redirect("collection:import_run", pk=run.pk)


@officer_required
@require_POST
def import_discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request, pk)
    try:
        services.import_discard(
            actor=Actor(current_user(request)), run=run, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        _flash_errors(request, exc)
    return redirect("collection:import_run", pk=run.pk)


@officer_required
def import_rejected_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows with their reasons, as an XLSX workbook written for this download."""
    run = _run_or_404(request, pk)
    return rejected_rows_download(
        run, language=request.LANGUAGE_CODE, actor=Actor(current_user(request)), channel=AccessLog.Channel.WEB
    )
