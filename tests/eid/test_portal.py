"""Hùng's portal: his cards with their history and pictures, his record, and nothing of anyone else's;
every read is in the access log under his own name. And Lan's page that registers his account."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services as cards
from dancu.cards.models import Card, IntakeDevice, IntakePoint
from dancu.eid import services as eid_services
from dancu.eid.models import EidAccount
from dancu.eid.selectors import SELF_PURPOSE
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import services as registry_services
from dancu.registry.models import AbsenceDeclaration
from tests.cards.conftest import produce, take
from tests.conftest import SYSTEM, Personas, make_citizen
from tests.eid.conftest import CITIZEN_PASSWORD, Holder, citizen_sign_in

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def hung(hung_account: Holder) -> Client:
    return citizen_sign_in(Client(), hung_account.user)


def own_reads(holder: Holder) -> list[AccessLog]:
    return list(AccessLog.objects.filter(actor=holder.user).order_by("pk"))


def test_hung_sees_his_card_its_state_and_its_history(hung: Client, hung_account: Holder) -> None:
    card = hung_account.card

    page = hung.get("/me/").content.decode()

    assert f'id="card-{card.pk}" data-state="active"' in page
    assert card.serial in page
    assert "Đang sử dụng" in page
    for milestone in (
        "Thu nhận hồ sơ cấp thẻ",
        "Duyệt hồ sơ cấp thẻ",
        "Sản xuất thẻ",
        "Trả thẻ cho công dân",
    ):
        assert milestone in page
    assert f"/me/cards/{card.pk}/front.png" in page
    assert f"/me/cards/{card.pk}/back.png" in page
    [read] = own_reads(hung_account)
    assert (read.citizen_id, read.action, read.purpose) == (card.citizen_id, "history", SELF_PURPOSE)


def test_a_lost_card_shows_as_lost_with_the_date_and_note(
    personas: Personas, hung: Client, hung_account: Holder
) -> None:
    cards.card_change_state(
        actor=Actor(personas.lan), card=hung_account.card, state="lost", note="Công dân báo mất tại chợ"
    )
    # Signed in before the loss: the portal closes with the card (it locks the account)...
    assert hung.get("/me/")["Location"] == "/me/login/"
    # ...and the history is there when a valid card opens it again.
    Card.objects.filter(pk=hung_account.card.pk).update(state="active")
    # A TOTP code is accepted once: the next sign-in uses the next code, as if 30 seconds had passed.
    TOTPDevice.objects.filter(user=hung_account.user).update(last_t=-1)
    client = citizen_sign_in(Client(), hung_account.user)
    page = client.get("/me/").content.decode()
    assert "Bị mất" in page
    assert "Công dân báo mất tại chợ" in page


def test_hung_sees_both_sides_of_his_card(hung: Client, hung_account: Holder) -> None:
    for side in ("front", "back"):
        response = hung.get(f"/me/cards/{hung_account.card.pk}/{side}.png")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(PNG)
        assert "no-store" in response["Cache-Control"]
    details = [read.detail for read in own_reads(hung_account)]
    assert details == [f"cổng công dân: ảnh thẻ {hung_account.card.serial}"] * 2


def test_another_citizens_card_is_not_found(
    personas: Personas, hung: Client, hung_account: Holder, station: IntakePoint, device: IntakeDevice
) -> None:
    thu = make_citizen(full_name="Đỗ Thị Thu", sex="F", birth_date="1992-02-02", address="Số 9 phố Hàng Bạc")
    other = produce(personas, take(personas.lan, thu, station, device), serial="VN00000002")
    missing = Card.objects.order_by("-pk").first().pk + 100  # type: ignore[union-attr]

    answers = [hung.get(f"/me/cards/{pk}/front.png").status_code for pk in (other.pk, missing)]
    wrong_side = hung.get(f"/me/cards/{hung_account.card.pk}/inside.png").status_code

    assert answers == [404, 404]
    assert wrong_side == 404
    assert not AccessLog.objects.filter(citizen=thu).exists()
    assert other.serial not in hung.get("/me/").content.decode()


def test_hung_sees_his_record_and_the_read_is_logged(hung: Client, hung_account: Holder) -> None:
    citizen = hung_account.card.citizen

    page = hung.get("/me/record/").content.decode()

    assert citizen.full_name in page
    assert citizen.pin in page
    assert "Số 1 phố Hàng Trống" in page
    [read] = own_reads(hung_account)
    assert (read.citizen_id, read.action, read.channel, read.purpose) == (
        citizen.pk,
        "view",
        "web",
        SELF_PURPOSE,
    )


def test_hung_sees_his_absence_declarations_on_his_record(hung: Client, hung_account: Holder) -> None:
    citizen = hung_account.card.citizen
    today = timezone.localdate()
    away = registry_services.absence_declare(
        actor=SYSTEM,
        citizen=citizen,
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=200),
        destination="Thành phố Đà Nẵng",
        reason="Đi làm việc",
    )

    page = hung.get("/me/record/").content.decode()

    [row] = re.findall(rf'<li data-absence="{away.pk}"[^>]*>(.*?)</li>', page, flags=re.S)
    assert "Thành phố Đà Nẵng (Đi làm việc)" in row
    assert f"{away.starts_on:%d/%m/%Y} – {away.ends_on:%d/%m/%Y}" in row
    assert "đang tạm vắng" in row
    assert "Chưa khai báo tạm vắng" not in page


def test_the_portal_and_the_record_page_mark_each_declaration_alike(
    hung: Client, hung_account: Holder, personas: Personas, sign_in: Any
) -> None:
    """One status per declaration (AbsenceDeclaration.status): Hùng on his portal and Lan on his record read
    the same badge for each, and the same declarations are greyed, those neither under way nor to come."""
    citizen = hung_account.card.citizen
    today = timezone.localdate()

    def declare(starts_on: date, ends_on: date, *, on: date | None = None) -> AbsenceDeclaration:
        return registry_services.absence_declare(
            actor=SYSTEM,
            citizen=citizen,
            starts_on=starts_on,
            ends_on=ends_on,
            destination="Thành phố Đà Nẵng",
            reason="Đi làm việc",
            today=on or starts_on,
        )

    expired = declare(date(2024, 1, 1), date(2024, 2, 1))
    returned = declare(date(2025, 3, 1), date(2025, 6, 1))
    registry_services.absence_return(
        actor=SYSTEM, absence=returned, returned_on=date(2025, 4, 1), reason="Trở về", today=date(2025, 4, 1)
    )
    moved = declare(date(2025, 7, 1), date(2025, 8, 1))
    # What an arrival in another commune writes on the absence under way (tests/registry/test_arrivals.py).
    AbsenceDeclaration.objects.filter(pk=moved.pk).update(returned_on=date(2025, 7, 15), ended_by_move=True)
    current = declare(today - timedelta(days=3), today + timedelta(days=20), on=today)
    upcoming = declare(today + timedelta(days=30), today + timedelta(days=40), on=today)
    withdrawn = declare(today + timedelta(days=50), today + timedelta(days=60), on=today)
    registry_services.absence_withdraw(actor=SYSTEM, absence=withdrawn, reason="Không đi nữa")
    expected = {
        expired.pk: ("expired", "đã hết hạn", True),
        returned.pk: ("returned", "đã trở về 01/04/2025", True),
        moved.pk: ("ended_by_move", "kết thúc do chuyển nơi thường trú 15/07/2025", True),
        current.pk: ("current", "đang tạm vắng", False),
        upcoming.pk: ("upcoming", "sắp đi", False),
        withdrawn.pk: ("withdrawn", f"đã huỷ khai báo {today:%d/%m/%Y}", True),
    }

    portal = hung.get("/me/record/").content.decode()
    record = sign_in(Client(), personas.lan).get(f"/citizens/{citizen.pk}/").content.decode()

    assert {a.pk: a.status for a in citizen.absences.all()} == {pk: s for pk, (s, _, _) in expected.items()}
    for pk, (_status, badge, muted) in expected.items():
        [(portal_attrs, portal_row)] = re.findall(rf'<li data-absence="{pk}"([^>]*)>(.*?)</li>', portal, re.S)
        [(record_attrs, record_row)] = re.findall(
            rf'<tr( class="muted")? data-absence="{pk}">(.*?)</tr>', record, re.S
        )
        assert re.findall(r'<span class="badge">(.*?)</span>', portal_row) == [badge]
        assert re.findall(r'<span class="badge">(.*?)</span>', record_row) == [badge]
        assert ('class="muted"' in portal_attrs, bool(record_attrs)) == (muted, muted)


def test_a_record_without_absences_says_so(hung: Client) -> None:
    assert "Chưa khai báo tạm vắng" in hung.get("/me/record/").content.decode()


def test_the_portal_asks_for_sign_in(hung_account: Holder) -> None:
    client = Client()
    for path in ("/me/", "/me/record/", f"/me/cards/{hung_account.card.pk}/front.png"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/me/login/?next=")


# Lan's registration page ---------------------------------------------------------------------------------


def test_lan_registers_hung_and_the_code_is_shown_once(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    client = sign_in(Client(), personas.lan)
    url = f"/eid/citizens/{delivered.citizen_id}/register/"
    history = client.get(f"/cards/citizens/{delivered.citizen_id}/").content.decode()
    assert url in history

    unchecked = client.post(url, {})
    assert "đối chiếu khuôn mặt" in unchecked.content.decode()
    assert not EidAccount.objects.exists()

    done = client.post(url, {"identity_checked": "on"})
    body = done.content.decode()
    assert 'id="activation-code"' in body
    assert "no-cache" in done["Cache-Control"] or "max-age=0" in done["Cache-Control"]
    account = EidAccount.objects.get()
    assert account.created_by == personas.lan

    later = client.get(url).content.decode()
    assert 'id="activation-code"' not in later
    assert 'data-status="pending"' in later


def test_a_double_submit_shows_a_code_that_works(personas: Personas, sign_in: Any, delivered: Card) -> None:
    client = sign_in(Client(), personas.lan)
    url = f"/eid/citizens/{delivered.citizen_id}/register/"
    code_of = re.compile(r'id="activation-code">([A-Z0-9-]+)<')

    first = client.post(url, {"identity_checked": "on"}).content.decode()
    second = client.post(url, {"identity_checked": "on"}).content.decode()

    # The browser shows the second answer: it carries a new code, says the earlier one is void, and the
    # code it shows is the one that activates.
    first_code, second_code = code_of.findall(first)[0], code_of.findall(second)[0]
    assert first_code != second_code
    assert 'id="code-reissued"' in second
    assert 'id="code-reissued"' not in first
    pin = delivered.citizen.pin
    form = {"pin": pin, "password": CITIZEN_PASSWORD, "password_again": CITIZEN_PASSWORD}
    assert "Số định danh hoặc mã kích hoạt không đúng" in (
        Client().post("/me/activate/", {**form, "code": first_code}).content.decode()
    )
    assert Client().post("/me/activate/", {**form, "code": second_code})["Location"] == "/me/login/otp/setup/"


def test_a_pending_account_says_when_its_code_expired_and_offers_a_new_one(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    account, _code = eid_services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )
    EidAccount.objects.filter(pk=account.pk).update(activation_expires_at=timezone.now() - timedelta(hours=1))
    client = sign_in(Client(), personas.lan)
    url = f"/eid/citizens/{delivered.citizen_id}/register/"

    page = client.get(url).content.decode()
    # A browser sends the form's hidden fields with the box left unticked.
    unchecked = client.post(url, {"identity_checked": ""}).content.decode()
    renewed = client.post(url, {"identity_checked": "on"}).content.decode()

    assert "Mã kích hoạt đã hết hạn" in page
    assert "Cấp mã kích hoạt mới" in page
    assert "eid.identity_not_checked" in unchecked
    assert 'id="activation-code"' in renewed
    assert AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_CODE_REISSUED).count() == 1


def test_an_officer_of_another_commune_gets_404(personas: Personas, sign_in: Any, delivered: Card) -> None:
    client = sign_in(Client(), personas.binh)
    url = f"/eid/citizens/{delivered.citizen_id}/register/"

    assert client.get(url).status_code == 404
    assert client.post(url, {"identity_checked": "on"}).status_code == 404
    assert client.get("/eid/citizens/999999/register/").status_code == 404
    assert not EidAccount.objects.exists()


def test_a_province_supervisor_sees_the_page_but_cannot_register(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    client = sign_in(Client(), personas.cuong)
    url = f"/eid/citizens/{delivered.citizen_id}/register/"

    assert "Chỉ cán bộ công an xã, phường" in client.get(url).content.decode()
    refused = client.post(url, {"identity_checked": "on"}).content.decode()
    assert "role.not_allowed" in refused
    assert not EidAccount.objects.exists()


# Locking on request -----------------------------------------------------------------------------------------


def test_hung_locks_his_own_account_from_the_portal(hung: Client, hung_account: Holder) -> None:
    unconfirmed = hung.post("/me/lock/", {}, follow=True)
    assert "Hãy đánh dấu xác nhận" in unconfirmed.content.decode()
    assert EidAccount.objects.get().status == "active"

    locked = hung.post("/me/lock/", {"confirm": "on"}, follow=True)

    assert locked.redirect_chain[-1][0] == "/me/login/"
    assert "Đã khoá tài khoản" in locked.content.decode()
    account = EidAccount.objects.get()
    assert (account.status, account.lock_reason) == ("locked", "request")
    assert hung.get("/me/").status_code == 302
    refused = Client().post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    assert "Theo yêu cầu của công dân" in refused.content.decode()


def test_a_double_tap_on_lock_answers_locked_twice(
    hung: Client, hung_account: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second request of a double tap read the account before the first locked it: the portal's
    # gate still sees it active, and the service finds it locked.
    before = EidAccount.objects.get()
    eid_services.eid_account_lock(actor=Actor(hung_account.user), account=before, reason="request")
    monkeypatch.setattr("dancu.eid.views.selectors.account_of", lambda user: before)

    second = hung.post("/me/lock/", {"confirm": "on"}, follow=True)

    assert second.redirect_chain[-1][0] == "/me/login/"
    assert "Đã khoá tài khoản" in second.content.decode()
    assert AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_LOCKED).count() == 1


def test_lan_locks_hungs_account_at_his_request(
    personas: Personas, sign_in: Any, hung_account: Holder
) -> None:
    client = sign_in(Client(), personas.lan)
    url = f"/eid/citizens/{hung_account.card.citizen_id}/register/"

    page = client.post(url, {"action": "lock"}, follow=True).content.decode()

    assert 'data-status="locked"' in page
    event = AuditEvent.objects.get(event_type=EventType.EID_ACCOUNT_LOCKED)
    assert (event.actor, event.reason) == (personas.lan, "Công dân yêu cầu tại trụ sở công an")


def test_only_the_holder_or_an_officer_of_the_area_locks(personas: Personas, hung_account: Holder) -> None:
    account = hung_account.account
    with pytest.raises(DomainError) as exc:
        eid_services.eid_account_lock(actor=Actor(personas.cuong), account=account, reason="request")
    assert exc.value.errors[0].code == "role.not_allowed"
    with pytest.raises(NotFoundError):
        eid_services.eid_account_lock(actor=Actor(personas.binh), account=account, reason="request")
    account.refresh_from_db()
    assert account.status == "active"
    assert not AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_LOCKED).exists()


def test_hung_sees_who_read_his_data_by_unit_and_purpose(
    personas: Personas, hung: Client, hung_account: Holder
) -> None:
    from dancu.audit.services import access_log_record
    from dancu.registry.selectors import citizen_get

    citizen = hung_account.card.citizen
    # Lan opens his record at the station; the duplicate search reads him as a system job; and Thu,
    # another citizen, is read too, which is none of Hùng's business.
    citizen_get(actor=personas.lan, pk=citizen.pk, purpose="Thu thập, cập nhật dữ liệu dân cư")
    access_log_record(
        actor=Actor(system="dancu match --registry"),
        citizen_ids=[citizen.pk],
        action=AccessLog.Action.PROCESS,
        channel=AccessLog.Channel.JOB,
        purpose="Đối chiếu bản ghi trùng",
    )
    thu = make_citizen(full_name="Đỗ Thị Thu", sex="F", birth_date="1992-02-02", address="Số 9 phố Hàng Bạc")
    citizen_get(actor=personas.lan, pk=thu.pk, purpose="Kiểm tra nội dung đặc biệt")
    hung.get("/me/record/")  # his own read: not a read by someone else

    page = hung.get("/me/reads/").content.decode()

    rows = page.split('id="reads"')[1].split("</table>")[0].split("<tr>")[2:]
    assert len(rows) == 2
    # Newest first: the system job, then Lan, shown by her police unit, not by her name.
    assert "Hệ thống (tác vụ tự động)" in rows[0]
    assert "Đối chiếu bản ghi trùng" in rows[0]
    assert str(personas.lan.police_unit) in rows[1]
    assert "Thu thập, cập nhật dữ liệu dân cư" in rows[1]
    cells = [cell.strip() for row in rows for cell in re.findall(r">([^<]*)<", row)]
    assert personas.lan.get_full_name() not in " ".join(cells)
    assert personas.lan.username not in cells
    assert "Kiểm tra nội dung đặc biệt" not in page
    # Reading the list is itself logged, as his own read.
    assert own_reads(hung_account)[-1].detail == "cổng công dân: ai đã xem dữ liệu của tôi"


def test_a_read_stays_with_the_unit_that_made_it_after_a_transfer(
    personas: Personas, hung: Client, hung_account: Holder
) -> None:
    from dancu.registry.selectors import citizen_get

    citizen = hung_account.card.citizen
    then = personas.lan.police_unit
    citizen_get(actor=personas.lan, pk=citizen.pk, purpose="Thu thập, cập nhật dữ liệu dân cư")
    # Lan moves to Bình's unit afterwards: her past read was still made by the Hoàn Kiếm police.
    personas.lan.police_unit = personas.binh.police_unit
    personas.lan.save(update_fields=["police_unit"])

    page = hung.get("/me/reads/").content.decode()

    rows = page.split('id="reads"')[1].split("</table>")[0]
    assert str(then) in rows
    assert str(personas.binh.police_unit) not in rows


def test_old_reads_take_the_readers_unit_when_the_column_is_added(
    personas: Personas, hung_account: Holder
) -> None:
    import importlib

    from django.apps import apps

    from dancu.audit.services import access_log_record

    backfill = importlib.import_module("dancu.audit.migrations.0012_access_log_reader_unit_backfill")
    citizen_id = hung_account.card.citizen_id
    access_log_record(
        actor=personas.lan,
        citizen_ids=[citizen_id],
        action=AccessLog.Action.VIEW,
        channel=AccessLog.Channel.WEB,
        purpose="Xác minh",
    )
    access_log_record(
        actor=Actor(system="dancu match --registry"),
        citizen_ids=[citizen_id],
        action=AccessLog.Action.PROCESS,
        channel=AccessLog.Channel.JOB,
        purpose="Đối chiếu bản ghi trùng",
    )
    AccessLog.objects.update(reader_unit=None)  # as written before the column existed

    backfill.fill_reader_units(apps, None)

    units = dict(AccessLog.objects.values_list("actor_label", "reader_unit"))
    assert units == {
        personas.lan.username: personas.lan.police_unit_id,
        "system:dancu match --registry": None,
    }


def test_who_read_my_data_pages_fifty_at_a_time_and_needs_sign_in(
    personas: Personas, hung: Client, hung_account: Holder
) -> None:
    from dancu.audit.services import access_log_record

    citizen = hung_account.card.citizen
    for _ in range(51):
        access_log_record(
            actor=personas.lan,
            citizen_ids=[citizen.pk],
            action=AccessLog.Action.VIEW,
            channel=AccessLog.Channel.WEB,
            purpose="Xác minh",
        )
    first = hung.get("/me/reads/").content.decode()
    second = hung.get("/me/reads/?page=2").content.decode()
    assert first.count("<td data-label=") == 50 * 5
    assert second.count("<td data-label=") == 1 * 5
    assert "Trang 2/2" in second
    assert hung.get("/me/reads/?page=abc").status_code == 200  # any page number gives a page
    assert Client().get("/me/reads/").status_code == 302  # to the portal's sign-in


def test_the_reads_of_a_record_merged_into_hungs_are_his_too(
    hung: Client, hung_account: Holder, personas: Personas
) -> None:
    """A second record of Hùng, read by Lan, then merged into his: its reads are reads of his data."""
    from dancu.registry import services as registry
    from dancu.registry.models import Citizen
    from dancu.registry.selectors import citizen_get

    AccessLog.objects.all().delete()
    twice = make_citizen(full_name="Nguyễn Văn Hùng", birth_date="1990-05-17")
    assert str(personas.lan.police_unit) not in hung.get("/me/reads/").content.decode()
    citizen_get(actor=personas.lan, pk=twice.pk, purpose="Thu thập, cập nhật dữ liệu dân cư")
    registry.citizen_merge(
        actor=Actor(system="test"),
        keep=Citizen.objects.get(pk=hung_account.account.citizen_id),
        absorb=twice,
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh 7",
    )
    page = hung.get("/me/reads/").content.decode()
    assert str(personas.lan.police_unit) in page
