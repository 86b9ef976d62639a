"""The refusal of a commune outside an officer's area names the commune (its name and code) and the officer's
own area, on a form and on an imported row alike. Until session 27 it said only "Đơn vị này nằm ngoài địa
bàn quản lý của bạn", and an officer with a book of 200 rows could not tell which address it was about."""

from __future__ import annotations

from pathlib import Path

import pytest

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.collection.models import StagingRecord
from dancu.collection.reports import rejected_rows_xlsx
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.geo.models import AdminUnit
from tests.collection.forms_support import dc01_data
from tests.collection.test_form_api import api, call, errors_of
from tests.collection.test_import_review import HEADER, ROWS
from tests.collection.workbook_support import workbook_rows
from tests.conftest import HONG_HA, Personas

pytestmark = pytest.mark.django_db


def _area(user: User) -> AdminUnit:
    assert user.police_unit is not None
    return user.police_unit.admin_unit


def _commune(code: str) -> AdminUnit:
    return AdminUnit.objects.get(
        structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE, code=code
    )


def test_a_form_naming_a_commune_outside_the_area_is_refused_naming_it(personas: Personas) -> None:
    response = call(
        api(personas.lan), "post", "/api/v1/forms", {"kind": "DC01", "data": dc01_data(commune_code=HONG_HA)}
    )

    assert errors_of(response, 422) == ["unit.outside_jurisdiction"]
    [error] = response.json()["errors"]
    assert error["field"] == "commune_code"
    area = _area(personas.lan).name
    assert error["message_vi"] == f"Phường Hồng Hà (mã {HONG_HA}) nằm ngoài địa bàn quản lý của bạn ({area})."
    assert error["message_en"] == f"Phường Hồng Hà (code {HONG_HA}) is outside your jurisdiction ({area})."


def _stage(tmp_path: Path, officer: User) -> list[StagingRecord]:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS[:2]) + "\n", encoding="utf-8")
    actor = Actor(officer)
    run, source = import_start(path=path, source_name="Sổ hộ khẩu", actor=actor)
    import_promote(run=import_rows(run=run, source=source, actor=actor, policy=ImportPolicy()))
    return list(StagingRecord.objects.filter(run=run).order_by("row_number"))


def _outside_messages(record: StagingRecord) -> list[tuple[str, str]]:
    return [
        (issue["message_vi"], issue["message_en"])
        for issue in record.issues
        if issue["code"] == "unit.outside_jurisdiction"
    ]


def test_an_imported_row_outside_the_area_names_its_commune_and_the_importers_area(
    tmp_path: Path, personas: Personas
) -> None:
    # Dũng supervises Hồ Chí Minh City; the book is of Hà Nội.
    records = _stage(tmp_path, personas.dung)

    area = _area(personas.dung).name
    for record in records:
        commune = _commune(record.normalized["commune_code"])
        assert record.status == StagingRecord.Status.REJECTED
        assert _outside_messages(record) == [
            (
                f"{commune.name} (mã {commune.code}) nằm ngoài địa bàn quản lý của bạn ({area}).",
                f"{commune.name} (code {commune.code}) is outside your jurisdiction ({area}).",
            )
        ]
    # The rejected rows' workbook gives the same reason beside the row.
    target = tmp_path / "rejected.xlsx"
    rejected_rows_xlsx(records[0].run, target)
    reasons = [row[1] for row in workbook_rows(target)[1:]]
    assert len(reasons) == len(records)
    for record, reason in zip(records, reasons, strict=True):
        assert f"(mã {record.normalized['commune_code']})" in reason


def test_a_row_refused_as_it_is_written_names_the_commune_and_the_officers_area_of_that_day(
    tmp_path: Path, personas: Personas
) -> None:
    # Staged while Cường supervised Hà Nội, written after he moved to Hồ Chí Minh City.
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + ROWS[1] + "\n", encoding="utf-8")
    actor = Actor(personas.cuong)
    run, source = import_start(path=path, source_name="Sổ hộ khẩu", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
    User.objects.filter(pk=personas.cuong.pk).update(police_unit=personas.dung.police_unit)

    import_promote(run=run)

    [record] = StagingRecord.objects.filter(run=run)
    commune = _commune(record.normalized["commune_code"])
    area = _area(personas.dung).name
    assert record.status == StagingRecord.Status.REJECTED
    assert _outside_messages(record) == [
        (
            f"{commune.name} (mã {commune.code}) nằm ngoài địa bàn quản lý của bạn ({area}).",
            f"{commune.name} (code {commune.code}) is outside your jurisdiction ({area}).",
        )
    ]
