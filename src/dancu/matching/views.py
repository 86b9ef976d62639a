"""Pages of the review queue: the queue of a unit, a pair side by side, the decision and its undo."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dancu.audit.services import Actor
from dancu.collection.models import StagingRecord
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.lib.partial_date import PartialDate
from dancu.matching import selectors
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.registry.models import Citizen
from dancu.registry.services import MERGE_CHOICES
from dancu.web.access import current_user, officer_required, purpose_of
from dancu.web.converters import page_param

FIELD_LABELS = {
    "full_name": gettext_lazy("Họ, chữ đệm và tên"),
    "birth_date": gettext_lazy("Ngày sinh"),
    "sex": gettext_lazy("Giới tính"),
    "pin": gettext_lazy("Số định danh cá nhân"),
    "old_id_number": gettext_lazy("Số CMND cũ"),
    "birth_place": gettext_lazy("Nơi sinh"),
    "native_place": gettext_lazy("Quê quán"),
    "address": gettext_lazy("Nơi cư trú"),
    "father_name": gettext_lazy("Họ tên cha"),
    "mother_name": gettext_lazy("Họ tên mẹ"),
    "phone": gettext_lazy("Số điện thoại"),
    "death_date": gettext_lazy("Ngày mất"),
    "parents": gettext_lazy("Cha mẹ"),
    # The matcher's name for the old ID number (the evidence table's rows).
    "cmnd": gettext_lazy("Số CMND cũ"),
}
# The matcher's comparison levels (matching/engine.py, each level's label_for_charts), named in the page's
# language: the evidence stores the engine's English labels, which the API gives as they are.
LEVEL_LABELS = {
    "null": gettext_lazy("thiếu ở một bên"),
    "exact": gettext_lazy("trùng khớp"),
    "different": gettext_lazy("khác"),
    "exact (NFC, canonical spelling)": gettext_lazy("trùng khớp hoàn toàn (viết giống hệt nhau)"),
    "same letters without tone marks and đ": gettext_lazy("cùng chữ cái khi bỏ dấu và đ"),
    "same words in another order": gettext_lazy("cùng các từ, khác thứ tự"),
    "Jaro-Winkler ≥ 0.92 without marks, given name alike": gettext_lazy(
        "rất giống khi bỏ dấu (chỉ khác vài chữ cái), tên gần giống"
    ),
    "family and given name each alike": gettext_lazy("họ và tên đều gần giống"),
    "same given name, rest different": gettext_lazy("cùng tên, phần còn lại khác"),
    "same family name, rest different": gettext_lazy("cùng họ, phần còn lại khác"),
    "words in another order, Jaro-Winkler ≥ 0.92 without marks": gettext_lazy(
        "các từ khác thứ tự, rất giống khi bỏ dấu"
    ),
    "Jaro-Winkler ≥ 0.80 without marks": gettext_lazy("khá giống khi bỏ dấu"),
    "agrees as far as the less precise date is known": gettext_lazy(
        "khớp đến phần ngày tháng cả hai bên biết"
    ),
    "day and month swapped": gettext_lazy("đảo ngày và tháng"),
    "one digit different": gettext_lazy("khác một chữ số"),
    "same year and month": gettext_lazy("cùng năm và tháng"),
    "same year only": gettext_lazy("chỉ cùng năm"),
    "same day and month, other year": gettext_lazy("cùng ngày và tháng, khác năm"),
    "two digits swapped": gettext_lazy("đảo hai chữ số"),
    "the same known parents, born in other years: brothers and sisters": gettext_lazy(
        "cùng cha mẹ, sinh năm khác: anh chị em ruột"
    ),
    "both the same (NFC, canonical spelling)": gettext_lazy(
        "cha và mẹ đều trùng khớp hoàn toàn (viết giống hệt nhau)"
    ),
    "both the same without tone marks": gettext_lazy("cha và mẹ đều trùng khi bỏ dấu"),
    "one the same, the other unknown on one side": gettext_lazy("một người trùng, người kia thiếu ở một bên"),
    "both alike (Jaro-Winkler ≥ 0.90 without marks)": gettext_lazy("cha và mẹ đều rất giống khi bỏ dấu"),
    "one the same, the other different": gettext_lazy("một người trùng, người kia khác"),
    "same province": gettext_lazy("cùng tỉnh"),
    "same place, and the same known parents: one household": gettext_lazy(
        "cùng nơi ở và cùng cha mẹ: một hộ"
    ),
    "same place: same 2025 commune and same detail": gettext_lazy(
        "cùng nơi ở: cùng xã, phường (2025) và cùng địa chỉ chi tiết"
    ),
    "same 2025 commune": gettext_lazy("cùng xã, phường (2025)"),
    "Jaro-Winkler ≥ 0.90 on the text without marks": gettext_lazy("địa chỉ rất giống khi bỏ dấu"),
    "three or more words of the detail in common": gettext_lazy("chung ba từ trở lên của địa chỉ chi tiết"),
    "same 2025 province": gettext_lazy("cùng tỉnh, thành phố (2025)"),
}
# What a level means for the decision, where its words and its weight seem to disagree: the household
# level says the place and the parents agree, yet weighs nothing or a little against (docs/matching.md,
# "One household counts once"), which an officer reads as the matcher's mistake.
LEVEL_NOTES = {
    "same place, and the same known parents: one household": gettext_lazy(
        "Anh chị em ruột cũng ở cùng nơi với cha mẹ, nên cùng nơi ở hầu như không giúp phân biệt; "
        "cha mẹ đã được tính ở dòng «Cha mẹ»."
    ),
}
# Levels whose meaning depends on the field. A different PIN or CMND is strong evidence of two people in
# general (the untrained model weighs it about -9), but trained on a registry it weighs nothing: a
# person's second record was given a PIN of its own, so the duplicates the model learns from differ there
# (docs/matching.md, "Training, without labels"). Said only where the weight is no evidence either way,
# one bit or less (matching.engine.NO_EVIDENCE_BITS, not imported: the engine loads pandas).
FIELD_LEVEL_NOTES = {
    ("pin", "different"): gettext_lazy(
        "Hồ sơ thứ hai của một người trong cơ sở dữ liệu được cấp số định danh riêng, nên số định danh "
        "khác nhau không cho biết đây là hai người."
    ),
    ("cmnd", "different"): gettext_lazy(
        "Trong dữ liệu này, các hồ sơ trùng thường ghi số CMND khác nhau, nên số CMND khác nhau không cho "
        "biết đây là hai người."
    ),
}
NO_EVIDENCE_BITS = 1.0


def _level_note(evidence: selectors.Evidence) -> Any:
    """What the level means for the decision, where its words and its weight seem to disagree."""
    note = FIELD_LEVEL_NOTES.get((evidence.field, evidence.level))
    if note is not None:
        return note if abs(evidence.weight) <= NO_EVIDENCE_BITS else None
    return LEVEL_NOTES.get(evidence.level)


PIN_RULES = {
    "pin.on_card": gettext_lazy("số định danh đã in trên thẻ căn cước được giữ"),
    "pin.earliest": gettext_lazy("số định danh được cấp sớm nhất được giữ"),
}
CHOICE_LABELS = {
    "permanent": gettext_lazy("Nơi thường trú giữ lại"),
    "temporary": gettext_lazy("Nơi tạm trú giữ lại"),
    "current": gettext_lazy("Nơi ở hiện tại giữ lại"),
    "old_id_number": gettext_lazy("Số CMND giữ lại"),
    "father": gettext_lazy("Cha"),
    "mother": gettext_lazy("Mẹ"),
}
CHOICE_VALUES = {
    "keep": gettext_lazy("của hồ sơ được giữ"),
    "absorb": gettext_lazy("của hồ sơ được hợp nhất vào"),
}


@officer_required
def queue_view(request: HttpRequest) -> HttpResponse:
    page = page_param(request.GET.get("page"))
    view = request.GET.get("status", "pending")
    view = view if view in selectors.QUEUE_VIEWS else "pending"
    queue = selectors.pair_queue(
        actor=current_user(request), page=page, purpose=purpose_of(request), view=view
    )
    # A staged row written to the registry since is shown as the citizen it became. Each pending pair of
    # two citizens says what the merge would: what refuses it, or the choices it needs.
    rows = [
        (
            pair,
            *_sides(*selectors.pair_shown(pair)),
            *_verdict(queue.conflicts.get(pair.pk, []), request.LANGUAGE_CODE),
        )
        for pair in queue.pairs
    ]
    return render(request, "matching/queue.html", {"queue": queue, "rows": rows, "view": view})


def _verdict(conflicts: list[FieldError], language: str) -> tuple[list[str], list[Any]]:
    """A pair's mark in the queue: the merge's refusals, said as on the pair's page ("Không thể hợp nhất"),
    and the names of the choices it needs (the pair's form asks them)."""
    blocking = [c.message(language) for c in conflicts if c.code != "merge.choice_required"]
    choices = [
        CHOICE_LABELS[key]
        for key in (c.field.removeprefix("choices.") for c in conflicts if c.code == "merge.choice_required")
        if key in CHOICE_LABELS
    ]
    return blocking, choices


_DATE_FIELDS = frozenset({"birth_date", "death_date"})


def _shown(name: str, value: str) -> str:
    """A value as the registry's pages write it: dates day first ("30/12/1977", "12/1977", "1977"), as on
    the citizen's record, not in the stored form the two sides are compared in."""
    if name in _DATE_FIELDS and value:
        try:
            return str(PartialDate.from_storage(value))
        except ValueError:
            return value  # a staged row's date the rules could not read: shown as the file wrote it
    return value


def _sides(left: Citizen | StagingRecord, right: Citizen | StagingRecord) -> list[dict[str, Any]]:
    """The two sides as the pages name them (selectors.pair_shown's order): each a registry citizen (a
    staged row written to the registry since is shown as the citizen it became) or a staged row, for
    matching/_side.html, and the label of its column. On a phone the table's head is hidden and every
    value is labelled by its column: a registry record and an import row are labelled as such, so that
    the reviewer need not remember which of "first" and "second" was the registry's on a long page (the
    names above the table say it the same way)."""
    sides: list[dict[str, Any]] = [
        {
            "citizen": record if isinstance(record, Citizen) else None,
            "row": record if isinstance(record, StagingRecord) else None,
        }
        for record in (left, right)
    ]
    if sides[0]["citizen"] is not None and sides[1]["row"] is not None:
        labels = (_("Hồ sơ trong CSDL"), _("Bản ghi nhập"))
    else:
        labels = (_("Hồ sơ thứ nhất"), _("Hồ sơ thứ hai"))
    for side, label in zip(sides, labels, strict=True):
        side["label"] = label
    return sides


def _outcome(left: Citizen | None, right: Citizen | None) -> str:
    """What "same person" will do to a pair with a staged row, said before the officer answers. A pair of
    two citizens says it with the record kept (`detail.kept`); a staged row is never merged, and an
    officer who fears that the row's blanks or spellings will overwrite the citizen is told they will
    not, and where the row goes instead."""
    citizen = left or right
    if left is not None and right is not None:
        return ""
    if citizen is not None:
        return _(
            "Nếu là một người: bản ghi nhập được đánh dấu là bản trùng của công dân %(name)s (%(pin)s) và "
            "rời khỏi việc duyệt tệp nhập; hồ sơ trong CSDL không bị ghi đè, những điểm bản ghi nhập ghi "
            "khác được lưu trong lịch sử."
        ) % {"name": citizen.full_name, "pin": citizen.pin}
    return _(
        "Nếu là một người: bản ghi nhập đã duyệt xa hơn được giữ lại để duyệt tiếp, bản kia được đánh dấu "
        "là bản trùng và rời khỏi việc duyệt tệp nhập; chưa có gì được ghi vào CSDL."
    )


def _choice_fields(
    conflicts: list[FieldError],
    *,
    language: str,
    posted: Any = None,
    pins: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The choices a merge needs, each with what the officer picked when the form comes back with an
    error (an officer who re-picks a residence after each refusal may not notice one reset). Each
    option names its record's PIN ("of the kept record (001185240320)"), as the side-by-side table's
    columns do, so that the officer need not work out which column is the kept record."""
    pins = pins or {}
    fields = []
    for conflict in conflicts:
        key = conflict.field.removeprefix("choices.")
        if conflict.code == "merge.choice_required" and key in MERGE_CHOICES:
            fields.append(
                {
                    "key": key,
                    "label": CHOICE_LABELS[key],
                    "options": [
                        (
                            value,
                            f"{CHOICE_VALUES[value]} ({pins[value]})"
                            if pins.get(value)
                            else CHOICE_VALUES[value],
                        )
                        for value in MERGE_CHOICES[key]
                    ],
                    "message": conflict.message(language),
                    "selected": (posted or {}).get(f"choice_{key}", ""),
                }
            )
    return fields


def _grouped(number: int) -> str:
    """A number with its thousands grouped as the page's language writes them ("1.000", "1,000"): Django's
    Vietnamese formats set no NUMBER_GROUPING, so `intcomma` writes "1000" there."""
    return numberformat.format(
        number,
        get_format("DECIMAL_SEPARATOR"),
        grouping=3,
        thousand_sep=get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )


# The fields of the pair page's two forms, and the element an error summary's link leads to: each refusal
# is said next to its field as well as on top of the page.
_FORM_FIELDS = {
    "decide": {"decision": "decision-same", "reason": "reason", "source_document": "source-document"},
    "undo": {"reason": "undo-reason"},
}


def _placed_errors(
    errors: list[FieldError], *, form: str, language: str, choices: list[dict[str, Any]]
) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """The refusals of a posted form: all of them for the summary on top (each linked to its field when
    the field is on the form), and those of the form's fields by field, to be said next to them. A merge
    choice's refusal goes under its choice."""
    anchors = dict(_FORM_FIELDS.get(form, {}))
    if form == "decide":
        anchors |= {f"choices.{choice['key']}": f"choice-{choice['key']}" for choice in choices}
    summary: list[dict[str, str]] = []
    by_field: dict[str, list[str]] = {}
    for e in errors:
        text = f"{e.message(language)} [{e.code}]"
        summary.append({"text": text, "anchor": anchors.get(e.field, "")})
        if e.field in anchors:
            by_field.setdefault(e.field, []).append(text)
    for choice in choices:
        choice["errors"] = by_field.get(f"choices.{choice['key']}", [])
    return summary, by_field


def _pair_page(
    request: HttpRequest,
    pk: int,
    *,
    errors: list[FieldError] | None = None,
    status: int = 200,
    form: str = "",
) -> HttpResponse:
    try:
        detail = selectors.pair_get(actor=current_user(request), pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    language = request.LANGUAGE_CODE
    posted: Any = request.POST if errors else None
    if posted is not None and any(e.code == "pair.changed_since" for e in errors or []):
        # The records changed since the officer compared them: the answer and the merge's choices are
        # asked again on the records as they are now, never sent again by a second click. The reason and
        # the document, the officer's own words, are kept.
        posted = {key: posted.get(key, "") for key in ("reason", "source_document")}
    blocking, _choices = _verdict(detail.conflicts, language)
    left, right = _sides(detail.left, detail.right)
    choice_fields = _choice_fields(
        detail.conflicts,
        language=language,
        posted=posted,
        pins={
            value: record.pin
            for value, record in (("keep", detail.kept), ("absorb", detail.absorbed))
            if record is not None
        },
    )
    pending = detail.pair.status == CandidatePair.Status.PENDING
    # A form's refusals are said next to its fields while the page shows that form: a decision sent on a
    # pair decided meanwhile shows the undo form, where they would read as the undo's.
    shown = form == ("decide" if pending else "undo")
    summary, field_errors = _placed_errors(
        errors or [], form=form if shown else "", language=language, choices=choice_fields
    )
    return render(
        request,
        "matching/pair.html",
        {
            "detail": detail,
            "pair": detail.pair,
            "left_side": left,
            "right_side": right,
            "rows": [
                (
                    FIELD_LABELS.get(row.name, row.name),
                    row,
                    _shown(row.name, row.left),
                    _shown(row.name, row.right),
                )
                for row in detail.rows
            ],
            "evidence": [
                (
                    FIELD_LABELS.get(e.field, e.field),
                    LEVEL_LABELS.get(e.level, e.level),
                    e,
                    _level_note(e),
                )
                for e in detail.evidence
            ],
            "pin_rule": PIN_RULES.get(detail.pin_rule, ""),
            "death_refused": (
                f"{detail.death_refused.message(language)} [{detail.death_refused.code}]"
                if detail.death_refused
                else ""
            ),
            "choice_fields": choice_fields,
            "blocking": blocking,
            "errors": summary,
            "field_errors": field_errors,
            "reason_max_length": _grouped(decisions.REASON_MAX_LENGTH),
            "posted": posted if errors and shown else {},
            "pending": pending,
            "outcome": _outcome(left["citizen"], right["citizen"]),
            "next_pair": selectors.pair_queue_next(actor=current_user(request), after=detail.pair),
        },
        status=status,
    )


@officer_required
def pair_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _pair_page(request, pk)


def _pair_or_404(request: HttpRequest, pk: int) -> CandidatePair:
    try:
        return selectors.pair_get(actor=current_user(request), pk=pk, purpose=purpose_of(request)).pair
    except NotFoundError:
        raise Http404 from None


@officer_required
@require_POST
def decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    pair = _pair_or_404(request, pk)
    decision = request.POST.get("decision", "")
    # The page asks the merge's choices beside the answer: a choice picked before the officer answered
    # "not the same person" after all is no part of that answer (the service refuses choices with it).
    choices = {
        key: request.POST[f"choice_{key}"]
        for key in MERGE_CHOICES
        if decision == "same" and request.POST.get(f"choice_{key}")
    }
    try:
        pair = decisions.candidate_pair_decide(
            actor=Actor(current_user(request)),
            pair=pair,
            # No answer chosen is the service's refusal, said with every other one.
            same={"same": True, "different": False}.get(decision),
            reason=request.POST.get("reason", ""),
            choices=choices,
            source_document=request.POST.get("source_document", ""),
            # The form always carries the records as its page showed them; a form without it (a page
            # cached before the field existed) is taken as showing the records as they are.
            seen=request.POST.get("seen"),
        )
    except NotFoundError:
        raise Http404 from None
    except DomainError as exc:
        return _pair_page(request, pk, errors=exc.errors, status=422, form="decide")
    messages.success(request, _("Đã ghi quyết định: %(status)s") % {"status": pair.get_status_display()})
    return redirect("matching:pair", pk=pair.pk)


@officer_required
@require_POST
def undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    pair = _pair_or_404(request, pk)
    try:
        decisions.candidate_pair_undo(
            actor=Actor(current_user(request)), pair=pair, reason=request.POST.get("reason", "")
        )
    except NotFoundError:
        raise Http404 from None
    except DomainError as exc:
        return _pair_page(request, pk, errors=exc.errors, status=422, form="undo")
    messages.success(request, _("Đã huỷ quyết định; cặp hồ sơ chờ xem xét lại"))
    return redirect("matching:pair", pk=pair.pk)
