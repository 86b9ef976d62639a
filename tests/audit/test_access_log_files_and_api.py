"""The access log as a file and over the API: the same rows as the page, the same area, the same rules,
and the auditor's own reading logged (as an export, or with the channel "api")."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.exports import HEADERS
from dancu.audit.models import AccessLog
from dancu.audit.selectors import AUDIT_PURPOSE, PAGE_SIZE, AccessLogQuery, access_log_export
from dancu.lib.errors import DomainError
from dancu.registry.selectors import citizen_get
from tests.audit.conftest import PURPOSE
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db


def _api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="kiểm toán")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def _csv(response: Any) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


# The export, through its selector ----------------------------------------------------------------------


def test_the_export_holds_every_row_of_the_area_and_logs_each_citizen_in_it(
    personas: Personas, people: People, reads: None, commune_auditor: User
) -> None:
    for _ in range(4):
        citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=PURPOSE)
    before = set(AccessLog.objects.values_list("pk", flat=True))
    # Chunks of two: the rows come out newest first across chunk boundaries, and each citizen in the
    # file is logged once, though Hùng's reads fill three chunks.
    rows = list(access_log_export(actor=personas.an, query=AccessLogQuery(), chunk_size=2))
    assert [row.pk for row in rows] == sorted(before, reverse=True)
    own = AccessLog.objects.filter(actor=personas.an)
    assert set(own.values_list("action", "channel", "purpose", "detail")) == {
        ("export", "web", AUDIT_PURPOSE, "nhật ký truy cập")
    }
    assert sorted(own.values_list("citizen_id", flat=True)) == sorted(
        [people.hung.pk, people.mai.pk, people.tuan.pk]
    )
    # A commune's auditor exports the reads of the commune's citizens, and nothing of another commune.
    local = list(access_log_export(actor=commune_auditor, query=AccessLogQuery()))
    assert {row.citizen_id for row in local} == {people.hung.pk}
    # Lan's five reads of Hùng, and the ministry auditor's export of them.
    assert len(local) == 5 + 1
    # The first export's own rows are in the log now, but were not in the file.
    assert not {row.pk for row in rows} - before


def test_the_reader_unit_is_the_one_answerable_when_the_read_was_made(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, people: People, reads: None
) -> None:
    """Lan read Hùng in Hoàn Kiếm, then was moved to the ministry: the page, the API and the file name
    her unit of then, as the citizen's portal does."""
    then = str(personas.lan.police_unit)
    User.objects.filter(pk=personas.lan.pk).update(police_unit=personas.minh.police_unit)
    assert str(personas.minh.police_unit) != then
    [row] = _api(personas.an).get("/api/v1/audit/access", {"reader": "lan"}).json()["rows"]
    assert row["reader_unit"] == then
    sign_in(client, personas.an)
    page = client.get("/audit/access/", {"reader": "lan"}).content.decode()
    assert then in page
    assert str(personas.minh.police_unit) not in page.split('id="access-log"')[1]
    [line] = _csv(client.get("/audit/access/export.csv", {"reader": "lan"}))
    assert line["Đơn vị của người đọc"] == then


def test_an_auditors_pages_log_each_citizen_once_a_day_and_can_be_left_out(
    personas: Personas, people: People, reads: None
) -> None:
    """Paging back and forth writes no second row for a citizen the auditor was shown today; the
    auditors' own reads can be left out of the list."""
    for _ in range(3):
        _api(personas.an).get("/api/v1/audit/access")
    own = AccessLog.objects.filter(actor=personas.an)
    assert sorted(own.values_list("citizen_id", flat=True)) == sorted(
        [people.hung.pk, people.mai.pk, people.tuan.pk]
    )
    listed = _api(personas.an).get("/api/v1/audit/access").json()["rows"]
    assert {row["purpose"] for row in listed} == {PURPOSE, AUDIT_PURPOSE}
    without = _api(personas.an).get("/api/v1/audit/access", {"without_audit": "true"}).json()["rows"]
    assert {row["purpose"] for row in without} == {PURPOSE}
    assert len(without) == 3


