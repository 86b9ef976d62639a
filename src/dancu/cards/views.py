"""Card pages: intake, the queue, approval, batches, delivery, a card and its history, verification and the
campaign report. Thin: every rule is in services, every read in selectors."""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from dancu.audit.services import Actor
from dancu.cards import render as drawing
from dancu.cards import selectors, services
from dancu.cards.forms import IntakeForm, QueueSearchForm, VerifyForm
from dancu.cards.models import Application, ApplicationKind, Biometric, Card, IntakeDevice, IntakePoint
from dancu.cards.printing import mrz_lines, qr_payload
from dancu.cards.verify import verify_text
from dancu.collection.selectors import form_get
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import unit_get
from dancu.lib.errors import DomainError, NotFoundError
from dancu.lib.pin import ungrouped
from dancu.registry import selectors as registry_selectors
from dancu.web.access import current_user, officer_required
from dancu.web.converters import page_param
from dancu.web.forms import add_domain_errors


def _flash(request: HttpRequest, exc: DomainError) -> None:
    for problem in exc.errors:
        messages.error(request, f"{problem.message(request.LANGUAGE_CODE)} [{problem.field}: {problem.code}]")


def _application_or_404(request: HttpRequest, pk: int, part: str = "") -> Application:
    try:
        return selectors.application_get(
            actor=current_user(request), pk=pk, purpose=selectors.CARD_PURPOSE, part=part
        )
    except NotFoundError:
        raise Http404 from None


