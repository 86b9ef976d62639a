"""Reads for e-ID accounts and the citizen's portal.

Officers' selectors are scoped by jurisdiction; the portal's are scoped to "self": every function here
takes the signed-in citizen's account and reads only the record it is tied to, so no id a citizen types
can lead to somebody else's data. Each read of personal data writes an access-log row naming the citizen
as the reader, so the citizen's own look-ups appear in the same log as officers' reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.selectors import records_of_person
from dancu.audit.services import access_log_record
from dancu.cards.models import Application, Biometric, Card
from dancu.eid.models import EidAccount
from dancu.lib.errors import FieldError, NotFoundError
from dancu.registry.models import AbsenceDeclaration, Citizen, HouseholdMember, Residence

# Written to the access log in Vietnamese, the language of the record (as officers' purposes are).
SELF_PURPOSE = gettext_noop("Công dân tự tra cứu dữ liệu của mình")


_LOCK_REASONS_EN = {
    EidAccount.LockReason.REQUEST: "on the citizen's request",
    EidAccount.LockReason.DEATH: "the citizen has died",
    EidAccount.LockReason.CARD: "the identity card is no longer valid",
}


def has_valid_card(citizen: Citizen) -> bool:
    """Whether the citizen holds an active card that has not passed its expiry date (the daily job that
    marks expired cards may not have run yet today) and carries the citizen's PIN.

    After a PIN is re-issued (a change of sex) the card still shows the cancelled number and the old sex;
    the law requires a new card (Luật Căn cước 2023, art. 24), and level 2 rests on the card being the
    citizen's identity, so the old card no longer opens the account."""
    return Card.objects.valid_on(timezone.localdate()).filter(citizen=citizen, number=citizen.pin).exists()


def account_of(user: User) -> EidAccount | None:
    """The e-ID account of a citizen's user, or None for any other account."""
    if user.role != User.Role.CITIZEN:
        return None
    return EidAccount.objects.select_related("citizen").filter(user=user).first()


def citizen_account(citizen: Citizen) -> EidAccount | None:
    """The account of a citizen an officer has already opened (through a scoped, logged selector)."""
    return EidAccount.objects.filter(citizen=citizen).first()


def sign_in_refusal(account: EidAccount | None) -> FieldError | None:
    """Why an account may not sign in or use the portal now, or None.

    An account locks with the card and on death (NĐ 69/2024): the registry and the card decide, read at
    every sign-in and every portal page, so a revoked card or a recorded death closes the portal at once
    and a newly delivered card opens it again without anyone touching the account.
    """
    if account is None:
        return FieldError(
            "account", "eid.no_account", "Không có tài khoản công dân", "This is not a citizen's account"
        )
    if account.status == EidAccount.Status.PENDING:
        return FieldError(
            "account",
            "eid.not_activated",
            "Tài khoản chưa được kích hoạt: hãy dùng mã kích hoạt cán bộ đã cấp",
            "The account is not activated yet: use the activation code the officer gave you",
        )
    if account.status == EidAccount.Status.LOCKED:
        reason = EidAccount.LockReason(account.lock_reason)
        # The label is a lazy translation: the Vietnamese message takes it in Vietnamese whatever the
        # language of the request that asks.
        with translation.override("vi"):
            label_vi = str(reason.label)
        return FieldError(
            "account",
            "eid.locked",
            f"Tài khoản định danh điện tử đã bị khoá ({label_vi}). Liên hệ công an xã, phường nơi cư trú.",
            f"The e-ID account is locked ({_LOCK_REASONS_EN[reason]}). "
            "Contact the commune police where you live.",
        )
    return citizen_refusal(account.citizen)


