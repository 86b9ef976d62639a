"""The officers' accounts in the pages (/officers/), for the ministry's administrators: who may open them,
what an administrator sees and changes, the refusals beside their fields, and the trail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts import selectors, services
from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.registry.models import Citizen
from tests.conftest import PASSWORD, People, Personas, officer_before_the_rule

pytestmark = pytest.mark.django_db

SignIn = Callable[[Client, User], Client]
NEW_PASSWORD = "Mật-khẩu-mới-của-cán-bộ-2026"


def _new(client: Client, **fields: str) -> object:
    data = {
        "username": "canbo.moi",
        "full_name": "Phạm Thị Mới",
        "role": User.Role.COLLECTOR,
        "police_unit": personas_unit_code("lan"),
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    } | fields
    return client.post("/officers/new/", data)


def personas_unit_code(username: str) -> str:
    unit = User.objects.get(username=username).police_unit
    assert unit is not None
    return unit.code


@pytest.mark.parametrize("who", ["lan", "cuong", "an"])
def test_only_the_ministry_administrator_opens_the_pages(
    who: str, client: Client, personas: Personas, sign_in: SignIn
) -> None:
    sign_in(client, getattr(personas, who))
    lan = personas.lan
    for url in ("/officers/", "/officers/new/", f"/officers/{lan.pk}/"):
        assert client.get(url).status_code == 403, url
    response = client.post(
        f"/officers/{lan.pk}/active/", {"active-reason": "Nghỉ hưu", "active-confirm": "on"}
    )
    assert response.status_code == 403
    assert User.objects.get(pk=lan.pk).is_active
    assert Client().get("/officers/").status_code == 302  # to the sign-in


def test_the_list_shows_officers_not_citizens_nor_superusers(
    admin_client: Client, personas: Personas
) -> None:
    User.objects.create_superuser("root.c06", password=PASSWORD)
    response = admin_client.get("/officers/")
    assert response.status_code == 200
    shown = {officer.username for officer in response.context["page"].results}
    assert {"lan", "binh", "cuong", "dung", "hoa", "minh", "an"} <= shown
    assert "root.c06" not in shown
    assert not any(officer.role == User.Role.CITIZEN for officer in response.context["page"].results)

    found = admin_client.get("/officers/", {"q": personas_unit_code("lan")}).context["page"].results
    assert [officer.username for officer in found] == ["lan"]
    found = admin_client.get("/officers/", {"role": User.Role.SUPERVISOR}).context["page"].results
    assert {officer.username for officer in found} == {"cuong", "dung"}


def test_the_list_pages(admin_client: Client, personas: Personas, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "OFFICERS_PAGE_SIZE", 3)
    first = admin_client.get("/officers/")
    second = admin_client.get("/officers/", {"page": 2})
    assert first.context["page"].has_next
    assert b'id="next"' in first.content
    names = [o.username for o in first.context["page"].results + second.context["page"].results]
    assert len(names) == len(set(names)) == 6


def test_an_administrator_creates_an_officer_who_then_sets_up_an_authenticator(
    admin_client: Client, personas: Personas
) -> None:
    response = _new(admin_client)

    officer = User.objects.get(username="canbo.moi")
    assert response.status_code == 302
    assert response["Location"] == f"/officers/{officer.pk}/"
    assert (officer.role, officer.police_unit, officer.get_full_name()) == (
        User.Role.COLLECTOR,
        personas.lan.police_unit,
        "Phạm Thị Mới",
    )
    assert officer.check_password(NEW_PASSWORD)
    assert not TOTPDevice.objects.filter(user=officer, confirmed=True).exists()
    event = AuditEvent.objects.get(event_type=EventType.OFFICER_CREATED, subject_id=str(officer.pk))
    assert event.actor == personas.minh
    assert "Chưa cài" in admin_client.get(f"/officers/{officer.pk}/").content.decode()


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"username": "cánbộ.mới"}, "username", "username.format"),
        ({"username": "LAN"}, "username", "username.taken"),
        ({"police_unit": "CA-commune-99999"}, "police_unit", "unit.unknown"),
        ({"police_unit": "CA-province-01"}, "police_unit", "role.unit_level"),
        ({"role": User.Role.MINISTRY_ADMIN}, "police_unit", "role.unit_level"),
        ({"password2": "khác"}, "password2", "password.mismatch"),
        ({"password1": "123", "password2": "123"}, "password1", "password."),
        ({"full_name": "Phạm <script>"}, "full_name", "text."),
    ],
)
def test_a_refused_account_names_the_field_and_rule_and_writes_nothing(
    admin_client: Client, personas: Personas, fields: dict[str, str], field: str, code: str
) -> None:
    accounts = User.objects.count()
    response = _new(admin_client, **fields)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(f"[{code}" in message for message in errors[field]), errors
    assert User.objects.count() == accounts
    assert not AuditEvent.objects.filter(event_type=EventType.OFFICER_CREATED, actor=personas.minh).exists()


def test_moving_an_officer_changes_what_they_see_and_the_trail_keeps_both_units(
    admin_client: Client, personas: Personas, people: People
) -> None:
    lan, hong_ha, hoan_kiem = personas.lan, personas_unit_code("binh"), personas_unit_code("lan")
    response = admin_client.post(
        f"/officers/{lan.pk}/change/",
        {
            "role": User.Role.COLLECTOR,
            "police_unit": hong_ha.lower(),
            "reason": "Điều động sang phường Hồng Hà",
        },
    )

    assert response.status_code == 302
    lan.refresh_from_db()
    assert lan.police_unit == personas.binh.police_unit
    # The jurisdiction is the unit's area: Mai of Hồng Hà now, no longer Hùng of Hoàn Kiếm.
    visible = set(Citizen.objects.filter(citizen_scope(lan)).values_list("pk", flat=True))
    assert people.mai.pk in visible
    assert people.hung.pk not in visible
    event = AuditEvent.objects.get(event_type=EventType.OFFICER_CHANGED, subject_id=str(lan.pk))
    assert event.data["before"] == {"role": "collector", "police_unit": hoan_kiem}
    assert event.data["after"] == {"role": "collector", "police_unit": hong_ha}
    assert event.reason == "Điều động sang phường Hồng Hà"


def test_a_change_needs_a_reason(admin_client: Client, personas: Personas) -> None:
    lan = personas.lan
    response = admin_client.post(
        f"/officers/{lan.pk}/change/", {"role": User.Role.AUDITOR, "police_unit": personas_unit_code("lan")}
    )
    assert response.status_code == 400
    assert "reason" in response.context["change_form"].errors
    assert User.objects.get(pk=lan.pk).role == User.Role.COLLECTOR


def test_a_deactivated_officer_is_signed_out_and_their_tokens_stop(
    admin_client: Client, personas: Personas, sign_in: SignIn
) -> None:
    lan = personas.lan
    lan_client = sign_in(Client(), lan)
    _token, secret = services.api_token_create(user=lan, name="máy tính bảng")
    assert services.api_token_authenticate(secret) == lan

    response = admin_client.post(
        f"/officers/{lan.pk}/active/",
        {"active-reason": "Chuyển công tác ngoài ngành", "active-confirm": "on"},
    )

    assert response.status_code == 302
    assert not User.objects.get(pk=lan.pk).is_active
    assert lan_client.get("/").status_code == 302
    assert services.api_token_authenticate(secret) is None
    assert AuditEvent.objects.filter(
        event_type=EventType.OFFICER_DEACTIVATED, subject_id=str(lan.pk)
    ).exists()

    admin_client.post(f"/officers/{lan.pk}/active/", {"active-reason": "Trở lại công tác"})
    assert User.objects.get(pk=lan.pk).is_active
    assert AuditEvent.objects.filter(
        event_type=EventType.OFFICER_REACTIVATED, subject_id=str(lan.pk)
    ).exists()


def test_the_last_ministry_administrator_cannot_be_deactivated_or_demoted(
    admin_client: Client, personas: Personas
) -> None:
    minh = personas.minh
    response = admin_client.post(
        f"/officers/{minh.pk}/active/", {"active-reason": "Thử", "active-confirm": "on"}
    )
    assert response.status_code == 400
    assert "[account.last_administrator]" in str(response.context["active_form"].errors)
    response = admin_client.post(
        f"/officers/{minh.pk}/change/", {"role": User.Role.AUDITOR, "police_unit": "C06", "reason": "Thử"}
    )
    assert response.status_code == 400
    assert User.objects.get(pk=minh.pk).is_active
    assert User.objects.get(pk=minh.pk).role == User.Role.MINISTRY_ADMIN

    # With a second administrator, the first may step down.
    _new(admin_client, username="quantri.hai", role=User.Role.MINISTRY_ADMIN, police_unit="C06")
    response = admin_client.post(
        f"/officers/{minh.pk}/change/", {"role": User.Role.AUDITOR, "police_unit": "C06", "reason": "Nghỉ"}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=minh.pk).role == User.Role.AUDITOR


def test_a_new_password_and_a_lost_authenticator(admin_client: Client, personas: Personas) -> None:
    lan = personas.lan
    _token, secret = services.api_token_create(user=lan, name="điện thoại")

    weak = admin_client.post(
        f"/officers/{lan.pk}/password/",
        {"password-password1": "123", "password-password2": "123", "password-reason": "Quên mật khẩu"},
    )
    assert weak.status_code == 400
    assert User.objects.get(pk=lan.pk).check_password(PASSWORD)

    admin_client.post(
        f"/officers/{lan.pk}/password/",
        {"password-password1": NEW_PASSWORD, "password-password2": NEW_PASSWORD, "password-reason": "Quên"},
    )
    assert User.objects.get(pk=lan.pk).check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(event_type=EventType.OFFICER_PASSWORD_SET, subject_id=str(lan.pk))
    assert NEW_PASSWORD not in str(event.data)

    response = admin_client.post(
        f"/officers/{lan.pk}/otp-reset/", {"otp-reason": "Mất điện thoại", "otp-confirm": "on"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=lan).exists()
    assert services.api_token_authenticate(secret) is None


def test_an_administrator_of_a_province_manages_its_officers_only(
    client: Client, personas: Personas, sign_in: SignIn
) -> None:
    # An administrator of a province's police: no path makes one now (`role.unit_level`), but the pages
    # keep those made before the rule to their province.
    hanoi_admin = officer_before_the_rule(
        "quantri.hanoi",
        User.Role.MINISTRY_ADMIN,
        personas.cuong.police_unit,  # type: ignore[arg-type]
        "",
    )
    sign_in(client, hanoi_admin)

    shown = {officer.username for officer in client.get("/officers/").context["page"].results}
    assert {"lan", "binh", "cuong"} <= shown
    assert not shown & {"dung", "minh", "an"}
    assert client.get(f"/officers/{personas.dung.pk}/").status_code == 404
    response = client.post(
        f"/officers/{personas.dung.pk}/active/", {"active-reason": "Ngoài địa bàn", "active-confirm": "on"}
    )
    assert response.status_code == 404
    assert User.objects.get(pk=personas.dung.pk).is_active
    refused = _new(client, police_unit=personas_unit_code("dung"), role=User.Role.SUPERVISOR)
    assert "[unit.outside_jurisdiction]" in str(refused.context["form"].errors)  # type: ignore[attr-defined]


def test_a_guessed_id_is_not_found(admin_client: Client, personas: Personas) -> None:
    root = User.objects.create_superuser("root.c06", password=PASSWORD)
    citizen = User.objects.create_user("001090000123", role=User.Role.CITIZEN)
    for pk in (root.pk, citizen.pk, 10**9):
        assert admin_client.get(f"/officers/{pk}/").status_code == 404
        assert (
            admin_client.post(
                f"/officers/{pk}/active/", {"active-reason": "x", "active-confirm": "on"}
            ).status_code
            == 404
        )
    assert User.objects.get(pk=root.pk).is_active


def test_the_services_refuse_anyone_but_an_administrator(personas: Personas) -> None:
    with pytest.raises(services.DomainError) as refused:
        services.officer_set_active(
            actor=Actor(personas.cuong), officer=personas.lan, active=False, reason="x"
        )
    assert refused.value.errors[0].code == "role.not_allowed"
    assert User.objects.get(pk=personas.lan.pk).is_active


def test_a_half_filled_form_is_told_what_is_wrong_with_what_it_has(admin_client: Client) -> None:
    response = admin_client.post(
        "/officers/new/",
        {
            "username": "cánbộ mới",
            "role": User.Role.COLLECTOR,
            "police_unit": "CA-province-01",
            "password1": "123",
        },
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "[username.format]" in str(errors["username"])
    assert "[role.unit_level]" in str(errors["police_unit"])
    assert "password." in str(errors["password1"])
    assert set(errors) >= {"full_name", "password2"}  # what it lacks, as before
    assert not User.objects.filter(username__icontains="mới").exists()


def test_a_deactivation_or_a_reset_is_confirmed_first(admin_client: Client, personas: Personas) -> None:
    lan = personas.lan
    unconfirmed = admin_client.post(f"/officers/{lan.pk}/active/", {"active-reason": "Nghỉ hưu"})
    assert unconfirmed.status_code == 400
    assert "[confirm.required]" in str(unconfirmed.context["active_form"].errors["confirm"])
    assert User.objects.get(pk=lan.pk).is_active

    unconfirmed = admin_client.post(f"/officers/{lan.pk}/otp-reset/", {"otp-reason": "Mất điện thoại"})
    assert unconfirmed.status_code == 400
    assert "[confirm.required]" in str(unconfirmed.context["otp_form"].errors["confirm"])
    assert TOTPDevice.objects.filter(user=lan, confirmed=True).exists()
    assert (
        not AuditEvent.objects.filter(subject_id=str(lan.pk), event_type__startswith="accounts.o")
        .exclude(event_type=EventType.OFFICER_CREATED)
        .exists()
    )


def test_the_account_page_shows_what_was_done_to_it(admin_client: Client, personas: Personas) -> None:
    lan = personas.lan
    admin_client.post(
        f"/officers/{lan.pk}/active/",
        {"active-reason": "Chuyển công tác ngoài ngành", "active-confirm": "on"},
    )

    page = admin_client.get(f"/officers/{lan.pk}/")

    history = page.context["history"]
    assert [event.event_type for event in history][:2] == [
        EventType.OFFICER_DEACTIVATED,
        EventType.OFFICER_CREATED,
    ]
    html = page.content.decode()
    assert "Chuyển công tác ngoài ngành" in html
    assert "Vô hiệu hoá tài khoản cán bộ" in html