@officer_required
def queue_view(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if data.get("q", "").strip() and not data.get("status"):
        # A search looks through every status unless one is chosen (the selector's rule), and the
        # status box says so rather than "in progress".
        data["status"] = selectors.QUEUE_ALL
    form = QueueSearchForm(data)
    queue = None
    if form.is_valid():
        try:
            queue = selectors.application_queue(
                actor=current_user(request),
                purpose=selectors.CARD_PURPOSE,
                status=form.cleaned_data["status"],
                text=form.cleaned_data["q"],
                overdue_only=request.GET.get("overdue") == "1",
                page=page_param(request.GET.get("page")),
                limit=selectors.QUEUE_PAGE,
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
    counts = queue.counts if queue is not None else {}
    statuses = [(s, label, counts.get(s, 0)) for s, label in Application.Status.choices]
    # The pager's links carry the search without its page, to which each adds its own.
    criteria = request.GET.copy()
    criteria.pop("page", None)
    return render(
        request,
        "cards/queue.html",
        {"queue": queue, "statuses": statuses, "form": form, "querystring": criteria.urlencode()},
    )


@officer_required
@require_http_methods(["GET", "POST"])
def intake_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    # A PIN is read out and copied in groups ("001 090 123 456"): the separators are dropped, as the
    # portal's sign-in does, rather than answered with "not found".
    pin = ungrouped(request.GET.get("pin") or request.POST.get("pin") or "")
    citizen = None
    if pin:
        try:
            citizen = registry_selectors.citizen_get(actor=user, pin=pin, purpose=selectors.CARD_PURPOSE)
        except NotFoundError:
            messages.error(request, _("Không tìm thấy công dân có số định danh này trong địa bàn"))
        else:
            if request.method == "GET" and citizen.pin != pin:
                # The PIN typed is of a record merged into this one: the check sheet shows the kept PIN,
                # which is the one the card will carry, and the officer is told why it differs.
                messages.info(
                    request,
                    _("Hồ sơ số định danh %(typed)s đã được hợp nhất vào hồ sơ số định danh %(pin)s")
                    % {"typed": pin, "pin": citizen.pin},
                )
    points = selectors.point_list(actor=user)
    form = IntakeForm(request.POST or None, request.FILES or None, points=points)
    if request.method == "POST" and citizen is not None and form.is_valid():
        data = form.cleaned_data
        try:
            correction = None
            if data["correction_form"]:
                correction = form_get(actor=user, pk=data["correction_form"], purpose=selectors.CARD_PURPOSE)
            application = services.application_take(
                actor=Actor(user),
                citizen=citizen,
                intake=services.Intake(
                    kind=data["kind"],
                    point=_point(points, data["point"]),
                    shift=data["shift"],
                    device=_device(points, data["device"]),
                    fee_category=data["fee_category"] or "",
                    representative=data["representative"],
                    reason=data["reason"],
                    delivery=data["delivery"],
                    postal_address=data["postal_address"],
                    correction_form=correction,
                ),
                images=form.images(),
            )
        except NotFoundError:
            messages.error(request, _("Không tìm thấy (ngoài địa bàn hoặc không tồn tại)"))
        except DomainError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Đã thu nhận hồ sơ %(number)s") % {"number": application.number})
            return redirect("cards:application", pk=application.pk)
    # What the registry's "đúng" rules say of the record, shown on the check sheet before any typing: a
    # record that fails them needs a DC02 first.
    problems = (
        [
            p.message(request.LANGUAGE_CODE) + f" [{p.code}]"
            for p in services.record_errors(citizen, today=timezone.localdate())
        ]
        if citizen is not None
        else []
    )
    # What refuses any application of the citizen (dead, missing, one in progress): said before the form,
    # which is then not offered.
    refusals = (
        [p.message(request.LANGUAGE_CODE) + f" [{p.code}]" for p in services.intake_refusals(citizen)]
        if citizen is not None
        else []
    )
    # Which kinds of application the cards the citizen holds or held allow today, and why not the others.
    kinds = (
        [
            (ApplicationKind(kind).label, None if refusal is None else refusal.message(request.LANGUAGE_CODE))
            for kind, refusal in services.intake_kinds(citizen, today=timezone.localdate())
        ]
        if citizen is not None and not refusals
        else []
    )
    return render(
        request,
        "cards/intake.html",
        {
            "citizen": citizen,
            "pin": pin,
            "form": form,
            "points": points,
            "problems": problems,
            "refusals": refusals,
            "kinds": kinds,
        },
    )


def _point(points: list[IntakePoint], pk: int) -> IntakePoint:
    for point in points:
        if point.pk == pk:
            return point
    raise NotFoundError("intake_point")


def _device(points: list[IntakePoint], pk: int | None) -> IntakeDevice | None:
    if pk is None:
        return None
    for point in points:
        for device in point.devices.all():
            if device.pk == pk:
                return device
    raise NotFoundError("device")


@officer_required
def application_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_or_404(request, pk)
    card = Card.objects.filter(application=application).first()
    return render(
        request,
        "cards/application.html",
        {
            "application": application,
            "card": card,
            "images": list(application.biometrics.values_list("kind", flat=True)),
            "image_labels": dict(Biometric.Kind.choices),
            "user_role": current_user(request).role,
        },
    )


# What each action on the application's page writes in the access log's note (in Vietnamese, as every note).
_ACTION_NOTES = {"approve": "duyệt", "reject": "từ chối", "resume": "tiếp tục", "deliver": "trả thẻ"}


@officer_required
@require_POST
def application_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in _ACTION_NOTES:
        raise Http404  # no such action: nothing of the application is read, so nothing is logged
    # The log's note names the action, so that an auditor tells it from a look at the page.
    application = _application_or_404(request, pk, part=_ACTION_NOTES[action])
    actor = Actor(current_user(request))
    done = {
        "approve": _("Đã duyệt hồ sơ %(number)s"),
        "reject": _("Đã từ chối hồ sơ %(number)s"),
        "resume": _("Hồ sơ %(number)s tiếp tục sau điều chỉnh"),
        "deliver": _("Đã trả thẻ của hồ sơ %(number)s"),
    }
    try:
        if action == "approve":
            services.application_approve(actor=actor, application=application)
        elif action == "reject":
            services.application_reject(
                actor=actor, application=application, reason=request.POST.get("reason", "")
            )
        elif action == "resume":
            services.application_resume(actor=actor, application=application)
        elif action == "deliver":
            services.application_deliver(
                actor=actor, application=application, received_by=request.POST.get("received_by", "")
            )
        else:
            raise Http404
    except NotFoundError:
        raise Http404 from None
    except DomainError as exc:
        _flash(request, exc)
    else:
        messages.success(request, done[action] % {"number": application.number})
    return redirect("cards:application", pk=application.pk)


@officer_required
def receipt_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_or_404(request, pk, part="giấy hẹn (PDF)")
    response = HttpResponse(drawing.receipt_pdf(application), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{application.number}.pdf"'
    return response


@officer_required
def face_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        image = selectors.application_biometric(
            actor=current_user(request), pk=pk, kind=Biometric.Kind.FACE, purpose=selectors.CARD_PURPOSE
        )
    except NotFoundError:
        raise Http404 from None
    return HttpResponse(bytes(image.image), content_type=f"image/{image.image_format.lower()}")


@officer_required
@require_http_methods(["GET", "POST"])
def batches_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if request.method == "POST":
        try:
            batch = services.batch_create(actor=Actor(user))
        except DomainError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Đã lập lô %(number)s") % {"number": batch.number})
            return redirect("cards:batch", pk=batch.pk)
    return render(
        request,
        "cards/batches.html",
        {"batches": selectors.batch_list(actor=user), "waiting": selectors.approved_waiting(actor=user)},
    )


@officer_required
@require_http_methods(["GET", "POST"])
def batch_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    try:
        batch = selectors.batch_get(actor=user, pk=pk)
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST":
        upload = request.FILES.get("result")
        raw = upload.read(20 * 1024 * 1024) if upload else b""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            messages.error(request, _("Tệp kết quả phải là văn bản UTF-8 [file: result.encoding]"))
        else:
            try:
                services.batch_import_result(actor=Actor(user), batch=batch, text=text)
            except DomainError as exc:
                _flash(request, exc)
            else:
                messages.success(
                    request, _("Đã nhận kết quả sản xuất của lô %(number)s") % {"number": batch.number}
                )
        return redirect("cards:batch", pk=batch.pk)
    applications = selectors.batch_applications(actor=user, batch=batch, purpose=selectors.CARD_PURPOSE)
    return render(request, "cards/batch.html", {"batch": batch, "applications": applications})


@officer_required
def batch_file_view(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    user = current_user(request)
    try:
        batch = selectors.batch_get(actor=user, pk=pk)
    except NotFoundError:
        raise Http404 from None
    if name == "manifest.json":
        response = HttpResponse(
            json.dumps(batch.manifest, ensure_ascii=False, indent=2), content_type="application/json"
        )
    elif name == "export.jsonl":
        selectors.batch_applications(actor=user, batch=batch, purpose=selectors.CARD_PURPOSE, export=True)
        response = HttpResponse(services.batch_export_file(batch), content_type="application/x-ndjson")
    elif name == "print.pdf":
        applications = selectors.batch_applications(
            actor=user, batch=batch, purpose=selectors.CARD_PURPOSE, export=True
        )
        response = HttpResponse(drawing.batch_pdf(batch.number, applications), content_type="application/pdf")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{batch.number}-{name}"'
    return response


def _card_or_404(request: HttpRequest, pk: int, part: str = "") -> Card:
    try:
        return selectors.card_get(
            actor=current_user(request), pk=pk, purpose=selectors.CARD_PURPOSE, part=part
        )
    except NotFoundError:
        raise Http404 from None


@officer_required
@require_http_methods(["GET", "POST"])
def card_view(request: HttpRequest, pk: int) -> HttpResponse:
    card = _card_or_404(request, pk, part="đổi trạng thái" if request.method == "POST" else "")
    if request.method == "POST":
        try:
            services.card_change_state(
                actor=Actor(current_user(request)),
                card=card,
                state=request.POST.get("state", ""),
                grounds=request.POST.get("grounds", ""),
                note=request.POST.get("note", ""),
            )
        except NotFoundError:
            raise Http404 from None
        except DomainError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Đã cập nhật trạng thái thẻ"))
        return redirect("cards:card", pk=card.pk)
    return render(
        request,
        "cards/card.html",
        {
            "card": card,
            "qr": qr_payload(card.printed, card.issued_on),
            "mrz": mrz_lines(card.printed, card.expires_on),
            "revocation_grounds": services.REVOCATION_GROUNDS,
            "hold_grounds": services.HOLD_GROUNDS,
        },
    )


@officer_required
def card_image_view(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    try:
        picture = selectors.card_picture(
            actor=current_user(request), pk=pk, side=side, purpose=selectors.CARD_PURPOSE
        )
    except NotFoundError:
        raise Http404 from None
    if picture.side == "front":
        data = drawing.card_front_png(picture.card, picture.face)
    else:
        data = drawing.card_back_png(picture.card)
    return HttpResponse(data, content_type="image/png")


@officer_required
def history_view(request: HttpRequest, citizen_pk: int) -> HttpResponse:
    try:
        history = selectors.card_history(
            actor=current_user(request), citizen_pk=citizen_pk, purpose=selectors.CARD_PURPOSE
        )
    except NotFoundError:
        raise Http404 from None
    return render(request, "cards/history.html", {"history": history})


# What the verdict's summary holds, as the page names it: the keys are the API's, and an officer reads the
# field names printed on the card. A key not listed (a chip document of a later format) shows as it is.
VERIFY_LABELS = {
    "pin": gettext_lazy("Số định danh cá nhân"),
    "cmnd": gettext_lazy("Số CMND"),
    "full_name": gettext_lazy("Họ, chữ đệm và tên"),
    "name": gettext_lazy("Họ, chữ đệm và tên"),
    "birth_date": gettext_lazy("Ngày sinh"),
    "birth": gettext_lazy("Ngày sinh"),
    "sex": gettext_lazy("Giới tính"),
    "nationality": gettext_lazy("Quốc tịch"),
    "native_place": gettext_lazy("Quê quán"),
    "address": gettext_lazy("Nơi cư trú"),
    "residence": gettext_lazy("Nơi cư trú"),
    "issued_on": gettext_lazy("Ngày cấp"),
    "expires_on": gettext_lazy("Có giá trị đến"),
    "expiry": gettext_lazy("Có giá trị đến"),
    "serial": gettext_lazy("Số sê-ri thẻ"),
    "issuer": gettext_lazy("Nơi cấp"),
    "key_id": gettext_lazy("Khoá ký"),
    "face_sha256": gettext_lazy("Mã băm ảnh chân dung (SHA-256)"),
}


@officer_required
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.POST or None)
    verdict = None
    if request.method == "POST" and form.is_valid():
        verdict = verify_text(
            form.cleaned_data["text"], public_keys=services.public_key_set(), today=timezone.localdate()
        )
        # Online, the registry is asked too: a revoked, lost or replaced card, or a dead holder's, is
        # not valid (the offline command checks what the card carries only).
        verdict.errors += selectors.registered_state_errors(
            actor=current_user(request), verdict=verdict, purpose=selectors.CARD_PURPOSE
        )
    summary = (
        [(VERIFY_LABELS.get(key, key), value) for key, value in verdict.summary.items()] if verdict else []
    )
    return render(request, "cards/verify.html", {"form": form, "verdict": verdict, "summary": summary})


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@officer_required
def report_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    asked_start, asked_end = _day(request.GET.get("start")), _day(request.GET.get("end"))
    # The page has no error area for its two date boxes: a range it cannot show falls back to the week up
    # to the end asked for, or to this week when that end is itself out of range, and says why on top of
    # the page (a start after the end used to show another week without a word).
    try:
        start, end = selectors.report_period(start=asked_start, end=asked_end, today=today)
    except DomainError as refused:
        problem = refused.errors[0]
        messages.warning(request, f"{problem.message(request.LANGUAGE_CODE)} [{problem.code}]")
        try:
            start, end = selectors.report_period(start=None, end=asked_end, today=today)
        except DomainError:
            start, end = selectors.report_period(start=None, end=None, today=today)
    rows = selectors.milestone_report(actor=current_user(request), start=start, end=end)
    return render(
        request,
        "cards/report.html",
        {"rows": rows, "totals": selectors.report_totals(rows), "start": start, "end": end},
    )


@officer_required
@require_http_methods(["GET", "POST"])
def points_view(request: HttpRequest) -> HttpResponse:
    """The intake points and devices of the area; province officers and commune reviewers open them."""
    user = current_user(request)
    if request.method == "POST":
        post = request.POST
        try:
            if post.get("action") == "device":
                point = _point(selectors.point_list(actor=user), int(post.get("point") or 0))
                services.intake_device_register(
                    actor=Actor(user),
                    point=point,
                    serial=post.get("serial", ""),
                    has_iris=post.get("has_iris") == "on",
                )
            else:
                try:
                    commune = unit_get(
                        structure="2025", level="commune", code=post.get("commune", "").strip()[:5]
                    )
                except AdminUnit.DoesNotExist:
                    raise NotFoundError("commune") from None
                services.intake_point_create(
                    actor=Actor(user),
                    code=post.get("code", ""),
                    name=post.get("name", ""),
                    kind=post.get("kind", ""),
                    commune=commune,
                    team=post.get("team", ""),
                    shifts="".join(sorted(set(post.getlist("shifts")) & {"1", "2", "3"})),
                )
        except (NotFoundError, ValueError):
            messages.error(request, _("Không tìm thấy (ngoài địa bàn hoặc không tồn tại)"))
        except DomainError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Đã lưu"))
        return redirect("cards:points")
    return render(
        request,
        "cards/points.html",
        {"points": selectors.point_list(actor=user), "kinds": IntakePoint.Kind.choices},
    )
