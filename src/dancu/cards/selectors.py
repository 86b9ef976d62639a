"""Every read of the cards app: scoped to the actor's jurisdiction and, for personal data, logged.

An application, a card or a batch outside the actor's area and one that does not exist give the same
NotFoundError.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import access_log_record
from dancu.cards import mrz, printing, qr
from dancu.cards.models import Application, Biometric, Card, IntakePoint, ProductionBatch
from dancu.cards.scope import application_scope, batch_scope, card_scope, point_scope
from dancu.cards.verify import Verdict
from dancu.cards.workdays import working_days_between
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.lib.partial_date import PartialDate, PartialDateError
from dancu.lib.pin import ungrouped
from dancu.lib.vntext import fold_name, nfc, text_errors
from dancu.registry.models import Citizen, IdentityCardRecord
from dancu.registry.selectors import citizen_get

Channel = AccessLog.Channel
MAX_PAGE = 200

# Why the card pages read a citizen's data (NĐ 13/2023 asks for the purpose of every processing): the
# work itself, whatever purpose the officer chose for the registry's pages on the home page, as the API's
# card endpoints write theirs (cards/api.py). In Vietnamese, the language of the record; pages translate it.
CARD_PURPOSE = gettext_noop("Cấp thẻ căn cước")


def _log(  # noqa: PLR0917 (a private shorthand for access_log_record)
    actor: User,
    citizen_ids: list[int],
    action: AccessLog.Action,
    channel: Channel,
    purpose: str,
    detail: str = "",
) -> None:
    access_log_record(
        actor=actor, citizen_ids=citizen_ids, action=action, channel=channel, purpose=purpose, detail=detail
    )


def _vietnamese_label(choices: type[models.TextChoices], value: str) -> str:
    """A choice's label as the access log keeps it: in Vietnamese, the language auditors read it in,
    whatever the language of the page that made the read (the labels' msgids are the Vietnamese)."""
    with translation.override("vi"):
        return str(dict(choices.choices).get(value, value))


def _applications(actor: User) -> QuerySet[Application]:
    return Application.objects.filter(application_scope(actor)).select_related(
        "citizen", "point__commune", "officer", "device", "batch"
    )


def application_get(
    *, actor: User, pk: int, purpose: str, channel: Channel = Channel.WEB, part: str = ""
) -> Application:
    """An application of the actor's area. `part` names, in the log's note, what of it is shown when that
    is not the application's page (its receipt): each is a request, and a read, of its own."""
    application = _applications(actor).filter(pk=pk).first()
    if application is None:
        raise NotFoundError("application")
    _log(
        actor,
        [application.citizen_id],
        AccessLog.Action.VIEW,
        channel,
        purpose,
        f"hồ sơ cấp thẻ {application.number}" + (f": {part}" if part else ""),
    )
    return application


def application_biometric(
    *, actor: User, pk: int, kind: str, purpose: str, channel: Channel = Channel.WEB
) -> Biometric:
    """One captured image of an application in the actor's area (the face for the officer's screen)."""
    image = (
        Biometric.objects.filter(application__in=Application.objects.filter(application_scope(actor)))
        .filter(application_id=pk, kind=kind)
        .select_related("application")
        .first()
    )
    if image is None:
        raise NotFoundError("biometric")
    _log(
        actor,
        [image.application.citizen_id],
        AccessLog.Action.VIEW,
        channel,
        purpose,
        # Which application's image, as the application's own rows name it.
        f"hồ sơ cấp thẻ {image.application.number}: ảnh sinh trắc: {_vietnamese_label(Biometric.Kind, kind)}",
    )
    return image


@dataclass
class QueueRow:
    application: Application
    days_left: int  # working days to the due date; negative when overdue

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


@dataclass
class ApplicationQueue:
    rows: list[QueueRow]
    counts: dict[str, int]
    overdue: int
    total: int  # the applications the filter and search match, on every page
    today: date = field(default_factory=timezone.localdate)
    page: int = 1
    pages: int = 1

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def past_the_end(self) -> bool:
        return self.page > self.pages


def open_application_counts(actor: User) -> tuple[int, int]:
    """How many applications of the actor's area are in progress, and how many of those are past the day
    they were due: counts, no record is read."""
    open_apps = Application.objects.filter(application_scope(actor), status__in=Application.OPEN_STATUSES)
    return open_apps.count(), open_apps.filter(due_on__lt=timezone.localdate()).count()


# The queue's status filter besides Application.Status's values: "" is the queue's own view (the open
# applications, or every one when searching), "all" is every application whatever its status.
QUEUE_ALL = "all"
QUEUE_PAGE = 50
QUEUE_QUERY_LENGTH = 100
# Số biên nhận as the receipt prints it (HS and ten digits, cards.models.Application.number), or the
# digits alone as read out over the counter.
_NUMBER_RE = re.compile(r"^(?:HS([0-9]{1,10})|([0-9]{10}))$", re.IGNORECASE)
_PIN_RE = re.compile(r"^[0-9]{12}$")
# Số CMND: the nine digits of the old identity card (Citizen.old_id_number), which many citizens still
# carry to the counter. Nine digits are neither a PIN (12) nor a receipt's number (10), so none of the
# three can be read as another.
_OLD_ID_RE = re.compile(r"^[0-9]{9}$")
# How a refusal names the search box (the field's label on the page).
_QUEUE_QUERY_LABEL = (
    "Số định danh, số CMND, số hồ sơ hoặc họ tên",
    "PIN, old CMND, application number or name",
)


def _queue_search(text: str) -> Q:
    """What a queue search matches: a PIN (typed or read out in groups, "001 090 123 456"), an old CMND
    (9 digits, grouped or not), an application number ("HS0000000123"), or a name with or without tone
    marks, folded as the registry's search folds it (lib.vntext.fold_name, the key Citizen.name_key is
    kept in) so that both find the same people."""
    problems = text_errors(text, field="q", max_length=QUEUE_QUERY_LENGTH, label=_QUEUE_QUERY_LABEL)
    if problems:
        raise DomainError(problems)
    # The separators of a number read out or copied from a receipt; a name keeps its spaces.
    compact = ungrouped(text)
    if _PIN_RE.match(compact):
        return Q(citizen__pin=compact)
    if _OLD_ID_RE.match(compact):
        # The whole number, never a part of it: the unique index on old_id_number serves an exact match,
        # and a part of a number would list strangers who share some digits.
        return Q(citizen__old_id_number=compact)
    number = _NUMBER_RE.match(compact)
    if number:
        return Q(pk=int(number.group(1) or number.group(2)))
    key = fold_name(text)
    if not any(ch.isalpha() for ch in key) or any(ch.isdigit() for ch in key):
        raise DomainError(
            FieldError(
                "q",
                "search.text",
                "Nhập số định danh (12 số), số CMND (9 số), số hồ sơ (HS và 10 số) hoặc họ tên",
                "Enter a PIN (12 digits), an old CMND (9 digits), an application number (HS and 10 digits) "
                "or a name",
            )
        )
    # As the registry's search does: the folded name starts with the text typed ("nguyen van h" finds
    # Nguyễn Văn Hùng, on the index of name_key), and a single word also matches a given name ("hung").
    by_name = Q(citizen__name_key__startswith=key)
    if " " not in key:
        by_name |= Q(citizen__name_key__endswith=f" {key}")
    return by_name


def _queue_note(status: str, text: str, page: int) -> str:
    """The access log's note of a queue read, in Vietnamese: the status, the words searched (cut to what
    the row holds) and the page, so that an auditor can tell why a citizen was listed."""
    note = "hàng chờ hồ sơ cấp thẻ"
    if status == QUEUE_ALL:
        note += ": mọi trạng thái"
    elif status:
        note += f": {_vietnamese_label(Application.Status, status)}"
    if text:
        note += f"; từ khoá: {' '.join(text.split())[:50]}"
    if page > 1:
        note += f"; trang {page}"
    return note


def application_queue(
    *,
    actor: User,
    purpose: str,
    status: str = "",
    overdue_only: bool = False,
    text: str = "",
    page: int = 1,
    limit: int = QUEUE_PAGE,
    channel: Channel = Channel.WEB,
) -> ApplicationQueue:
    """The applications of the actor's area, the most urgent first, a page at a time, with working days
    left and overdue.

    `text` searches by PIN, old CMND, application number or name. Without it the queue lists the
    applications in progress; with it, every status, since the citizen asking "where is my card?" may
    have been given it or refused already. A status (or QUEUE_ALL) given narrows or widens either. A
    search the rules refuse, or a status not known, raises DomainError naming its field, and nothing is
    read.
    """
    text = text.strip()
    condition = _queue_search(text) if text else Q()
    if status not in {"", QUEUE_ALL, *Application.Status.values}:
        raise DomainError(
            FieldError("status", "queue.status", "Trạng thái không hợp lệ", "Unknown application status")
        )
    today = timezone.localdate()
    limit = max(1, min(limit, MAX_PAGE))
    scoped = Application.objects.filter(application_scope(actor))
    counts = {row["status"]: row["n"] for row in scoped.order_by().values("status").annotate(n=Count("pk"))}
    open_apps = scoped.filter(status__in=Application.OPEN_STATUSES)
    overdue = open_apps.filter(due_on__lt=today).count()
    rows_qs = _applications(actor).filter(condition)
    if status and status != QUEUE_ALL:
        rows_qs = rows_qs.filter(status=status)
    elif not status and not text:
        rows_qs = rows_qs.filter(status__in=Application.OPEN_STATUSES)
    if overdue_only:
        rows_qs = rows_qs.filter(due_on__lt=today, status__in=Application.OPEN_STATUSES)
    # Paged by number, as the registry's lists are: a page past the last (a link kept from a longer
    # queue) is empty and says which page it is, rather than quietly showing another one.
    paginator = Paginator(rows_qs.order_by("due_on", "pk"), limit)
    page = max(1, page)
    applications = list(paginator.page(page).object_list) if page <= paginator.num_pages else []
    _log(
        actor,
        [a.citizen_id for a in applications],
        AccessLog.Action.SEARCH,
        channel,
        purpose,
        _queue_note(status, text, page),
    )
    return ApplicationQueue(
        rows=[QueueRow(a, working_days_between(today, a.due_on)) for a in applications],
        counts=counts,
        overdue=overdue,
        total=paginator.count,
        today=today,
        page=page,
        pages=paginator.num_pages,
    )


def _card(actor: User, pk: int) -> Card:
    card = (
        Card.objects.filter(card_scope(actor))
        .filter(pk=pk)
        .select_related("citizen", "application__point__commune", "replaced_by")
        .first()
    )
    if card is None:
        raise NotFoundError("card")
    return card


def card_get(*, actor: User, pk: int, purpose: str, channel: Channel = Channel.WEB, part: str = "") -> Card:
    """A card of the actor's area. `part` names, in the log's note, what is done with it when that is not
    its page (a change of its state), as application_get's does."""
    card = _card(actor, pk)
    note = f"thẻ {card.serial}" + (f": {part}" if part else "")
    _log(actor, [card.citizen_id], AccessLog.Action.VIEW, channel, purpose, note)
    return card


# The sides of a card as the card's page draws them, and the log's note of each (in Vietnamese).
CARD_SIDES = {"front": "ảnh mặt trước", "back": "ảnh mặt sau"}


@dataclass
class CardPicture:
    card: Card
    side: str
    face: bytes | None  # the portrait printed on the front; None for the back or when none was captured


def card_picture(
    *, actor: User, pk: int, side: str, purpose: str, channel: Channel = Channel.WEB
) -> CardPicture:
    """What one side of a card shows, to draw it: the front carries the portrait and the printed fields,
    the back the residence and the machine-readable zone. Each picture is a request of its own, which
    can be made without the card's page (and the page without it), so each is logged, under a note of its
    own ("thẻ VN…: ảnh mặt trước"): the page and its two pictures used to be three rows alike. A side the
    card does not have is not found, and nothing is logged."""
    if side not in CARD_SIDES:
        raise NotFoundError("side")
    card = _card(actor, pk)
    face = None
    if side == "front":
        stored = (
            Biometric.objects.filter(application_id=card.application_id, kind=Biometric.Kind.FACE)
            .values_list("image", flat=True)
            .first()
        )
        face = bytes(stored) if stored else None
    _log(
        actor,
        [card.citizen_id],
        AccessLog.Action.VIEW,
        channel,
        purpose,
        f"thẻ {card.serial}: {CARD_SIDES[side]}",
    )
    return CardPicture(card=card, side=side, face=face)


@dataclass
class CardHistory:
    citizen: Citizen
    cards: list[Card]
    records: list[IdentityCardRecord]
    applications: list[Application]


def card_history(
    *, actor: User, citizen_pk: int, purpose: str, channel: Channel = Channel.WEB
) -> CardHistory:
    """Every card of a citizen (ours and the older ones the registry knows), newest first."""
    citizen = citizen_get(actor=actor, pk=citizen_pk, purpose=purpose, channel=channel)
    return CardHistory(
        citizen=citizen,
        cards=list(citizen.cards.select_related("replaced_by").order_by("-issued_on", "-pk")),
        records=sorted(citizen.card_records.all(), key=lambda r: r.issued_on, reverse=True),
        applications=list(citizen.card_applications.select_related("point").order_by("-taken_at")),
    )


def batch_list(*, actor: User, limit: int = 50) -> list[ProductionBatch]:
    """Batches are numbers and counts, not personal data: not logged."""
    return list(
        ProductionBatch.objects.filter(batch_scope(actor))
        .select_related("province")
        .order_by("-created_at")[:limit]
    )


def batch_get(*, actor: User, pk: int) -> ProductionBatch:
    batch = (
        ProductionBatch.objects.filter(batch_scope(actor)).filter(pk=pk).select_related("province").first()
    )
    if batch is None:
        raise NotFoundError("batch")
    return batch


def batch_applications(
    *, actor: User, batch: ProductionBatch, purpose: str, channel: Channel = Channel.WEB, export: bool = False
) -> list[Application]:
    """The applications of a batch (for its page, its export or its printable PDF); each citizen logged."""
    if not ProductionBatch.objects.filter(batch_scope(actor)).filter(pk=batch.pk).exists():
        raise NotFoundError("batch")
    applications = list(
        Application.objects.filter(batch=batch)
        .select_related("citizen", "point")
        .prefetch_related("citizen__residences__commune__parent")
        .order_by("reviewed_at", "pk")
    )
    _log(
        actor,
        [a.citizen_id for a in applications],
        AccessLog.Action.EXPORT if export else AccessLog.Action.VIEW,
        channel,
        purpose,
        f"lô sản xuất {batch.number}",
    )
    return applications


def point_list(*, actor: User) -> list[IntakePoint]:
    return list(
        IntakePoint.objects.filter(point_scope(actor))
        .filter(active=True)
        .select_related("commune")
        .prefetch_related("devices")
        .order_by("commune__name", "name")
    )


def approved_waiting(*, actor: User) -> int:
    return Application.objects.filter(application_scope(actor), status=Application.Status.APPROVED).count()


# Reporting for the campaign ---------------------------------------------------------------------------------

MILESTONES: dict[str, str] = {
    EventType.CARD_APPLICATION_TAKEN: "taken",
    EventType.CARD_APPLICATION_APPROVED: "approved",
    EventType.CARD_PRODUCED: "produced",
    EventType.CARD_DELIVERED: "delivered",
}


@dataclass
class ReportRow:
    day: date
    intake_point: str
    team: str
    shift: str
    officer: str
    counts: dict[str, int]


# A milestone report covers one day to about a quarter (93 days).
REPORT_MAX_DAYS = 93


def report_period(*, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The days a milestone report covers: the week up to `end` (today by default) unless `start` is given.

    Refused with the field named: a day outside the years dates in dancu take (the calendar ends at year
    9999, and the report reads a day past its end), or a range that is empty or longer than 93 days.
    """
    for name, day in (("start", start), ("end", end)):
        if day is not None:
            try:
                PartialDate.from_date(day)  # the years a date in dancu may take, and the rule's message
            except PartialDateError as exc:
                raise DomainError(exc.field_error(name)) from None
    end = end or today
    start = start or end - timedelta(days=6)
    if start > end or (end - start).days >= REPORT_MAX_DAYS:
        raise DomainError(
            FieldError(
                "start", "report.range", "Khoảng ngày phải từ 1 đến 93 ngày", "The range must be 1 to 93 days"
            )
        )
    return start, end


def milestone_report(*, actor: User, start: date, end: date) -> list[ReportRow]:
    """Per day, intake point, team, shift and officer: applications taken, approved, produced, delivered.

    Counted from the trail (the milestone events), over the intake points of the actor's area. These are
    aggregate figures, not personal data, so the read is not logged. The officer of a row is whoever took
    the step (the intake officer for "taken", the reviewer for "approved").
    """
    points = {p.pk: p for p in IntakePoint.objects.filter(point_scope(actor))}
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    events = AuditEvent.objects.filter(
        event_type__in=list(MILESTONES),
        occurred_at__gte=since,
        occurred_at__lt=until,
        unit_id__in={p.commune_id for p in points.values()},
    ).values_list("event_type", "occurred_at", "actor_label", "data")
    tally: dict[tuple[date, str, str, str, str], Counter[str]] = {}
    for event_type, occurred_at, actor_label, data in events.iterator():
        point = points.get(int(data.get("intake_point_id") or 0)) if isinstance(data, dict) else None
        if point is None:
            continue
        key = (
            timezone.localtime(occurred_at).date(),
            point.name,
            data.get("team", ""),
            data.get("shift", ""),
            actor_label,
        )
        tally.setdefault(key, Counter())[MILESTONES[event_type]] += 1
    return [
        ReportRow(
            day, point, team, shift, officer, {name: counts.get(name, 0) for name in MILESTONES.values()}
        )
        for (day, point, team, shift, officer), counts in sorted(tally.items())
    ]


def report_totals(rows: list[ReportRow]) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    for row in rows:
        totals.update(row.counts)
    return {name: totals.get(name, 0) for name in MILESTONES.values()}


def _mrz_expiry(value: str) -> date | None:
    try:
        return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        return None


# The fields of a QR or MRZ compared with the card as printed, and how the verdict names each of them.
_PRINTED_FIELDS: dict[str, tuple[str, str]] = {
    "cmnd": ("Số CMND", "The CMND number"),
    "full_name": ("Họ, chữ đệm và tên", "The full name"),
    "birth_date": ("Ngày sinh", "The date of birth"),
    "sex": ("Giới tính", "The sex"),
    "address": ("Nơi thường trú", "The place of permanent residence"),
}


def _comparable(value: object) -> str:
    # Case and spacing are not data: a reader app may change either, the person on the card is the same.
    return " ".join(nfc(str(value)).split()).casefold()


def _printed_values(verdict: Verdict, card: Card) -> dict[str, str]:
    """What the card found in the registry carries, in the form `verify_text` gives the code read."""
    printed = card.printed
    if verdict.kind == "qr":
        # As `printing.qr_payload` writes them and `qr.parse` reads them back.
        return {
            "cmnd": printed.get("old_id_number", ""),
            "full_name": printed.get("full_name", ""),
            "birth_date": str(PartialDate.from_storage(printed["birth_date"]))
            if printed.get("birth_date")
            else "",
            "sex": qr.SEX_LABELS.get(printed.get("sex", ""), ""),
            "address": str(printed.get("residence", "")).replace(qr.SEPARATOR, "/"),
        }
    if verdict.kind == "mrz":
        parsed, _ = mrz.validate(printing.mrz_lines(printed, card.expires_on))
        if parsed is None:
            return {}
        return {
            "full_name": f"{parsed.primary_name} {parsed.secondary_name}".strip(),
            "birth_date": parsed.birth,
            "sex": parsed.sex,
        }
    return {}  # a chip document is signed by the issuer: its signature already vouches for its fields


def _printed_mismatches(verdict: Verdict, card: Card) -> list[FieldError]:
    summary = verdict.summary
    read_keys = {"full_name": "name", "birth_date": "birth"} if verdict.kind == "mrz" else {}
    errors: list[FieldError] = []
    for name, value in _printed_values(verdict, card).items():
        if _comparable(summary.get(read_keys.get(name, name), "")) == _comparable(value):
            continue
        label_vi, label_en = _PRINTED_FIELDS[name]
        errors.append(
            FieldError(
                name,
                "card.data_mismatch",
                f"{label_vi} trong mã đọc được khác với thẻ đã cấp cho số định danh này",
                f"{label_en} read differs from the card issued for this PIN",
            )
        )
    return errors


def registered_state_errors(
    *, actor: User, verdict: Verdict, purpose: str, channel: Channel = Channel.WEB
) -> list[FieldError]:
    """What the registry says of a card that passed the offline checks (signature, check digits, expiry):
    the card must be one it issued, still in use, and its holder alive. The verification page and the API
    are online and ask; `dancu card verify` is offline and checks what the card carries only.

    The card is found by its serial (chip), or by the PIN and the printed issue date (QR) or expiry (MRZ),
    and every other field a QR or MRZ carries must be what was printed on that card (`card.data_mismatch`
    names the field). Only the verdict reaches the reader, not the record; the look-up is logged as a
    comparison."""
    if verdict.errors or verdict.kind not in ("chip", "mrz", "qr"):
        return []
    summary = verdict.summary
    cards = Card.objects.filter(number=str(summary.get("pin", ""))).exclude(state=Card.State.PRODUCED)
    if verdict.kind == "chip":
        cards = cards.filter(serial=str(summary.get("serial", "")))
    elif verdict.kind == "qr":
        cards = cards.filter(issued_on=str(summary.get("issued_on", "")))
    else:
        expiry = str(summary.get("expiry", ""))
        cards = (
            cards.filter(expires_on=_mrz_expiry(expiry))
            if expiry != "<<<<<<"
            else cards.filter(expires_on__isnull=True)
        )
    card = cards.select_related("citizen").order_by("-issued_on", "-pk").first()
    if card is None:
        return [
            FieldError(
                "card",
                "card.not_registered",
                "Không có thẻ này trong cơ sở dữ liệu",
                "No such card is registered",
            )
        ]
    _log(actor, [card.citizen_id], AccessLog.Action.VERIFY, channel, purpose, f"thẻ {card.serial}")
    # A QR or an MRZ is not signed: anyone who knows a PIN and an issue date (or expiry) can write one
    # with another name, birth date or sex. What it carries must be what was printed on the card found.
    # The reader holds the card and is told which field differs, never the registry's value; nor is the
    # state of the real holder's card told to someone who holds a card that is not theirs.
    mismatches = _printed_mismatches(verdict, card)
    if mismatches:
        return mismatches
    errors: list[FieldError] = []
    if card.state != Card.State.ACTIVE:
        reason = f": {card.state_reason}" if card.state_reason else ""
        errors.append(
            FieldError(
                "card",
                "card.not_in_use",
                f"Thẻ đang ở trạng thái «{card.get_state_display()}»{reason}",
                f"The card is «{card.state}» in the registry{reason}",
            )
        )
    if card.citizen.is_deceased:
        errors.append(
            FieldError(
                "citizen",
                "citizen.deceased",
                "Người mang thẻ đã chết",
                "The card's holder is recorded as deceased",
            )
        )
    return errors