def citizen_refusal(citizen: Citizen) -> FieldError | None:
    """Why the registry or the card close the citizen's account, whatever its status: asked at every
    sign-in and page, and at activation, so that a code handed out before a death, a merge or the loss of
    the card does not open an account the next sign-in would refuse."""
    if citizen.is_deceased:
        return FieldError(
            "account",
            "eid.locked_death",
            "Tài khoản đã bị khoá: hồ sơ ghi nhận công dân đã mất",
            "The account is locked: the record says the citizen has died",
        )
    if citizen.merged_into_id is not None:
        return FieldError(
            "account",
            "eid.locked_merged",
            "Tài khoản đã bị khoá: hồ sơ đã được hợp nhất. Liên hệ công an xã, phường để đăng ký lại.",
            "The account is locked: the record was merged. Contact the commune police to register again.",
        )
    # A court's declaration stands until the court cancels it (Bộ luật Dân sự 2015, art. 70): whoever signs
    # in under the name meanwhile is not known to be the citizen, as at the desk, which refuses to register
    # them (`services._registration_refusals`). The way back is the cancellation recorded on the record.
    if citizen.missing_declared_on is not None:
        return FieldError(
            "account",
            "eid.locked_missing",
            "Tài khoản đã bị khoá: công dân đã bị tuyên bố mất tích. Nếu bạn đã trở về, hãy mang quyết định "
            "huỷ tuyên bố mất tích của Toà án đến công an xã, phường.",
            "The account is locked: the citizen has been declared missing. If you have returned, bring the "
            "court's decision cancelling the declaration to the commune police.",
        )
    if not has_valid_card(citizen):
        if Card.objects.valid_on(timezone.localdate()).filter(citizen=citizen).exists():
            return FieldError(
                "account",
                "eid.card_old_pin",
                "Tài khoản đã bị khoá: thẻ căn cước mang số định danh cũ đã bị huỷ. "
                "Hãy làm thủ tục cấp đổi thẻ tại công an xã, phường.",
                "The account is locked: the identity card carries your former, cancelled PIN. "
                "Apply for a new card at the commune police.",
            )
        # The way out is named: the account is not closed for good, a new card opens it again without
        # anyone touching it, so the citizen is sent to apply for one rather than to ask about the account.
        return FieldError(
            "account",
            "eid.locked_card",
            "Tài khoản đã bị khoá: thẻ căn cước không còn giá trị (hết hạn, bị mất hoặc bị thu hồi). "
            "Hãy làm thủ tục cấp lại hoặc cấp đổi thẻ tại công an xã, phường; tài khoản tự mở lại khi bạn "
            "nhận thẻ mới.",
            "The account is locked: the identity card is no longer valid (expired, lost or revoked). "
            "Apply for a new card at the commune police; the account opens again by itself once you receive "
            "the new card.",
        )
    return None


def _log(user: User, citizen_id: int, action: AccessLog.Action, detail: str) -> None:
    access_log_record(
        actor=user,
        citizen_ids=[citizen_id],
        action=action,
        channel=AccessLog.Channel.WEB,
        purpose=SELF_PURPOSE,
        detail=detail,
    )


def own_record(*, account: EidAccount) -> Citizen:
    """The citizen's own registry record, with residences, household, family links and absences."""
    citizen = (
        Citizen.objects.filter(pk=account.citizen_id, merged_into__isnull=True)
        .select_related("area_commune__parent")
        .prefetch_related(
            Prefetch(
                "residences",
                queryset=Residence.objects.select_related("commune__parent", "legacy_commune").order_by(
                    F("ended_on").asc(nulls_first=True), "kind", "-registered_on"
                ),
            ),
            Prefetch(
                "household_memberships",
                queryset=HouseholdMember.objects.select_related("household").filter(left_on__isnull=True),
            ),
            "family_links",
            # The absence declarations are part of what the registry holds about the person (Luật Căn
            # cước 2023 art. 9), which they have the right to see; newest first, as the record page.
            Prefetch("absences", queryset=AbsenceDeclaration.objects.order_by("-starts_on", "-pk")),
        )
        .first()
    )
    if citizen is None:
        raise NotFoundError("citizen")
    _log(account.user, citizen.pk, AccessLog.Action.VIEW, "cổng công dân: hồ sơ của mình")
    return citizen


# Reads of the citizen's data shown on one page of "who read my data".
READS_PER_PAGE = 50


@dataclass
class Read:
    """One read of the citizen's data, as the citizen is shown it: the reading body, not the person.

    An officer's read is shown under their police unit, the body answerable for it and the one to
    address a complaint to; an officer's own name is theirs to keep. A system job (the duplicate search,
    the quality checks, an import) is named as the system.
    """

    at: datetime
    reader: str
    automatic: bool
    action: str
    channel: str
    purpose: str


