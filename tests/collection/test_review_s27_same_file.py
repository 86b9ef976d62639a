"""The same legacy book imported again under another source name is refused, naming the run that imported it,
until the officer says they mean it (`--same-file-again`, or the box the upload page then shows). Until
session 27 it staged every row again, and filed a second form for each person without a PIN or CMND."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.collection.models import CollectionForm, ImportRun
from dancu.collection.services import upload_folder
from tests.collection.test_import_pages import CSV, upload
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

# People with neither a PIN nor a CMND: nothing but the file tells a second import of them from new people.
HANOI = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
BOOK = (
    "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address\n"
    f"R1,Đỗ Thị Hoa,Nữ,02/03/1970,Sao Hỏa,,,{HANOI}\n"
    f"R2,Lê Văn Bình,Nam,1961,Sao Hỏa,,,{HANOI}\n"
)


def _import(path: Path, source: str, *options: str) -> None:
    call_command("import", str(path), *options, source=source, stdout=io.StringIO(), stderr=io.StringIO())


def test_the_command_refuses_the_same_book_under_another_source_naming_the_earlier_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(BOOK, encoding="utf-8")
    _import(path, "Sổ hộ khẩu 2019")
    first = ImportRun.objects.get()
    forms = CollectionForm.objects.count()
    assert forms == 2

    # The same bytes under another file name and another source name.
    copy = tmp_path / "ban_sao.csv"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(CommandError) as refused:
        _import(copy, "Sổ hộ khẩu Hoàn Kiếm")

    message = str(refused.value)
    when = timezone.localtime(first.started_at).strftime("%d/%m/%Y %H:%M")
    assert "[file.already_imported]" in message
    for named in (f"#{first.pk}", "“Sổ hộ khẩu 2019”", when, "--same-file-again"):
        assert named in message
    assert ImportRun.objects.count() == 1
    assert CollectionForm.objects.count() == forms

    # The operator who means it says so: the run is made, and its trail names the earlier one.
    _import(copy, "Sổ hộ khẩu Hoàn Kiếm", "--same-file-again")
    second = ImportRun.objects.exclude(pk=first.pk).get()
    started = AuditEvent.objects.get(event_type=EventType.IMPORT_STARTED, subject_id=str(second.pk))
    assert started.data["same_file_as_run"] == first.pk


def test_the_same_file_under_the_same_source_still_resumes_its_run(tmp_path: Path) -> None:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(BOOK, encoding="utf-8")
    _import(path, "Sổ hộ khẩu 2019")
    _import(path, "Sổ hộ khẩu 2019")
    assert ImportRun.objects.count() == 1
    assert CollectionForm.objects.count() == 2


def test_the_upload_page_refuses_the_same_book_and_asks_before_going_on(
    personas: Personas, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    upload(client, CSV.encode(), source="Sổ hộ khẩu")
    first = ImportRun.objects.get()
    kept = _kept_copies()

    refused = upload(client, CSV.encode(), name="lan_2.csv", source="Sổ hộ khẩu mới")

    assert refused.status_code == 422
    page = refused.content.decode()
    assert "[file.already_imported]" in page
    assert f"lần nhập #{first.pk}" in page
    assert "Sổ hộ khẩu" in page
    # The box to go on is asked now, with the source name the officer typed kept.
    assert 'name="same_file_again"' in page
    assert 'value="Sổ hộ khẩu mới"' in page
    assert ImportRun.objects.count() == 1
    assert _kept_copies() == kept  # the refused copy is not left on the disk

    again = client.post(
        reverse("collection:imports"),
        {
            "source": "Sổ hộ khẩu mới",
            "file": SimpleUploadedFile("lan_2.csv", CSV.encode()),
            "same_file_again": "on",
        },
    )
    assert again.status_code == 302
    assert ImportRun.objects.filter(source="Sổ hộ khẩu mới").exists()


def test_a_fresh_upload_page_does_not_offer_to_import_a_file_again(personas: Personas, sign_in: Any) -> None:
    client = sign_in(Client(), personas.cuong)
    page = client.get(reverse("collection:imports")).content.decode()
    assert 'name="same_file_again"' not in page


def _kept_copies() -> set[str]:
    folder = upload_folder()
    return {path.name for path in folder.iterdir()} if folder.exists() else set()