def test_an_export_with_a_broken_rule_is_refused_before_any_row_is_read(
    personas: Personas, reads: None
) -> None:
    with pytest.raises(DomainError) as caught:
        access_log_export(actor=personas.an, query=AccessLogQuery(pin="12ab", channel="fax"))
    assert sorted(error.field for error in caught.value.errors) == ["channel", "pin"]
    assert not AccessLog.objects.filter(actor=personas.an).exists()


def test_officers_who_are_not_auditors_export_nothing(personas: Personas, reads: None) -> None:
    assert list(access_log_export(actor=personas.minh, query=AccessLogQuery())) == []


# The page's files ------------------------------------------------------------------------------------------


def test_the_page_offers_the_filtered_rows_as_csv(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, people: People, reads: None
) -> None:
    sign_in(client, personas.an)
    page = client.get("/audit/access/", {"reader": "minh"}).content.decode()
    assert 'href="/audit/access/export.csv?reader=minh"' in page
    assert '<p class="muted" id="readers">Người đọc ứng với tên đã nhập: minh</p>' in page
    response = client.get("/audit/access/export.csv", {"reader": "minh"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert {row["Họ và tên"] for row in rows} == {"Lê Thị Mai", "Trần Minh Tuấn"}
    assert {row["Số định danh"] for row in rows} == {people.mai.pin, people.tuan.pin}
    assert {(row["Việc"], row["Kênh"], row["Mục đích"]) for row in rows} == {
        ("Xem hồ sơ", "Trang web", PURPOSE)
    }
    assert list(rows[0]) == HEADERS


def test_the_page_offers_the_rows_as_xlsx_in_the_reader_language_independent_form(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    client.post("/i18n/setlang/", {"language": "en", "next": "/audit/access/"})
    response = client.get("/audit/access/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == HEADERS
    # The file is the same whatever the page's language: Vietnamese, like the officers' other files.
    assert {row[5] for row in values[1:]} == {"Xem hồ sơ"}
    assert len(values) == 4


def test_the_xlsx_is_streamed_and_its_reads_logged_as_its_rows_go_out(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    """The workbook is not written whole before its first byte: nothing is logged as exported until the
    server asks for the bytes of its rows, so a file given up before its rows were read logs none."""
    sign_in(client, personas.an)
    response = client.get("/audit/access/export.xlsx")
    assert response.status_code == 200
    assert response.streaming
    exported = AccessLog.objects.filter(actor=personas.an, action="export")
    assert not exported.exists()
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert first.startswith(b"PK")  # the zip's fixed parts leave before any row is read
    assert not exported.exists()
    data = first + b"".join(chunks)
    assert exported.count() == 3
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    assert sheet is not None
    assert len(list(sheet.iter_rows(values_only=True))) == 4


def test_the_page_names_a_bad_filter_instead_of_sending_a_file(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    response = client.get("/audit/access/export.csv", {"pin": "12ab"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert 'data-field="pin"' in response.content.decode()
    assert client.get("/audit/access/export.pdf").status_code == 404
    assert not AccessLog.objects.filter(actor=personas.an, action="export").exists()


def test_the_files_are_the_auditors_alone(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    assert client.get("/audit/access/export.csv").status_code == 302  # to the sign-in page
    sign_in(client, personas.minh)
    assert client.get("/audit/access/export.csv").status_code == 403


# The API ---------------------------------------------------------------------------------------------------


def test_the_api_gives_the_reads_of_the_auditors_area(
    personas: Personas, people: People, reads: None, commune_auditor: User
) -> None:
    response = _api(personas.an).get("/api/v1/audit/access")
    assert response.status_code == 200
    body = response.json()
    assert {row["citizen_name"] for row in body["rows"]} == {
        "Nguyễn Văn Hùng",
        "Lê Thị Mai",
        "Trần Minh Tuấn",
    }
    lan_row = next(row for row in body["rows"] if row["citizen_pin"] == people.hung.pin)
    assert lan_row["reader"] == "lan"
    assert lan_row["reader_unit"] == str(personas.lan.police_unit)
    assert (lan_row["action"], lan_row["channel"], lan_row["purpose"]) == ("view", "web", PURPOSE)
    assert body["next_before"] is None
    local = _api(commune_auditor).get("/api/v1/audit/access").json()
    assert {row["citizen_pin"] for row in local["rows"]} == {people.hung.pin}
    # A PIN outside the area finds nothing, as a PIN nobody has.
    assert _api(commune_auditor).get("/api/v1/audit/access", {"pin": people.tuan.pin}).json()["rows"] == []
    # The auditor's reading over the API is in the log, with its channel.
    own = AccessLog.objects.filter(actor=personas.an)
    assert set(own.values_list("action", "channel", "purpose")) == {("search", "api", AUDIT_PURPOSE)}


def test_the_api_pages_follow_each_other(personas: Personas, people: People, reads: None) -> None:
    for _ in range(PAGE_SIZE):
        citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=PURPOSE)
    ids = set(AccessLog.objects.values_list("pk", flat=True))
    api = _api(personas.an)
    first = api.get("/api/v1/audit/access").json()
    assert len(first["rows"]) == PAGE_SIZE
    second = api.get("/api/v1/audit/access", {"before": first["next_before"]}).json()
    assert {row["id"] for row in first["rows"] + second["rows"]} == ids
    assert second["next_before"] is None


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"pin": "12ab"}, "pin", "pin.format"),
        ({"reader": "lan\x00"}, "reader", "text.control_chars"),
        ({"action": "delete"}, "action", "choice.unknown"),
        ({"since": "2026-02-30"}, "since", "schema.date_from_datetime_parsing"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until", "date.range"),
        ({"before": "0"}, "before", "schema.greater_than_equal"),
    ],
)
def test_the_api_names_a_bad_filter(
    personas: Personas, reads: None, params: dict[str, str], field: str, code: str
) -> None:
    response = _api(personas.an).get("/api/v1/audit/access", params)
    assert response.status_code == 422
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [(field, code)]


def test_the_api_is_the_auditors_alone(personas: Personas, reads: None) -> None:
    for officer in (personas.lan, personas.minh):
        refused = _api(officer).get("/api/v1/audit/access")
        assert refused.status_code == 401
        # The refusal says which token the path takes.
        assert refused.json()["errors"] == [
            {
                "field": "Authorization",
                "code": "auth.required",
                "message_vi": "Cần mã truy cập hợp lệ của kiểm toán viên",
                "message_en": "A valid auditor API token is required",
            }
        ]
        assert _api(officer).get("/api/v1/audit/access/export.csv").status_code == 401
    assert Client().get("/api/v1/audit/access").status_code == 401
    # And an auditor's token opens no officer endpoint.
    refused = _api(personas.an).get("/api/v1/matching/pairs")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["message_en"] == "A valid officer API token is required"


def test_the_api_gives_the_same_file_as_the_page(personas: Personas, people: People, reads: None) -> None:
    response = _api(personas.an).get("/api/v1/audit/access/export.csv", {"pin": people.hung.pin})
    assert response.status_code == 200
    rows = _csv(response)
    assert [row["Người đọc"] for row in rows] == ["lan"]
    assert set(
        AccessLog.objects.filter(actor=personas.an).values_list("action", "channel", "citizen_id")
    ) == {("export", "api", people.hung.pk)}
    refused = _api(personas.an).get("/api/v1/audit/access/export.csv", {"channel": "fax"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "channel"


def test_an_auditor_makes_their_own_token_on_the_tokens_page(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    page = client.post("/account/tokens/", {"name": "công cụ kiểm toán"})
    assert page.status_code == 200
    secret = page.context["new_secret"]
    assert secret.startswith("dcu_")
    answer = Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/audit/access")
    assert answer.status_code == 200
    assert len(answer.json()["rows"]) == 3
