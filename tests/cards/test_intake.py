"""Taking an application: Lan, at the Hoàn Kiếm station, takes Hùng's first card application; what is
refused (deceased, pending, not eligible, record failing "đúng", bad images) is refused whole."""

from __future__ import annotations

import struct
import zlib
from datetime import date

import pytest

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, Biometric, IntakeDevice, IntakePoint
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry.models import Citizen
from tests.cards.conftest import capture, png, take
from tests.conftest import People, Personas, make_citizen
from tests.races import race


def codes(exc: pytest.ExceptionInfo[DomainError]) -> set[str]:
    return {e.code for e in exc.value.errors}


def png_header(width: int, height: int) -> bytes:
    """The start of a grey PNG declaring `width`×`height`: what an image library reads before deciding
    whether to decode it, so a decompression bomb is built without the memory it claims."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_lan_takes_hungs_first_card_application(
    application: Application, personas: Personas, station: IntakePoint
) -> None:

    assert application.status == Application.Status.TAKEN
    assert application.fee_amount == 0  # a first issue is free
    # Tuesday 10 March 2026 + 7 working days = Thursday 19 March.
    assert application.due_on == date(2026, 3, 19)
    assert application.biometrics.count() == 12  # face, ten fingers, signature; no iris on this set
    event = AuditEvent.objects.get(event_type=EventType.CARD_APPLICATION_TAKEN)
    assert event.actor == personas.lan
    assert event.unit == station.commune
    assert event.data["intake_point_id"] == station.pk
    assert event.data["intake_point"] == station.name
    assert event.data["team"] == ""
    assert event.data["shift"] == "1"


def test_a_pending_application_refuses_a_second(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    take(personas.lan, people.hung, station, device)
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device)
    assert "application.pending" in codes(exc)
    assert Application.objects.count() == 1


def test_a_deceased_citizen_gets_no_card(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    Citizen.objects.filter(pk=people.hung.pk).update(date_of_death="2025-01-02")
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device)
    assert codes(exc) == {"citizen.deceased"}
    assert "deceased" in exc.value.errors[0].message_en
    assert not Application.objects.exists()


def test_a_record_failing_dung_is_refused_and_points_to_a_dc02(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    # The record says female, the PIN says male: the registry's "đúng" rules fail.
    Citizen.objects.filter(pk=people.hung.pk).update(sex="F")
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device)
    assert "record.not_correct" in codes(exc)
    assert "pin.sex_mismatch" in codes(exc)
    assert "DC02" in exc.value.errors[0].message_vi
    assert not Application.objects.exists()
    assert not Biometric.objects.exists()


def test_under_14_needs_a_representative_and_under_6_no_biometrics(
    personas: Personas, station: IntakePoint, device: IntakeDevice
) -> None:
    child = make_citizen(full_name="Nguyễn Minh Khang", birth_date="2022-04-01", place="001")
    with pytest.raises(DomainError) as exc:
        take(personas.lan, child, station, device, images={})
    assert "application.representative_required" in codes(exc)
    with pytest.raises(DomainError) as exc:
        take(personas.lan, child, station, device, representative="Nguyễn Văn Hùng")
    assert codes(exc) == {"biometrics.under_6"}
    application = take(personas.lan, child, station, None, representative="Nguyễn Văn Hùng", images={})
    assert application.biometrics.count() == 0


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (b"%PDF-1.4 not a photo", "image.not_image"),
        (b"", "image.required"),
        (png(100, 120), "image.too_small"),
        (png(300, 400, blank=True), "image.blank"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 1024 * 1024), "image.too_large"),
        # Over the 16 megapixels of the rule; then past the image library's own bomb limits (a warning
        # at 89 megapixels, an error at twice that), which are the same rule, not an unreadable file.
        (png_header(5000, 5000), "image.too_many_pixels"),
        (png_header(10000, 10000), "image.too_many_pixels"),
        (png_header(20000, 20000), "image.too_many_pixels"),
    ],
)
def test_bad_face_photos_are_refused_clearly(  # noqa: PLR0917 (fixtures and parameters)
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, image: bytes, code: str
) -> None:
    images = capture() | {"face": image}
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, images=images)
    assert codes(exc) == {code}
    assert exc.value.errors[0].field == "face"
    assert exc.value.errors[0].message_vi.startswith("Ảnh chân dung")
    assert not Application.objects.exists()


def test_a_missing_finger_is_named(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    images = capture()
    del images["finger_7"]
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, images=images)
    assert [(e.field, e.code) for e in exc.value.errors] == [("finger_7", "image.required")]


def test_iris_only_on_a_device_that_has_one(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    images = capture(iris=True)
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, images=images)
    assert "biometrics.no_iris_device" in codes(exc)


def test_the_shift_must_be_one_the_point_works(
    personas: Personas, people: People, hong_ha_station: IntakePoint
) -> None:
    device = hong_ha_station.devices.get()
    with pytest.raises(DomainError) as exc:
        take(personas.binh, people.mai, hong_ha_station, device, shift="1", images=capture(iris=True))
    assert codes(exc) == {"intake.shift"}
    application = take(
        personas.binh, people.mai, hong_ha_station, device, shift="3", images=capture(iris=True)
    )
    assert application.biometrics.filter(kind__startswith="iris").count() == 2
    event = AuditEvent.objects.get(event_type=EventType.CARD_APPLICATION_TAKEN)
    assert (event.data["team"], event.data["shift"]) == ("Tổ 1", "3")


def test_an_officer_cannot_take_applications_for_another_communes_citizen(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    with pytest.raises(NotFoundError):
        take(personas.lan, people.mai, station, device)
    # Nor at another commune's point.
    with pytest.raises(NotFoundError):
        take(personas.binh, people.mai, station, device)


def test_renewal_needs_a_card_and_fee_exemptions_apply(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, kind="renewal")
    assert codes(exc) == {"application.no_current_card"}
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, kind="lost_or_damaged")
    assert codes(exc) == {"application.no_card", "reason.required"}
    conversion = take(personas.lan, people.hung, station, device, kind="conversion")
    assert conversion.fee_amount == 30_000


def test_fee_exemption_category(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    application = take(
        personas.lan, people.hung, station, device, kind="conversion", fee_category="poor_household"
    )
    assert application.fee_amount == 0
    with pytest.raises(DomainError) as exc:
        services.fee_for(kind="conversion", on=date(2026, 1, 1), category="<script>")
    assert codes(exc) == {"fee.category"}


def test_a_hostile_reason_is_refused(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, kind="conversion", reason="ok\x00\u202e")
    assert all(e.field == "reason" for e in exc.value.errors)
    assert not Application.objects.exists()


def test_intake_points_are_opened_by_province_officers_for_their_communes(personas: Personas) -> None:
    from tests.conftest import SAI_GON, commune

    with pytest.raises(NotFoundError):
        services.intake_point_create(
            actor=Actor(personas.cuong), code="SG", name="Sài Gòn", kind="station", commune=commune(SAI_GON)
        )
    with pytest.raises(DomainError) as exc:
        services.intake_point_create(
            actor=Actor(personas.lan), code="X", name="X", kind="station", commune=commune("00070")
        )
    assert codes(exc) == {"role.not_allowed"}


# The same point or device sent twice at the same moment -----------------------------------------------
#
# On PostgreSQL the first request's insert is held uncommitted while the second runs in a thread on its own
# connection: the second's check sees nothing yet, its insert waits on the unique index, and fails once the
# first commits. SQLite lets one writer in at a time, so there the two are played one after the other
# (`tests.races`), and the second must be refused by name all the same.


def test_a_point_or_device_sent_twice_at_once_is_refused_by_name(
    transactional_db: None, personas: Personas
) -> None:
    from tests.conftest import commune

    actor = Actor(personas.cuong)

    def open_point() -> IntakePoint:
        return services.intake_point_create(
            actor=actor, code="RACE-01", name="Điểm đua", kind="station", commune=commune("00070")
        )

    result = race(open_point, open_point)
    assert isinstance(result, DomainError), result
    assert [(e.field, e.code) for e in result.errors] == [("code", "point.code_taken")]
    point = IntakePoint.objects.get()

    def register() -> IntakeDevice:
        return services.intake_device_register(actor=actor, point=point, serial="RACE-DEV-1", has_iris=False)

    result = race(register, register)
    assert isinstance(result, DomainError), result
    assert [(e.field, e.code) for e in result.errors] == [("serial", "device.serial_taken")]
    assert IntakeDevice.objects.count() == 1