def reads_of_own_data(*, account: EidAccount, page_number: str | int | None) -> tuple[Page, list[Read]]:
    """Who read the citizen's personal data, newest first (NĐ 13/2023: the data subject's right to know
    how their data is processed); the citizen's own reads in the portal are left out."""
    logs = (
        # With the reads of the records merged into the citizen's: the same person's data.
        AccessLog.objects.filter(citizen_id__in=sorted(records_of_person([account.citizen_id])))
        .exclude(actor_id=account.user_id)
        .select_related("reader_unit")
        .order_by("-accessed_at", "-pk")
    )
    page = Paginator(logs, READS_PER_PAGE).get_page(page_number)
    reads = [
        Read(
            at=log.accessed_at,
            # The unit at the time of the read, not the officer's unit now (AccessLog.reader_unit).
            reader=str(log.reader_unit) if log.reader_unit else "",
            automatic=log.actor_id is None,
            action=log.get_action_display(),
            channel=log.get_channel_display(),
            purpose=log.purpose,
        )
        for log in page.object_list
    ]
    _log(
        account.user, account.citizen_id, AccessLog.Action.HISTORY, "cổng công dân: ai đã xem dữ liệu của tôi"
    )
    return page, reads


@dataclass
class Milestone:
    at: datetime
    label: str
    note: str = ""


@dataclass
class CardStory:
    """An application and, once produced, its card, with what happened to them in order."""

    application: Application
    card: Card | None
    milestones: list[Milestone] = field(default_factory=list)


@dataclass
class OwnCards:
    citizen: Citizen
    stories: list[CardStory]

    @property
    def cards(self) -> list[CardStory]:
        return [story for story in self.stories if story.card is not None]

    @property
    def open_applications(self) -> list[CardStory]:
        return [story for story in self.stories if story.card is None]


# The application's milestones the citizen is told about; internal steps (batch files) are left out.
_APPLICATION_EVENTS = (
    EventType.CARD_APPLICATION_TAKEN,
    EventType.CARD_APPLICATION_RESUMED,
    EventType.CARD_APPLICATION_APPROVED,
    EventType.CARD_APPLICATION_REJECTED,
    EventType.CARD_PRODUCED,
    EventType.CARD_PRODUCTION_FAILED,
    EventType.CARD_DELIVERED,
)


def _milestone(event: AuditEvent) -> Milestone:
    if event.event_type == EventType.CARD_STATE_CHANGED:
        to = event.data.get("to", "")
        label = str(Card.State(to).label) if to in Card.State.values else event.event_label
        return Milestone(event.occurred_at, label, event.reason)
    return Milestone(event.occurred_at, event.event_label, event.reason)


def own_cards(*, account: EidAccount) -> OwnCards:
    """Every card application of the citizen, newest first, each with its card and their milestones
    (taken, approved, produced, delivered, then lost, revoked, replaced...) read from the audit trail."""
    citizen = Citizen.objects.get(pk=account.citizen_id)
    applications = list(
        Application.objects.filter(citizen=citizen).select_related("card__replaced_by").order_by("-taken_at")
    )
    cards = {a.pk: getattr(a, "card", None) for a in applications}
    card_ids = {card.pk: a_pk for a_pk, card in cards.items() if card is not None}
    events = AuditEvent.objects.filter(
        Q(
            subject_type="card_application",
            subject_id__in=[str(a.pk) for a in applications],
            event_type__in=_APPLICATION_EVENTS,
        )
        | Q(
            subject_type="card",
            subject_id__in=[str(pk) for pk in card_ids],
            event_type=EventType.CARD_STATE_CHANGED,
        )
    ).order_by("occurred_at", "pk")
    stories = {a.pk: CardStory(application=a, card=cards[a.pk]) for a in applications}
    for event in events:
        application_pk = (
            int(event.subject_id)
            if event.subject_type == "card_application"
            else card_ids[int(event.subject_id)]
        )
        stories[application_pk].milestones.append(_milestone(event))
    _log(account.user, citizen.pk, AccessLog.Action.HISTORY, "cổng công dân: thẻ của mình")
    return OwnCards(citizen=citizen, stories=list(stories.values()))


def own_card(*, account: EidAccount, pk: int) -> tuple[Card, bytes | None]:
    """One of the citizen's own cards with its face photo, for the card image. Any other id, whether it
    exists or not, is a NotFoundError."""
    card = Card.objects.filter(citizen_id=account.citizen_id, pk=pk).first()
    if card is None:
        raise NotFoundError("card")
    face = (
        Biometric.objects.filter(application_id=card.application_id, kind=Biometric.Kind.FACE)
        .values_list("image", flat=True)
        .first()
    )
    _log(account.user, account.citizen_id, AccessLog.Action.VIEW, f"cổng công dân: ảnh thẻ {card.serial}")
    return card, bytes(face) if face else None
