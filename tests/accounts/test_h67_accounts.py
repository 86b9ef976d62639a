"""Officers' accounts, issue 3: each role in a police unit of its level on every path that makes an
officer or moves one, an officer's name corrected from their page, the authenticator's "confirmed" out of
the admin's hands, and the access log's readers kept to the auditor's area."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts import services
from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.selectors import AccessLogQuery, access_log_search
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry.selectors import citizen_get
from tests.accounts.conftest import admin_page_data
from tests.audit.conftest import auditor_of
from tests.conftest import PASSWORD, SYSTEM, People, Personas

pytestmark = pytest.mark.django_db

PROVINCE_LEVELS_VI = "Vai trò này làm việc tại: Công an xã/phường"
PROVINCE_LEVELS_EN = "This role works in: Commune/ward police"


def _created(username: str) -> bool:
    return (
        User.objects.filter(username=username).exists()
        or AuditEvent.objects.filter(event_type=EventType.OFFICER_CREATED, data__username=username).exists()
    )


# 1. ROLE_LEVELS on every path ------------------------------------------------------------------------------


@pytest.mark.parametrize("unit_of", ["cuong", "hoa", "minh"])
def test_officer_create_refuses_a_collector_outside_a_communes_police(
    personas: Personas, unit_of: str
) -> None:
    """A province's police, a legacy district's (Hoa's Hoài Đức), the ministry: no collector works there."""
    unit = getattr(personas, unit_of).police_unit

    with pytest.raises(DomainError) as refused:
        services.officer_create(
            actor=SYSTEM,
            username="tam",
            password=PASSWORD,
            role=User.Role.COLLECTOR,
            police_unit=unit,
            full_name="Đỗ Văn Tâm",
        )

    [error] = refused.value.errors
    assert (error.field, error.code) == ("police_unit", "role.unit_level")
    assert (error.message("vi"), error.message("en")) == (PROVINCE_LEVELS_VI, PROVINCE_LEVELS_EN)
    assert not _created("tam")
    assert not TOTPDevice.objects.filter(user__username="tam").exists()


def test_officer_create_names_the_levels_in_each_language_whatever_the_active_one(
    personas: Personas, language_restored: None
) -> None:
    translation.activate("en")
    with pytest.raises(DomainError) as refused:
        services.officer_create(
            actor=SYSTEM,
            username="tam",
            password=PASSWORD,
            role=User.Role.SUPERVISOR,
            police_unit=personas.lan.police_unit,  # type: ignore[arg-type]
        )
    [error] = refused.value.errors
    assert error.message("vi") == "Vai trò này làm việc tại: Công an tỉnh/thành phố, Công an huyện (cũ)"
    assert error.message("en") == "This role works in: Provincial/municipal police, District police (former)"


def test_officer_create_makes_each_role_in_a_unit_of_its_level(personas: Personas) -> None:
    hoai_duc = personas.hoa.police_unit
    assert hoai_duc is not None
    assert hoai_duc.level == PoliceUnit.Level.DISTRICT
    supervisor, _device = services.officer_create(
        actor=SYSTEM,
        username="phuc.tra.hd",
        password=PASSWORD,
        role=User.Role.SUPERVISOR,
        police_unit=hoai_duc,
    )
    auditor, _device = services.officer_create(
        actor=SYSTEM, username="kiem.toan.hd", password=PASSWORD, role=User.Role.AUDITOR, police_unit=hoai_duc
    )
    assert (supervisor.police_unit, auditor.police_unit) == (hoai_duc, hoai_duc)


def _admin_post(client: Client, user: User, **changes: Any) -> Any:
    url = f"/admin/accounts/user/{user.pk}/change/"
    data = {**admin_page_data(client, url), **changes}
    client.cookies["django_language"] = "vi"
    return client.post(url, data)


def test_the_admin_refuses_a_role_in_a_unit_of_another_level(operator: Client, personas: Personas) -> None:
    lan = personas.lan
    hanoi = personas.cuong.police_unit
    assert hanoi is not None
    events = AuditEvent.objects.count()

    moved = _admin_post(operator, lan, police_unit=str(hanoi.pk))
    promoted = _admin_post(operator, lan, role=User.Role.MINISTRY_ADMIN)

    assert moved.status_code == promoted.status_code == 200  # the page again, nothing saved
    assert moved.context["adminform"].form.errors == {
        "police_unit": [f"{PROVINCE_LEVELS_VI} [role.unit_level]"]
    }
    assert promoted.context["adminform"].form.errors == {
        "police_unit": ["Vai trò này làm việc tại: Bộ Công an [role.unit_level]"]
    }
    lan.refresh_from_db()
    assert (lan.role, lan.police_unit.code) == (User.Role.COLLECTOR, "CA-commune-00070")  # type: ignore[union-attr]
    assert AuditEvent.objects.count() == events


def test_the_admin_still_saves_an_account_made_before_the_rule_when_its_role_and_unit_stay(
    operator: Client, personas: Personas
) -> None:
    """Hoa, a collector of a legacy district's police (an account made before the rule), has her name
    corrected in the admin: her role and unit are as they were, and nothing refuses them."""
    hoa = personas.hoa
    response = _admin_post(operator, hoa, last_name="Hòa")

    assert response.status_code == 302, response.context["adminform"].form.errors
    hoa.refresh_from_db()
    assert (hoa.last_name, hoa.role) == ("Hòa", User.Role.COLLECTOR)
    # Moved to another legacy district's unit, she is refused: a new unit must suit the role.
    other = PoliceUnit.objects.create(
        code="CA-cu-district-x",
        name="Công an huyện khác",
        level=PoliceUnit.Level.DISTRICT,
        admin_unit=hoa.police_unit.admin_unit,  # type: ignore[union-attr]
    )
    refused = _admin_post(operator, hoa, police_unit=str(other.pk))
    assert "[role.unit_level]" in str(refused.context["adminform"].form.errors["police_unit"])


# 2. An officer's name corrected ----------------------------------------------------------------------------


def _rename(client: Client, officer: User, full_name: str, reason: str = "Sai chính tả khi tạo") -> Any:
    return client.post(f"/officers/{officer.pk}/name/", {"name-full_name": full_name, "name-reason": reason})


def test_the_administrator_corrects_an_officers_name_and_the_history_shows_both(
    admin_client: Client, personas: Personas
) -> None:
    lan = personas.lan

    response = _rename(admin_client, lan, "  Trần Thị Lân ")

    assert (response.status_code, response["Location"]) == (302, f"/officers/{lan.pk}/")
    lan.refresh_from_db()
    assert (lan.first_name, lan.last_name, lan.get_full_name()) == ("Trần Thị", "Lân", "Trần Thị Lân")
    event = AuditEvent.objects.get(event_type=EventType.OFFICER_RENAMED, subject_id=str(lan.pk))
    assert event.actor == personas.minh
    assert event.reason == "Sai chính tả khi tạo"
    assert event.data == {
        "username": "lan",
        "before": {"full_name": "Trần Thị Lan"},
        "after": {"full_name": "Trần Thị Lân"},
    }
    page = admin_client.get(f"/officers/{lan.pk}/")
    history = page.context["history"]
    assert history[0].event_type == EventType.OFFICER_RENAMED
    html = page.content.decode()
    assert "Sửa họ và tên của cán bộ" in html
    assert "Trần Thị Lan → Trần Thị Lân" in html
    # The same name again changes nothing and writes nothing.
    assert _rename(admin_client, lan, "Trần Thị Lân").status_code == 302
    assert AuditEvent.objects.filter(event_type=EventType.OFFICER_RENAMED).count() == 1


@pytest.mark.parametrize(
    ("sent", "refused"),
    [
        (("Trần Thị Lân", ""), ("reason", "required")),
        (("Trần Thị Lân", "   "), ("reason", "required")),
        (("Trần\nThị Lân", "Sai chính tả"), ("full_name", "text.control_chars")),
        (("Trần Thị <Lân>", "Sai chính tả"), ("full_name", "text.characters")),
        (("   ", "Sai chính tả"), ("full_name", "required")),
    ],
)
def test_a_refused_correction_is_said_beside_its_field_and_writes_nothing(
    admin_client: Client, personas: Personas, sent: tuple[str, str], refused: tuple[str, str]
) -> None:
    (full_name, reason), (field, code) = sent, refused
    lan = personas.lan
    events = AuditEvent.objects.count()

    response = _rename(admin_client, lan, full_name, reason)

    assert response.status_code == 400
    errors = response.context["name_form"].errors
    assert list(errors) == [field]
    if code != "required":
        assert f"[{code}]" in str(errors[field])
    lan.refresh_from_db()
    assert lan.get_full_name() == "Trần Thị Lan"
    assert AuditEvent.objects.count() == events


def test_the_service_refuses_a_blank_name_too_long_parts_and_anyone_but_an_administrator(
    personas: Personas,
) -> None:
    minh = Actor(personas.minh)

    def refusal(**kwargs: Any) -> list[tuple[str, str]]:
        values = {"actor": minh, "officer": personas.lan, "full_name": "Trần Thị Lân", "reason": "Sai"}
        with pytest.raises(DomainError) as refused:
            services.officer_rename(**{**values, **kwargs})
        return [(e.field, e.code) for e in refused.value.errors]

    assert refusal(full_name=" ") == [("full_name", "full_name.required")]
    assert refusal(full_name="Trần " + "a" * 151) == [("full_name", "full_name.part_too_long")]
    assert refusal(actor=Actor(personas.cuong)) == [("account", "role.not_allowed")]
    # A superuser's account is the admin's, not the pages': as missing as an account that does not exist.
    root = User.objects.create_superuser("root.c06", password=PASSWORD)
    with pytest.raises(NotFoundError):
        services.officer_rename(actor=minh, officer=root, full_name="X Y", reason="Sai")
    assert not AuditEvent.objects.filter(event_type=EventType.OFFICER_RENAMED).exists()


def test_only_the_administrators_pages_correct_a_name(
    client: Client, personas: Personas, sign_in: Any
) -> None:
    sign_in(client, personas.cuong)
    assert _rename(client, personas.lan, "Trần Thị Lân").status_code == 403
    personas.lan.refresh_from_db()
    assert personas.lan.get_full_name() == "Trần Thị Lan"


# 3. The authenticator's "confirmed" in the admin -----------------------------------------------------------


def test_the_admin_cannot_untick_or_tick_an_authenticators_confirmed_box(
    operator: Client, personas: Personas
) -> None:
    device = TOTPDevice.objects.get(user=personas.lan)
    assert device.confirmed
    url = f"/admin/otp_totp/totpdevice/{device.pk}/change/"
    form = operator.get(url).context["adminform"].form
    assert "confirmed" not in form.fields  # shown, not editable

    data = admin_page_data(operator, url)
    data["name"] = "điện thoại cũ"
    # The box unticked is not posted; were it on the form, that would untick it.
    response = operator.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    device.refresh_from_db()
    assert (device.name, device.confirmed) == ("điện thoại cũ", True)

    waiting = TOTPDevice.objects.create(user=personas.binh, name="chờ", confirmed=False)
    TOTPDevice.objects.filter(user=personas.binh, confirmed=True).delete()
    url = f"/admin/otp_totp/totpdevice/{waiting.pk}/change/"
    response = operator.post(url, {**admin_page_data(operator, url), "confirmed": "on"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert not waiting.confirmed


# 4. The access log's readers ------------------------------------------------------------------------------


def test_a_province_auditor_is_not_offered_the_readers_of_another_province(
    personas: Personas, people: People, client: Client, sign_in: Any
) -> None:
    AccessLog.objects.all().delete()
    purpose = "Kiểm tra, phúc tra dữ liệu"
    citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=purpose)  # Hà Nội
    citizen_get(actor=personas.minh, pk=people.mai.pk, purpose=purpose)  # the ministry, of Hà Nội's Mai
    citizen_get(actor=personas.dung, pk=people.tuan.pk, purpose=purpose)  # TP HCM, of its own Tuấn
    hanoi_auditor = auditor_of(personas.cuong, username="kiem.toan.hn", full_name="Đinh Văn Nam")

    # "n" is in Lan's, Minh's, Binh's, Dung's and An's names: Dung, of TP Hồ Chí Minh, is not offered, nor
    # An, the ministry's auditor, who read nobody of Hà Nội; Minh read Mai of Hà Nội.
    page = access_log_search(actor=hanoi_auditor, query=AccessLogQuery(reader="n"))
    assert page.readers == ["binh", "cuong", "kiem.toan.hn", "lan", "minh"]
    assert {row.actor_label for row in page.rows if row.actor_id != hanoi_auditor.pk} == {"lan", "minh"}
    assert access_log_search(actor=hanoi_auditor, query=AccessLogQuery(reader="dung")).readers == []
    # The ministry's auditor, whose area is the country, is offered every officer.
    assert "dung" in (access_log_search(actor=personas.an, query=AccessLogQuery(reader="n")).readers or [])

    html = sign_in(client, hanoi_auditor).get("/audit/access/", {"reader": "dung"}).content.decode()
    assert "Không có cán bộ hay tác vụ nào có tên chứa chuỗi đã nhập." in html
    assert ">dung<" not in html
    assert ": dung" not in html
