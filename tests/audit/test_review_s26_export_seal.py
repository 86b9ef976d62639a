"""The access log's files carry the seals: each row its id and the seal that covers it, and the XLSX a
sheet naming the newest seal that covers the rows exported and what is not sealed yet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from dancu.accounts.models import User
from dancu.audit.exports import HEADERS, NOT_SEALED, SEAL_HEADERS, SEAL_SHEET
from dancu.audit.models import AccessLog, AccessLogSeal
from dancu.audit.seals import access_log_seal
from dancu.registry.selectors import citizen_get
from tests.audit.conftest import PURPOSE
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _csv(response: Any) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _workbook(response: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Each sheet's rows, each as wide as the sheet's header (a workbook leaves out empty last cells)."""
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    sheets = {}
    for name in book.sheetnames:
        rows = list(book[name].iter_rows(values_only=True))
        width = len(rows[0])
        sheets[name] = [tuple(row) + (None,) * (width - len(row)) for row in rows]
    return sheets


@pytest.fixture
def sealed(personas: Personas, people: People, reads: None) -> AccessLogSeal:
    """The three reads of `reads` sealed; then Lan reads Hùng again, a row not sealed yet."""
    seal = access_log_seal(now=timezone.now() + timedelta(hours=2))
    assert seal is not None
    citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=PURPOSE)
    return seal


def _vn(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def test_each_exported_row_names_its_seal_or_says_it_is_not_sealed(
    client: Client, sign_in: SignIn, personas: Personas, sealed: AccessLogSeal
) -> None:
    sign_in(client, personas.an)
    rows = _csv(client.get("/audit/access/export.csv", {"without_audit": "on"}))
    assert list(rows[0]) == HEADERS
    newest = AccessLog.objects.filter(actor=personas.lan).latest("pk")
    assert [row["Số dòng"] for row in rows] == [
        str(pk)
        for pk in AccessLog.objects.exclude(actor=personas.an).order_by("-pk").values_list("pk", flat=True)
    ]
    # The newest row, read after the seal, says so plainly; the three before carry the seal.
    assert (rows[0]["Số dòng"], rows[0]["Niêm phong số"], rows[0]["Mã niêm phong"]) == (
        str(newest.pk),
        "",
        NOT_SEALED,
    )
    assert {(row["Niêm phong số"], row["Niêm phong lúc"], row["Mã niêm phong"]) for row in rows[1:]} == {
        (str(sealed.pk), _vn(sealed.sealed_at), sealed.digest)
    }
    assert all(sealed.first_id <= int(row["Số dòng"]) <= sealed.last_id for row in rows[1:])


def test_the_xlsx_states_the_newest_seal_and_the_rows_not_sealed_yet(
    client: Client, sign_in: SignIn, personas: Personas, sealed: AccessLogSeal
) -> None:
    sign_in(client, personas.an)
    sheets = _workbook(client.get("/audit/access/export.xlsx", {"without_audit": "on"}))
    assert list(sheets) == ["Nhật ký truy cập", SEAL_SHEET]
    assert len(sheets["Nhật ký truy cập"]) == 5  # the header and four rows
    header, *block = sheets[SEAL_SHEET]
    assert list(header) == SEAL_HEADERS
    newest = AccessLog.objects.filter(actor=personas.lan).latest("pk").pk
    by_item = {item: value for _vi, item, value in block}
    assert by_item["Newest row exported"] == newest
    assert by_item["Newest seal covering the exported rows, number"] == sealed.pk
    assert by_item["Last row it covers"] == sealed.last_id
    assert by_item["Seal digest (SHA-256)"] == sealed.digest
    assert by_item["Sealed at (Vietnam time)"] == _vn(sealed.sealed_at)
    # Plainly, in both languages, with the rows it speaks of.
    vi, en, rows = block[-1]
    assert vi.startswith(f"Các dòng sau dòng #{sealed.last_id} chưa được niêm phong")
    assert en.startswith(f"The rows after row #{sealed.last_id} are not sealed yet")
    assert rows == f"#{sealed.last_id + 1}–#{newest}"


def test_a_file_of_sealed_rows_only_says_every_row_is_sealed(
    client: Client, sign_in: SignIn, personas: Personas, people: People, sealed: AccessLogSeal
) -> None:
    """Mai was read before the seal only: the seal named is the one that covers her rows."""
    sign_in(client, personas.an)
    sheets = _workbook(
        client.get("/audit/access/export.xlsx", {"pin": people.mai.pin, "without_audit": "on"})
    )
    block = {item: value for _vi, item, value in sheets[SEAL_SHEET][1:]}
    assert block["Newest seal covering the exported rows, number"] == sealed.pk
    assert sheets[SEAL_SHEET][-1] == (
        "Mọi dòng đã xuất đều đã được niêm phong.",
        "Every exported row is sealed.",
        None,
    )


def test_before_the_first_seal_the_file_says_no_row_is_sealed(
    client: Client, sign_in: SignIn, personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    sheets = _workbook(client.get("/audit/access/export.xlsx"))
    assert sheets[SEAL_SHEET][-1][1] == "No seal covers the exported rows yet: none of them is sealed."
    rows = _csv(client.get("/audit/access/export.csv"))
    assert {row["Mã niêm phong"] for row in rows} == {NOT_SEALED}
    empty = _workbook(client.get("/audit/access/export.xlsx", {"action": "export", "reader": "nobody"}))
    assert empty[SEAL_SHEET][1:] == [("Không có dòng nào được xuất.", "No rows were exported.", None)]


def test_the_api_file_carries_the_seal_too(personas: Personas, sealed: AccessLogSeal) -> None:
    from dancu.accounts.services import api_token_create

    _token, secret = api_token_create(user=personas.an, name="kiểm toán")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    sheets = _workbook(api.get("/api/v1/audit/access/export.xlsx"))
    block = {item: value for _vi, item, value in sheets[SEAL_SHEET][1:]}
    assert block["Seal digest (SHA-256)"] == sealed.digest
