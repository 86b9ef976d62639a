"""Level-2 registration in person and activation: Lan registers Hùng's e-ID account at the Hoàn Kiếm
station after checking his card and face; Hùng activates it at home with the code on his slip."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.utils import timezone, translation

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services as cards
from dancu.cards.models import Card
from dancu.eid import services
from dancu.eid.models import EidAccount
from dancu.eid.selectors import account_of, own_record, sign_in_refusal
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.conftest import SYSTEM, People, Personas, make_citizen
from tests.eid.conftest import CITIZEN_PASSWORD, Holder

pytestmark = pytest.mark.django_db


def trail() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "accounts": EidAccount.objects.count(),
        "events": AuditEvent.objects.count(),
    }


def refusal(exc: pytest.ExceptionInfo[DomainError]) -> list[str]:
    return [e.code for e in exc.value.errors]


def test_lan_registers_hungs_level_2_account(personas: Personas, delivered: Card) -> None:
    hung = delivered.citizen

    account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung, identity_checked=True
    )

    user = account.user
    assert (user.username, user.role, user.police_unit, user.is_officer) == (hung.pin, "citizen", None, False)
    assert not is_password_usable(user.password)
    assert (account.level, account.status, account.created_by, account.citizen) == (
        2,
        "pending",
        personas.lan,
        hung,
    )
    # Only the digest is kept, and the code as typed (lower case, no dashes) matches it.
    assert len(code) == 14
    assert code not in account.activation_digest
    assert account.activation_digest == services.activation_code_digest(code.replace("-", "").lower())
    [event] = AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_REGISTERED)
    assert (event.actor, event.subject_id, event.unit) == (personas.lan, str(account.pk), hung.area_commune)


def _refused(actor: User, citizen: Citizen, *, identity_checked: bool = True) -> list[str]:
    before = trail()
    with pytest.raises(DomainError) as exc:
        services.eid_account_register(actor=Actor(actor), citizen=citizen, identity_checked=identity_checked)
    assert trail() == before
    for error in exc.value.errors:
        assert error.message_vi
        assert error.message_en
        assert error.message_vi != error.message_en
    return refusal(exc)


def test_only_commune_officers_register(personas: Personas, delivered: Card) -> None:
    assert _refused(personas.cuong, delivered.citizen) == ["role.not_allowed"]
    assert _refused(personas.an, delivered.citizen) == ["role.not_allowed"]


def test_a_citizen_outside_the_officers_area_is_not_found(personas: Personas, delivered: Card) -> None:
    before = trail()
    with pytest.raises(NotFoundError):
        services.eid_account_register(
            actor=Actor(personas.binh), citizen=delivered.citizen, identity_checked=True
        )
    assert trail() == before


def test_the_officer_must_check_the_face_against_the_card(personas: Personas, delivered: Card) -> None:
    assert _refused(personas.lan, delivered.citizen, identity_checked=False) == ["eid.identity_not_checked"]


def test_a_citizen_without_an_active_card_is_refused(personas: Personas, people: People) -> None:
    assert _refused(personas.lan, people.hung) == ["card.none_active"]


def test_a_lost_card_is_not_an_active_card(personas: Personas, delivered: Card) -> None:
    cards.card_change_state(actor=Actor(personas.lan), card=delivered, state="lost", note="Công dân báo mất")

    assert _refused(personas.lan, delivered.citizen) == ["card.none_active"]


def test_a_deceased_citizen_is_refused(personas: Personas, delivered: Card) -> None:
    registry.citizen_update(
        actor=SYSTEM,
        citizen=delivered.citizen,
        changes={"date_of_death": "2026-01-02"},
        reason="Khai tử",
        source_document="Trích lục khai tử 1/2026",
    )

    assert _refused(personas.lan, delivered.citizen) == ["citizen.deceased"]


def test_a_record_merged_away_is_refused(personas: Personas, delivered: Card) -> None:
    twin = make_citizen(full_name="Nguyễn Văn Hùng", birth_date="1990-05-18")
    Citizen.objects.filter(pk=delivered.citizen.pk).update(merged_into=twin)
    delivered.citizen.refresh_from_db()

    assert _refused(personas.lan, delivered.citizen) == ["citizen.merged"]


def test_a_second_account_is_refused(personas: Personas, hung_account: Holder) -> None:
    assert _refused(personas.lan, hung_account.card.citizen) == ["eid.account_exists"]


@pytest.mark.parametrize("expired", [False, True])
def test_registering_a_pending_account_again_issues_a_new_code(
    personas: Personas, delivered: Card, expired: bool
) -> None:
    hung = delivered.citizen
    account, old_code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung, identity_checked=True
    )
    if expired:
        EidAccount.objects.filter(pk=account.pk).update(
            activation_expires_at=timezone.now() - timedelta(hours=1)
        )

    again, new_code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung, identity_checked=True
    )

    assert (again.pk, again.user_id, again.status) == (account.pk, account.user_id, "pending")
    assert new_code != old_code
    assert again.activation_expires_at is not None
    assert again.activation_expires_at > timezone.now() + services.ACTIVATION_VALID_FOR - timedelta(minutes=1)
    [event] = AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_CODE_REISSUED)
    assert (event.actor, event.subject_id, event.unit) == (personas.lan, str(account.pk), hung.area_commune)
    assert event.data == {"citizen": hung.pk, "previous_code_expired": expired}
    assert EidAccount.objects.count() == User.objects.filter(role=User.Role.CITIZEN).count() == 1
    # The old code is void; the new one activates.
    with pytest.raises(DomainError) as exc:
        services.eid_account_activate(pin=hung.pin, code=old_code, password=CITIZEN_PASSWORD)
    assert refusal(exc) == ["eid.activation_refused"]
    services.eid_account_activate(pin=hung.pin, code=new_code, password=CITIZEN_PASSWORD)


def test_registering_again_still_asks_for_the_face_and_the_card(personas: Personas, delivered: Card) -> None:
    _register(personas, delivered)

    assert _refused(personas.lan, delivered.citizen, identity_checked=False) == ["eid.identity_not_checked"]
    cards.card_change_state(actor=Actor(personas.lan), card=delivered, state="lost", note="Báo mất")
    assert _refused(personas.lan, delivered.citizen) == ["card.none_active"]


def _register(personas: Personas, card: Card) -> tuple[EidAccount, str]:
    return services.eid_account_register(
        actor=Actor(personas.lan), citizen=card.citizen, identity_checked=True
    )


def test_hung_activates_with_the_code_and_a_password(personas: Personas, delivered: Card) -> None:
    account, code = _register(personas, delivered)

    services.eid_account_activate(
        pin=delivered.citizen.pin, code=f" {code.lower()} ", password=CITIZEN_PASSWORD
    )

    account.refresh_from_db()
    assert (account.status, account.activation_digest, account.activation_expires_at) == ("active", "", None)
    assert account.user.check_password(CITIZEN_PASSWORD)
    assert sign_in_refusal(account) is None
    [event] = AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_ACTIVATED)
    assert event.actor == account.user
    # The code works once.
    with pytest.raises(DomainError):
        services.eid_account_activate(pin=delivered.citizen.pin, code=code, password=CITIZEN_PASSWORD)


@pytest.mark.parametrize("what", ["pin", "code", "expired"])
def test_a_wrong_pin_a_wrong_code_and_an_old_code_get_the_same_answer(
    personas: Personas, delivered: Card, what: str
) -> None:
    account, code = _register(personas, delivered)
    pin = delivered.citizen.pin
    if what == "pin":
        pin = pin[:-1] + str((int(pin[-1]) + 1) % 10)
    elif what == "code":
        code = "AAAA-BBBB-CCCC"
    else:
        EidAccount.objects.filter(pk=account.pk).update(
            activation_expires_at=timezone.now() - timedelta(seconds=1)
        )
    before = trail()

    with pytest.raises(DomainError) as exc:
        services.eid_account_activate(pin=pin, code=code, password=CITIZEN_PASSWORD)

    assert refusal(exc) == ["eid.activation_refused"]
    assert trail() == before
    account.refresh_from_db()
    assert account.status == "pending"


@pytest.mark.parametrize(
    ("what", "code"),
    [("death", "eid.locked_death"), ("merge", "eid.locked_merged"), ("card", "eid.locked_card")],
)
def test_a_code_handed_out_before_a_death_a_merge_or_a_lost_card_activates_nothing(
    personas: Personas, delivered: Card, what: str, code: str
) -> None:
    account, activation_code = _register(personas, delivered)
    hung = delivered.citizen
    if what == "death":
        registry.citizen_update(
            actor=SYSTEM,
            citizen=hung,
            changes={"date_of_death": "2026-01-02"},
            reason="Khai tử",
            source_document="Trích lục khai tử 1/2026",
        )
    elif what == "merge":
        twin = make_citizen(full_name="Nguyễn Văn Hùng", birth_date="1990-05-18")
        Citizen.objects.filter(pk=hung.pk).update(merged_into=twin)
    else:
        cards.card_change_state(actor=Actor(personas.lan), card=delivered, state="lost", note="Báo mất")
    before = trail()

    with pytest.raises(DomainError) as exc:
        services.eid_account_activate(pin=hung.pin, code=activation_code, password=CITIZEN_PASSWORD)

    assert refusal(exc) == [code]
    assert trail() == before
    account.refresh_from_db()
    assert account.status == "pending"
    assert not is_password_usable(account.user.password)


@pytest.mark.parametrize("password", ["short1", "1234567890123", "password123"])
def test_a_weak_password_is_refused_by_the_validators(
    personas: Personas, delivered: Card, password: str
) -> None:
    account, code = _register(personas, delivered)

    with pytest.raises(DomainError) as exc:
        services.eid_account_activate(pin=delivered.citizen.pin, code=code, password=password)

    assert refusal(exc) == ["password.weak"]
    account.refresh_from_db()
    assert account.status == "pending"
    assert "Mật khẩu" in exc.value.errors[0].message_vi


def test_a_weak_password_is_refused_with_its_reasons_in_each_language(
    personas: Personas, delivered: Card
) -> None:
    """The citizen reads why in Vietnamese or in English, whichever language the page is in: the English
    message once carried the reasons in the active language, Vietnamese when the app spoke it."""
    _, code = _register(personas, delivered)

    for active in ("vi", "en"):
        with translation.override(active), pytest.raises(DomainError) as exc:
            services.eid_account_activate(pin=delivered.citizen.pin, code=code, password="Zq8#Lm")
        weak = exc.value.errors[0]
        assert weak.message_vi == "Mật khẩu chưa đủ mạnh: Mật khẩu quá ngắn: phải có ít nhất 10 ký tự."
        assert weak.message_en == (
            "The password is too weak: This password is too short. It must contain at least 10 characters."
        )


def test_a_locked_account_is_refused_with_its_reason(personas: Personas, hung_account: Holder) -> None:
    services.eid_account_lock(actor=Actor(hung_account.user), account=hung_account.account, reason="request")

    hung_account.account.refresh_from_db()
    refused = sign_in_refusal(hung_account.account)
    assert refused is not None
    assert refused.code == "eid.locked"
    assert "Theo yêu cầu của công dân" in refused.message_vi
    [event] = AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_LOCKED)
    assert event.data == {"reason": "request"}
    with pytest.raises(DomainError) as exc:
        services.eid_account_lock(actor=Actor(personas.lan), account=hung_account.account, reason="request")
    assert refusal(exc) == ["eid.already_locked"]
    with pytest.raises(DomainError) as exc:
        services.eid_account_lock(actor=Actor(personas.lan), account=hung_account.account, reason="bored")
    assert refusal(exc) == ["eid.lock_reason"]


def test_the_account_locks_with_the_card_and_on_death(personas: Personas, hung_account: Holder) -> None:
    account = hung_account.account
    assert sign_in_refusal(account) is None

    cards.card_change_state(
        actor=Actor(personas.cuong), card=hung_account.card, state="revoked", grounds="issued_wrongly"
    )
    refused = sign_in_refusal(account)
    assert refused is not None
    assert refused.code == "eid.locked_card"

    Card.objects.filter(pk=hung_account.card.pk).update(state="active", state_reason="")
    assert sign_in_refusal(account) is None
    registry.citizen_update(
        actor=SYSTEM,
        citizen=account.citizen,
        changes={"date_of_death": "2026-01-02"},
        reason="Khai tử",
        source_document="Trích lục khai tử 1/2026",
    )
    account.citizen.refresh_from_db()
    refused = sign_in_refusal(account)
    assert refused is not None
    assert refused.code == "eid.locked_death"


def test_an_expired_card_locks_the_account_before_the_daily_job_runs(hung_account: Holder) -> None:
    today = timezone.localdate()
    Card.objects.filter(pk=hung_account.card.pk).update(
        issued_on=today - timedelta(days=3650), expires_on=today - timedelta(days=1)
    )

    refused = sign_in_refusal(hung_account.account)

    assert refused is not None
    assert refused.code == "eid.locked_card"


def test_a_system_job_registers_no_account(delivered: Card) -> None:
    """Level 2 rests on an officer seeing the citizen and the card: a job without an account is refused."""
    before = trail()

    with pytest.raises(DomainError) as exc:
        services.eid_account_register(actor=SYSTEM, citizen=delivered.citizen, identity_checked=True)

    assert [(e.field, e.code) for e in exc.value.errors] == [("actor", "actor.officer_required")]
    assert trail() == before


def test_a_citizen_user_left_without_its_account_blocks_a_registration_and_is_left_alone(
    personas: Personas, delivered: Card
) -> None:
    """A user named with the citizen's PIN that has no e-ID account (made by hand in the admin): the
    registration finds the name taken and is refused as the citizen having an account, before it writes
    anything (no account, no event, the user as it was)."""
    hung = delivered.citizen
    leftover = User.objects.create_user(username=hung.pin, password=None, role=User.Role.CITIZEN)

    assert _refused(personas.lan, hung) == ["eid.account_exists"]
    assert list(User.objects.filter(username=hung.pin)) == [leftover]


def test_an_account_not_yet_activated_cannot_be_used(personas: Personas, delivered: Card) -> None:
    account, _code = _register(personas, delivered)

    refused = sign_in_refusal(account)

    assert refused is not None
    assert (refused.field, refused.code) == ("account", "eid.not_activated")
    assert "mã kích hoạt" in refused.message("vi")


def test_only_a_citizens_user_has_an_e_id_account(personas: Personas, hung_account: Holder) -> None:
    assert account_of(hung_account.user) == hung_account.account
    assert account_of(personas.lan) is None
    refused = sign_in_refusal(None)
    assert refused is not None
    assert (refused.code, refused.message("en")) == ("eid.no_account", "This is not a citizen's account")


def test_a_record_merged_away_since_the_page_was_opened_is_not_read(hung_account: Holder) -> None:
    """The portal's gate refuses an account whose record was merged away; a merge between the gate and the
    read finds no record either, and logs no read of it."""
    twin = make_citizen(full_name="Nguyễn Văn Hùng", birth_date="1990-05-18")
    Citizen.objects.filter(pk=hung_account.account.citizen_id).update(merged_into=twin)
    reads = AccessLog.objects.count()

    with pytest.raises(NotFoundError):
        own_record(account=hung_account.account)

    assert AccessLog.objects.count() == reads
