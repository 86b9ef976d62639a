"""What the card services refuse, and that a refusal writes nothing: the wrong officer, bad intake input,
an application not eligible for its kind, an approval the record or the images no longer support, a
production result that cannot be read, and a card state change without its legal grounds. Also the
rejection of an application, the one milestone no other test walks through."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint, ProductionBatch
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry.models import Citizen
from tests.cards.conftest import HANOI, capture, produce, take
from tests.collection.forms_support import advance, dc02, make_reviewers
from tests.conftest import HOAN_KIEM, SYSTEM, People, Personas, commune, make_citizen


def pairs(exc: pytest.ExceptionInfo[DomainError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def approved_batch(personas: Personas, application: Application) -> ProductionBatch:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    return services.batch_create(actor=Actor(personas.cuong))


# Who may do what --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["system", "an"])
def test_only_officers_who_read_records_work_with_card_applications(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, who: str
) -> None:
    # A background job has no officer behind it, and the ministry's auditor reads the access log only.
    actor = SYSTEM if who == "system" else Actor(personas.an)
    with pytest.raises(DomainError) as exc:
        services.application_take(
            actor=actor,
            citizen=people.hung,
            intake=services.Intake(kind="first_issue", point=station, shift="1", device=device),
            images=capture(),
        )
    assert pairs(exc) == [("actor", "role.not_allowed")]
    assert exc.value.errors[0].message_en == "Only officers work with card applications"
    assert not Application.objects.exists()


def test_a_province_supervisor_does_not_take_or_hand_over_cards(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    with pytest.raises(DomainError) as exc:
        take(personas.cuong, people.hung, station, device)
    assert pairs(exc) == [("actor", "role.not_allowed")]
    assert "công an xã" in exc.value.errors[0].message_vi
    assert not Application.objects.exists()

    card = produce(personas, take(personas.lan, people.hung, station, device))
    with pytest.raises(DomainError) as exc:
        services.application_deliver(
            actor=Actor(personas.cuong), application=card.application, received_by="Hùng"
        )
    assert pairs(exc) == [("actor", "role.not_allowed")]
    card.refresh_from_db()
    assert card.state == Card.State.PRODUCED
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_DELIVERED).exists()


# Intake points and devices ----------------------------------------------------------------------------------


def test_an_intake_point_is_refused_with_the_field_named(personas: Personas) -> None:
    def open_point(**fields: str) -> IntakePoint:
        return services.intake_point_create(
            actor=Actor(personas.cuong),
            commune=commune(HOAN_KIEM),
            **({"code": "HK-02", "name": "Điểm", "kind": "station"} | fields),
        )

    with pytest.raises(DomainError) as exc:
        open_point(code="  ")
    assert pairs(exc) == [("code", "code.required")]
    assert exc.value.errors[0].message_vi == "Cần ghi mã điểm"
    assert exc.value.errors[0].message_en == "The point code is required"
    with pytest.raises(DomainError) as exc:
        open_point(kind="bus", shifts="31")
    assert pairs(exc) == [("kind", "point.kind"), ("shifts", "point.shifts")]
    with pytest.raises(DomainError) as exc:
        open_point(shifts="")
    assert pairs(exc) == [("shifts", "point.shifts")]
    # Every field's refusal at once, the text fields' with the others.
    with pytest.raises(DomainError) as exc:
        open_point(code="", name="", kind="bus", shifts="")
    assert pairs(exc) == [
        ("code", "code.required"),
        ("name", "name.required"),
        ("kind", "point.kind"),
        ("shifts", "point.shifts"),
    ]
    assert not IntakePoint.objects.exists()
    assert not AuditEvent.objects.filter(event_type=EventType.INTAKE_POINT_CREATED).exists()


def test_a_point_code_or_device_serial_is_used_once(
    personas: Personas, station: IntakePoint, device: IntakeDevice
) -> None:
    with pytest.raises(DomainError) as exc:
        services.intake_point_create(
            actor=Actor(personas.cuong), code="HK-01", name="Khác", kind="station", commune=commune(HOAN_KIEM)
        )
    assert pairs(exc) == [("code", "point.code_taken")]
    with pytest.raises(DomainError) as exc:
        services.intake_device_register(
            actor=Actor(personas.cuong), point=station, serial="TN-0001", has_iris=True
        )
    assert pairs(exc) == [("serial", "device.serial_taken")]
    assert (IntakePoint.objects.count(), IntakeDevice.objects.count()) == (1, 1)


def test_a_device_is_registered_only_at_a_point_of_ones_area(
    personas: Personas, station: IntakePoint
) -> None:
    # Dũng, of Hồ Chí Minh City, is told the same as for a point that does not exist.
    with pytest.raises(NotFoundError):
        services.intake_device_register(
            actor=Actor(personas.dung), point=station, serial="SG-1", has_iris=False
        )
    assert not IntakeDevice.objects.exists()
    assert not AuditEvent.objects.filter(event_type=EventType.INTAKE_DEVICE_REGISTERED).exists()


# Intake -----------------------------------------------------------------------------------------------------


def test_an_adult_is_taken_with_a_capture_device_of_the_point(
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    hong_ha_station: IntakePoint,
) -> None:
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, None)
    assert pairs(exc) == [("device", "device.required")]
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, hong_ha_station.devices.get())
    assert pairs(exc) == [("device", "device.other_point")]
    # A device taken out of use is refused the same way: it no longer belongs to any point's work.
    IntakeDevice.objects.filter(pk=device.pk).update(active=False)
    device.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device)
    assert pairs(exc) == [("device", "device.other_point")]
    assert not Application.objects.exists()


def test_an_unknown_image_kind_is_named(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, images=capture() | {"tattoo": capture()["face"]})
    assert pairs(exc) == [("tattoo", "biometrics.kind")]
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("delivery", "postal_address", "field", "code"),
    [
        ("drone", "", "delivery", "delivery.kind"),
        ("post", "   ", "postal_address", "delivery.address_required"),
    ],
)
def test_delivery_by_post_needs_an_address(  # noqa: PLR0917 (fixtures and parameters)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    delivery: str,
    postal_address: str,
    field: str,
    code: str,
) -> None:
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, delivery=delivery, postal_address=postal_address)
    assert pairs(exc) == [(field, code)]
    assert not Application.objects.exists()


def test_an_application_before_the_fee_table_is_refused(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    # The dated fee table starts on 30 August 2019: an intake recorded as taken earlier has no rate.
    with pytest.raises(DomainError) as exc:
        services.application_take(
            actor=Actor(personas.lan),
            citizen=people.hung,
            intake=services.Intake(kind="conversion", point=station, shift="1", device=device),
            images=capture(),
            taken_at=datetime(2019, 8, 29, 9, 0, tzinfo=HANOI),
        )
    assert pairs(exc) == [("kind", "fee.no_rate")]
    assert not Application.objects.exists()


def test_a_change_of_card_needs_its_reason_and_its_due_date(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, delivered: Card
) -> None:
    """Hùng, 35, holds a card valid to his 40th birthday: a renewal is not yet due, his PIN has not
    changed, and a change of data must say which."""
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, kind="renewal")
    assert pairs(exc) == [("kind", "application.renewal_not_due")]
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, kind="pin_reissued")
    assert pairs(exc) == [("kind", "application.pin_unchanged")]
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, kind="change_of_data")
    assert pairs(exc) == [("reason", "reason.required")]
    assert exc.value.errors[0].message_vi == "Cần ghi thông tin thay đổi"
    assert Application.objects.count() == 1  # the delivered one
    application = take(personas.lan, people.hung, station, device, kind="change_of_data", reason="Đổi họ")
    assert application.status == Application.Status.TAKEN


def test_a_dc02_already_applied_leaves_nothing_to_wait_for(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    reviewers = make_reviewers(personas)
    Citizen.objects.filter(pk=people.hung.pk).update(birth_date="1991-05-17")  # his PIN says 1990
    form = dc02(personas.lan, people.hung, {"birth_date": "17/05/1990"})
    applied = advance(
        form, "applied", reviewer=reviewers.hang, supervisor=personas.cuong, acknowledged=("change.identity",)
    )
    application = take(personas.lan, people.hung, station, device, correction_form=applied)
    assert application.status == Application.Status.TAKEN
    assert application.correction_form is None


def test_an_application_resumes_only_on_a_record_that_now_passes(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    reviewers = make_reviewers(personas)
    Citizen.objects.filter(pk=people.hung.pk).update(birth_date="1991-05-17")
    form = dc02(personas.lan, people.hung, {"birth_date": "17/05/1990"})
    application = take(personas.lan, people.hung, station, device, correction_form=form)
    advance(
        form, "applied", reviewer=reviewers.hang, supervisor=personas.cuong, acknowledged=("change.identity",)
    )
    # The DC02 fixed the birth date, but the record changed again since: the sex now contradicts the PIN.
    Citizen.objects.filter(pk=people.hung.pk).update(sex="F")
    with pytest.raises(DomainError) as exc:
        services.application_resume(
            actor=Actor(personas.lan), application=application, today=date(2026, 4, 27)
        )
    assert "pin.sex_mismatch" in {code for _field, code in pairs(exc)}
    application.refresh_from_db()
    assert application.status == Application.Status.WAITING_CORRECTION
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_APPLICATION_RESUMED).exists()


# Approval and rejection -------------------------------------------------------------------------------------


def test_an_application_of_another_province_is_not_found_by_its_reviewer(
    application: Application, personas: Personas
) -> None:
    with pytest.raises(NotFoundError):
        services.application_approve(actor=Actor(personas.dung), application=application)
    application.refresh_from_db()
    assert application.status == Application.Status.TAKEN


def test_approval_needs_every_image(application: Application, personas: Personas) -> None:
    application.biometrics.filter(kind__in=["finger_3", "signature"]).delete()
    with pytest.raises(DomainError) as exc:
        services.application_approve(actor=Actor(personas.cuong), application=application)
    assert pairs(exc) == [("biometrics", "biometrics.missing")]
    assert exc.value.errors[0].message_en == "Missing biometrics: finger_3, signature"
    application.refresh_from_db()
    assert application.status == Application.Status.TAKEN
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_APPLICATION_APPROVED).exists()


def test_approval_needs_a_record_that_still_passes(
    application: Application, personas: Personas, people: People
) -> None:
    # The record changed after the intake: the sex now contradicts the PIN.
    Citizen.objects.filter(pk=people.hung.pk).update(sex="F")
    with pytest.raises(DomainError) as exc:
        services.application_approve(actor=Actor(personas.cuong), application=application)
    assert "pin.sex_mismatch" in {code for _field, code in pairs(exc)}
    application.refresh_from_db()
    assert application.status == Application.Status.TAKEN
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_APPLICATION_APPROVED).exists()


def test_a_child_under_6_is_approved_without_biometrics(personas: Personas, station: IntakePoint) -> None:
    child = make_citizen(full_name="Nguyễn Minh Khang", birth_date="2022-04-01", place="001")
    application = take(personas.lan, child, station, None, representative="Nguyễn Văn Hùng", images={})
    approved = services.application_approve(actor=Actor(personas.cuong), application=application)
    assert approved.status == Application.Status.APPROVED


def test_cuong_rejects_an_application_with_a_reason(
    application: Application, personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    with pytest.raises(DomainError) as exc:
        services.application_reject(actor=Actor(personas.lan), application=application, reason="Ảnh mờ")
    assert pairs(exc) == [("actor", "role.not_allowed")]
    with pytest.raises(DomainError) as exc:
        services.application_reject(actor=Actor(personas.cuong), application=application, reason="  ")
    assert pairs(exc) == [("rejection_reason", "rejection_reason.required")]
    assert exc.value.errors[0].message_vi == "Cần ghi lý do từ chối"
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_APPLICATION_REJECTED).exists()

    rejected = services.application_reject(
        actor=Actor(personas.cuong), application=application, reason=" Ảnh chân dung bị mờ "
    )

    assert rejected.status == Application.Status.REJECTED
    assert (rejected.reviewed_by, rejected.rejection_reason) == (personas.cuong, "Ảnh chân dung bị mờ")
    event = AuditEvent.objects.get(event_type=EventType.CARD_APPLICATION_REJECTED)
    assert (event.actor, event.reason, event.unit) == (personas.cuong, "Ảnh chân dung bị mờ", station.commune)
    assert event.data["intake_point_id"] == station.pk
    with pytest.raises(DomainError) as exc:
        services.application_reject(actor=Actor(personas.cuong), application=application, reason="Lần nữa")
    assert pairs(exc) == [("status", "application.status")]
    # A rejected application is closed: Hùng may apply again.
    assert take(personas.lan, people.hung, station, device).status == Application.Status.TAKEN


# The production result --------------------------------------------------------------------------------------


def test_a_result_file_that_cannot_be_read_is_refused_whole(
    application: Application, personas: Personas
) -> None:
    batch = approved_batch(personas, application)
    number = application.number
    for text, expected in [
        ("application,serial,error\n", [("file", "result.empty")]),
        (f"application,serial,error\n{number},VN00000001,,extra\n", [("line 2", "result.extra_columns")]),
        (
            f"application,serial,error\n{number},VN00000001,\n{number},VN00000001,\n",
            [("line 3", "result.unknown_application"), ("line 3", "result.serial_repeated")],
        ),
    ]:
        with pytest.raises(DomainError) as exc:
            services.batch_import_result(actor=Actor(personas.cuong), batch=batch, text=text)
        assert pairs(exc) == expected, text
    assert not Card.objects.exists()
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PRODUCTION
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_BATCH_IMPORTED).exists()


def test_only_the_provinces_reviewers_import_its_result(application: Application, personas: Personas) -> None:
    batch = approved_batch(personas, application)
    text = f"application,serial,error\n{application.number},VN00000001,\n"
    with pytest.raises(DomainError) as exc:
        services.batch_import_result(actor=Actor(personas.lan), batch=batch, text=text)
    assert pairs(exc) == [("actor", "role.not_allowed")]
    with pytest.raises(NotFoundError):
        services.batch_import_result(actor=Actor(personas.dung), batch=batch, text=text)
    assert not Card.objects.exists()


# The life of a card -----------------------------------------------------------------------------------------


def test_a_hold_needs_grounds_and_a_reviewer(personas: Personas, delivered: Card) -> None:
    with pytest.raises(DomainError) as exc:
        services.card_change_state(actor=Actor(personas.cuong), card=delivered, state="held", grounds="")
    assert pairs(exc) == [("grounds", "card.hold_grounds")]
    # Lan, a collector, reports a card lost but does not revoke, hold or release one.
    for state, grounds in [("revoked", "issued_wrongly"), ("held", "detained")]:
        with pytest.raises(DomainError) as exc:
            services.card_change_state(
                actor=Actor(personas.lan), card=delivered, state=state, grounds=grounds
            )
        assert pairs(exc) == [("actor", "role.not_allowed")]
    delivered.refresh_from_db()
    assert delivered.state == Card.State.ACTIVE
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_STATE_CHANGED).exists()
