"""The scorecard page and API, seen by each persona: own unit by default, drill-down inside the area,
nothing of another commune (figures, records, trend, files), every listed or exported record in the
access log, and bad input answered with a clear error.

The population: in Phường Hoàn Kiếm Hùng (clean), Đúng (PIN disagrees with his birth year) and Đủ
(no household, name in lower case); in Phường Hồng Hà Mai (no household); in Phường Sài Gòn Tuấn
(no household); in the 2025 successor of Xã Dương Liễu Nga (no household).
"""

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
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.collection.quality.exports import RECORD_HEADERS, SCORECARD_HEADERS, TREND_HEADERS
from dancu.collection.quality.models import QualityPass
from dancu.collection.quality.selectors import records_needing_work_export, scorecard_unit
from dancu.collection.quality.services import quality_pass_run
from dancu.geo.selectors import successor_of
from dancu.lib.errors import NotFoundError
from dancu.registry.models import Citizen
from tests.collection.quality_support import QUALITY, complete_citizen, force
from tests.conftest import DUONG_LIEU_LEGACY, HONG_HA, SAI_GON, Personas, legacy_commune

pytestmark = pytest.mark.django_db

HOAN_KIEM = "00070"
SignIn = Callable[[Client, User], Client]


@pytest.fixture
def town(db: None) -> dict[str, Citizen]:
    duong_lieu = successor_of(legacy_commune(DUONG_LIEU_LEGACY))
    people = {
        "hung": complete_citizen("Nguyễn Văn Hùng"),
        "dung": complete_citizen("Lê Văn Đúng", address="Số 2 phố Hàng Trống"),
        "du": complete_citizen("Trần Văn Đủ", household=False, address="Số 3 phố Hàng Trống"),
        "mai": complete_citizen("Lê Thị Mai", sex="F", household=False, commune_code=HONG_HA),
        "tuan": complete_citizen("Trần Minh Tuấn", household=False, commune_code=SAI_GON, place="079"),
        "nga": complete_citizen(
            "Phạm Thị Nga",
            sex="F",
            household=False,
            commune_code=duong_lieu.code,
            legacy_code=DUONG_LIEU_LEGACY,
            address="Thôn Thượng",
        ),
    }
    force(people["dung"], birth_date="1991-05-17")
    force(people["du"], full_name="trần văn đủ")
    today = timezone.localdate()
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL, today=today - timedelta(days=1))
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL, today=today)
    return people


@pytest.fixture
def lan(client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn) -> Client:
    """Lan, collector of Phường Hoàn Kiếm, signed in."""
    return sign_in(client, personas.lan)


def page_of(client: Client, query: str = "") -> Any:
    return client.get(f"/quality/{query}")


def listed(response: Any) -> set[int]:
    """The citizens in the page's list of records that need work."""
    return {a["assessment"].citizen_id for a in response.context["records"]}


# Pages ------------------------------------------------------------------------------------------------------


def test_a_commune_officer_sees_her_communes_scorecard_by_default(
    lan: Client, town: dict[str, Citizen]
) -> None:
    response = page_of(lan)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chất lượng dữ liệu: Phường Hoàn Kiếm" in html
    figures = response.context["card"].figures
    assert (figures.records, figures.passed_all) == (3, 1)
    assert figures.counts == {"dung": 2, "du": 2, "sach": 2, "song": 3}
    # Vietnamese writes a decimal comma.
    assert 'data-stat="dung">66,7%' in html
    assert 'data-stat="passed_all">33,3%' in html
    # Worst first: Đủ fails two indicators (50 points), Đúng one (75).
    assert [r["citizen"].pk for r in response.context["records"]] == [town["du"].pk, town["dung"].pk]
    assert f'href="/citizens/{town["du"].pk}/"' in html
    assert "[name.not_canonical]" in html
    assert "[household.none]" in html
    assert "[pin.year_mismatch]" in html
    # Two days of snapshots: one line per indicator plus the line of all four.
    assert html.count("<polyline") == 5
    assert response.context["chart"]["lines"][0].points.count(",") == 2


def test_before_any_pass_the_scorecard_says_so(client: Client, personas: Personas, sign_in: SignIn) -> None:
    complete_citizen("Nguyễn Văn Hùng")
    sign_in(client, personas.lan)
    response = page_of(client)
    html = response.content.decode()
    assert "Chưa đánh giá lần nào" in html
    assert 'data-stat="passed_all">—' in html
    assert 'data-stat="dung">—' in html
    assert 'id="trend-empty"' in html
    assert 'id="records-empty"' in html


def test_the_page_speaks_english_on_request(lan: Client, town: dict[str, Citizen]) -> None:
    lan.post("/i18n/setlang/", {"language": "en", "next": "/quality/"})
    html = page_of(lan).content.decode()
    assert "Data quality: Phường Hoàn Kiếm" in html
    assert "The citizen has a permanent residence but belongs to no household" in html
    assert "Correct" in html
    assert 'data-stat="dung">66.7%' in html


def test_a_commune_officer_never_sees_another_communes_scorecard(
    lan: Client, personas: Personas, town: dict[str, Citizen]
) -> None:
    for code in (HONG_HA, SAI_GON, "01", "79"):
        assert page_of(lan, f"?unit={code}").status_code == 404
    # Not even through a filter or a page number.
    assert page_of(lan, f"?unit={HONG_HA}&indicator=du&page=1").status_code == 404
    page_of(lan)
    seen = set(AccessLog.objects.filter(actor=personas.lan).values_list("citizen_id", flat=True))
    assert seen == {town["du"].pk, town["dung"].pk}


def test_an_unknown_unit_and_a_forbidden_unit_get_the_same_answer(
    lan: Client, town: dict[str, Citizen]
) -> None:
    unknown, forbidden = page_of(lan, "?unit=99999"), page_of(lan, f"?unit={HONG_HA}")
    assert unknown.status_code == forbidden.status_code == 404
    assert unknown.content == forbidden.content


def test_a_province_supervisor_drills_down_to_the_communes_of_his_province(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)
    response = page_of(client)
    assert "Chất lượng dữ liệu: Thành phố Hà Nội" in response.content.decode()
    assert response.context["card"].figures.records == 5
    subs = {row["unit"].code: row["figures"].records for row in response.context["sub_units"]}
    duong_lieu = successor_of(legacy_commune(DUONG_LIEU_LEGACY))
    assert subs == {HOAN_KIEM: 3, HONG_HA: 1, duong_lieu.code: 1}
    assert listed(response) == {town["dung"].pk, town["du"].pk, town["mai"].pk, town["nga"].pk}
    drilled = page_of(client, f"?unit={HONG_HA}")
    assert drilled.status_code == 200
    assert listed(drilled) == {town["mai"].pk}
    assert drilled.context["sub_units"] == []
    assert page_of(client, f"?unit={SAI_GON}").status_code == 404
    assert page_of(client, "?unit=79").status_code == 404


def test_the_ministry_sees_the_country_by_province(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    sign_in(client, personas.minh)
    response = page_of(client)
    assert "Chất lượng dữ liệu: Cả nước" in response.content.decode()
    assert response.context["card"].figures.records == 6
    assert {row["unit"].code: row["figures"].records for row in response.context["sub_units"]} == {
        "01": 5,
        "79": 1,
    }
    assert len(response.context["card"].trend) == 2


def test_an_officer_of_a_legacy_district_sees_only_the_records_of_his_area(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    sign_in(client, personas.hoa)
    response = page_of(client)
    assert response.status_code == 200
    assert response.context["card"].figures.records == 1
    assert listed(response) == {town["nga"].pk}
    # Snapshots count whole 2025 units; an area in the legacy units gets no trend that could leak them.
    assert response.context["card"].trend == []
    assert page_of(client, f"?unit={HOAN_KIEM}").status_code == 404
    # Nor a province of 2025 of which the area is a part, under a link that would be a 404 for him.
    assert response.context["sub_units"] == []
    # His files and the API name his area, not the country.
    area = personas.hoa.police_unit.admin_unit
    download = client.get("/quality/export/scorecard.csv")
    assert f"chat-luong-{area.code}-" in download["Content-Disposition"]
    assert [row[:3] for row in csv_rows(download)[1:]] == [[area.code, area.name, "1"]]
    records = client.get("/quality/export/records.csv")
    assert f"ho-so-can-lam-sach-{area.code}-" in records["Content-Disposition"]
    assert [row[0] for row in csv_rows(records)[1:]] == [town["nga"].pin]
    by_api = api_for(personas.hoa).get("/api/v1/quality/export/records.csv")
    assert f"ho-so-can-lam-sach-{area.code}-" in by_api["Content-Disposition"]
    answer = api_for(personas.hoa).get("/api/v1/quality/scorecard").json()
    assert (answer["unit"]["code"], answer["sub_units"]) == (area.code, [])


def test_the_auditor_has_no_scorecard(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    sign_in(client, personas.an)
    assert page_of(client).status_code == 403


def test_the_scorecard_selector_finds_no_unit_for_the_auditor(
    personas: Personas, town: dict[str, Citizen]
) -> None:
    """Behind the pages' gate, the selector refuses on its own: her own area, a code in it, the country
    alike, with the answer a unit that does not exist gets."""
    for code in (None, "", HOAN_KIEM, "01"):
        with pytest.raises(NotFoundError):
            scorecard_unit(actor=personas.an, code=code)
    assert scorecard_unit(actor=personas.lan, code=None).code == HOAN_KIEM


def test_the_list_filters_by_indicator_and_pages_worst_first(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    extra = [
        complete_citizen(f"Đỗ Văn {name}", household=False, address=f"Số {n} phố Hàng Bông")
        for n, name in enumerate(["An", "Ba", "Ca", "Da", "Em", "Gia", "Ha", "Kha", "La", "Ma"] * 2, start=10)
    ]
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED)
    sign_in(client, personas.lan)
    first = page_of(client)
    assert first.context["page"].paginator.count == 22
    assert first.context["records"][0]["citizen"].pk == town["du"].pk
    scores = [r["assessment"].score for r in first.context["records"]]
    assert scores == sorted(scores)
    second = page_of(client, "?page=2")
    assert len(second.context["records"]) == 2
    assert listed(first) | listed(second) == {town["du"].pk, town["dung"].pk, *(c.pk for c in extra)}
    assert 'rel="prev"' in second.content.decode()
    only_dung = page_of(client, "?indicator=dung")
    assert listed(only_dung) == {town["dung"].pk}


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("?unit=abc", "Mã đơn vị &#x27;abc&#x27; không hợp lệ"),
        ("?unit=%3Cscript%3Ealert(1)%3C/script%3E", "&lt;script&gt;"),
        ("?unit=" + "1" * 5000, "không hợp lệ"),
        ("?unit=%00%E2%80%AE", "không hợp lệ"),
        ("?indicator=%27%20OR%201=1", "Tiêu chí"),
    ],
)
def test_bad_parameters_get_a_clear_error_naming_the_rule(lan: Client, query: str, text: str) -> None:
    response = page_of(lan, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert text in html
    assert "<script>" not in html
    assert "[unit.unknown]" in html or "[quality.indicator_unknown]" in html


@pytest.mark.parametrize("page", ["abc", "-1", "0", "99999", "1e9", "%00"])
def test_any_page_number_gives_a_page(lan: Client, town: dict[str, Citizen], page: str) -> None:
    response = page_of(lan, f"?page={page}")
    assert response.status_code == 200
    assert listed(response) == {town["du"].pk, town["dung"].pk}


def test_the_navigation_links_to_the_scorecard(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    sign_in(client, personas.binh)
    assert 'href="/quality/"' in client.get("/").content.decode()


# API --------------------------------------------------------------------------------------------------------


def api_for(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="quality")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_the_api_gives_a_units_figures_and_trend(personas: Personas, town: dict[str, Citizen]) -> None:
    body = api_for(personas.lan).get("/api/v1/quality/scorecard").json()
    assert body["unit"] == {"code": HOAN_KIEM, "name": "Phường Hoàn Kiếm", "level": "commune"}
    assert body["figures"]["records"] == 3
    assert body["figures"]["passed_all_percent"] == 33.3
    assert body["figures"]["indicators"]["dung"] == {"passed": 2, "percent": 66.7}
    assert [point["passed_all"] for point in body["trend"]] == [1, 1]
    assert body["sub_units"] == []


def test_the_api_lists_records_worst_first_with_reasons_in_both_languages(
    personas: Personas, town: dict[str, Citizen]
) -> None:
    response = api_for(personas.lan).get("/api/v1/quality/records")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["page"], body["pages"]) == (2, 1, 1)
    first = body["results"][0]
    assert first["citizen_id"] == town["du"].pk
    assert first["score"] == 50
    assert first["indicators"] == {"dung": True, "du": False, "sach": False, "song": True}
    assert [(f["indicator"], f["code"]) for f in first["failures"]] == [
        ("du", "household.none"),
        ("sach", "name.not_canonical"),
    ]
    assert first["failures"][1]["message_en"].startswith("Full name is not in canonical form")
    assert set(
        AccessLog.objects.filter(actor=personas.lan, channel="api").values_list("citizen_id", flat=True)
    ) == {town["du"].pk, town["dung"].pk}


def test_the_api_never_shows_another_communes_scorecard_or_records(
    personas: Personas, town: dict[str, Citizen]
) -> None:
    client = api_for(personas.binh)
    for path in ("scorecard", "records"):
        for code in (HOAN_KIEM, "01", "99999"):
            response = client.get(f"/api/v1/quality/{path}?unit={code}")
            assert response.status_code == 404
            assert response.json()["errors"][0]["code"] == "not_found"
    own = client.get("/api/v1/quality/records").json()
    assert [r["citizen_id"] for r in own["results"]] == [town["mai"].pk]
    # The auditor reads the access log, not the records: her token opens no record endpoint.
    assert api_for(personas.an).get("/api/v1/quality/scorecard").status_code == 401


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("scorecard?unit=abc", "unit", "unit.unknown"),
        ("records?unit=%3Cscript%3E", "unit", "unit.unknown"),
        ("records?unit=" + "9" * 50, "unit", "schema.string_too_long"),
        ("records?page=0", "page", "schema.greater_than_equal"),
        ("records?page=abc", "page", "schema.int_parsing"),
        ("records?indicator=bogus", "indicator", "schema.literal_error"),
    ],
)
def test_the_api_refuses_bad_parameters_naming_the_field_and_rule(
    personas: Personas, town: dict[str, Citizen], query: str, field: str, code: str
) -> None:
    response = api_for(personas.lan).get(f"/api/v1/quality/{query}")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert errors[0]["message_vi"]
    assert errors[0]["message_en"]


def test_the_api_needs_a_token(town: dict[str, Citizen]) -> None:
    assert Client().get("/api/v1/quality/scorecard").status_code == 401


# Exports: the scorecard and the records behind it as CSV and XLSX files, within the officer's area only.


def csv_rows(response: Any) -> list[list[str]]:
    assert response.streaming, "a CSV export is streamed, not built in memory"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_sheets(response: Any) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


def exported(user: Any) -> set[int]:
    return set(
        AccessLog.objects.filter(actor=user, action=AccessLog.Action.EXPORT).values_list(
            "citizen_id", flat=True
        )
    )


def test_an_officer_exports_the_records_of_her_commune_and_each_is_logged(
    lan: Client, personas: Personas, town: dict[str, Citizen]
) -> None:
    response = lan.get("/quality/export/records.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == RECORD_HEADERS
    assert {row[0] for row in rows[1:]} == {town["dung"].pin, town["du"].pin}
    by_pin = {row[0]: row for row in rows[1:]}
    assert "Đủ" in by_pin[town["du"].pin][7]
    assert "household" not in by_pin[town["du"].pin][9]  # the reasons in the reader's language: Vietnamese
    # One access-log row per citizen written to the file, as an export; none for the others.
    assert exported(personas.lan) == {town["dung"].pk, town["du"].pk}
    log = AccessLog.objects.filter(actor=personas.lan, action=AccessLog.Action.EXPORT)
    assert log.count() == 2
    assert all(entry.channel == AccessLog.Channel.WEB for entry in log)


def test_the_xlsx_export_follows_the_indicator_asked_for(
    lan: Client, personas: Personas, town: dict[str, Citizen]
) -> None:
    response = lan.get("/quality/export/records.xlsx?indicator=dung")
    assert response.status_code == 200
    sheets = xlsx_sheets(response)
    rows = sheets["Hồ sơ cần làm sạch"]
    assert list(rows[0]) == RECORD_HEADERS
    assert [row[0] for row in rows[1:]] == [town["dung"].pin]
    assert rows[1][5] == 75  # the score stays a number
    assert exported(personas.lan) == {town["dung"].pk}


@pytest.mark.parametrize("path", ["/quality/export/records.csv", "/quality/export/scorecard.xlsx"])
def test_another_communes_unit_and_a_unit_that_does_not_exist_get_the_same_answer(
    lan: Client, personas: Personas, path: str
) -> None:
    forbidden = lan.get(f"{path}?unit={HONG_HA}")
    missing = lan.get(f"{path}?unit=99999")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content
    assert exported(personas.lan) == set()


def test_officers_outside_the_commune_export_nothing_of_it(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    # Bình of Phường Hồng Hà: his own commune only.
    binh = sign_in(Client(), personas.binh)
    rows = csv_rows(binh.get("/quality/export/records.csv"))
    assert {row[0] for row in rows[1:]} == {town["mai"].pin}
    assert exported(personas.binh) == {town["mai"].pk}
    # Dũng, supervisor of Hồ Chí Minh City: Hoàn Kiếm is missing to him; his city has Tuấn only.
    dung = sign_in(Client(), personas.dung)
    assert dung.get(f"/quality/export/records.xlsx?unit={HOAN_KIEM}").status_code == 404
    rows = csv_rows(dung.get(f"/quality/export/records.csv?unit={SAI_GON}"))
    assert {row[0] for row in rows[1:]} == {town["tuan"].pin}
    assert exported(personas.dung) == {town["tuan"].pk}
    # The auditor has no scorecard, nor its files.
    auditor = sign_in(Client(), personas.an)
    assert auditor.get("/quality/export/records.csv").status_code == 403
    assert auditor.get("/quality/export/scorecard.csv").status_code == 403
    assert exported(personas.an) == set()


def test_the_scorecard_export_gives_the_unit_its_sub_units_and_the_trend(
    client: Client, personas: Personas, town: dict[str, Citizen], sign_in: SignIn
) -> None:
    lan = sign_in(Client(), personas.lan)
    rows = csv_rows(lan.get("/quality/export/scorecard.csv"))
    assert rows[0] == SCORECARD_HEADERS
    assert len(rows) == 2  # a commune has no sub-units
    code, name, records = rows[1][:3]
    assert (code, records, rows[1][-2]) == (HOAN_KIEM, "3", "1")
    assert "Hoàn Kiếm" in name
    # Counts only: a scorecard names nobody, so nothing is written to the access log.
    assert not AccessLog.objects.filter(actor=personas.lan).exclude(action=AccessLog.Action.VIEW).exists()

    ministry = sign_in(Client(), personas.minh)
    sheets = xlsx_sheets(ministry.get("/quality/export/scorecard.xlsx"))
    summary = sheets["Tổng hợp"]
    assert summary[1][:3] == ("VN", "Cả nước", 6)
    assert len(summary) > 2  # the provinces follow the country
    assert sum(row[2] for row in summary[2:]) == 6
    trend = sheets["Theo ngày"]
    assert list(trend[0]) == TREND_HEADERS
    assert len(trend) == 3  # yesterday's and today's passes


def test_bad_parameters_and_formats_are_refused(lan: Client) -> None:
    assert lan.get("/quality/export/records.pdf").status_code == 404
    response = lan.get("/quality/export/records.csv?indicator=dep")
    assert response.status_code == 400
    assert "quality.indicator_unknown" in response.content.decode()
    assert lan.get("/quality/export/scorecard.csv?unit=abc").status_code == 400


def test_a_value_that_looks_like_a_formula_is_written_as_text(lan: Client, town: dict[str, Citizen]) -> None:
    force(town["dung"], full_name='=HYPERLINK("http://example.invalid")')
    rows = csv_rows(lan.get("/quality/export/records.csv?indicator=dung"))
    assert rows[1][1].startswith("'=")


def test_the_records_are_read_and_logged_chunk_by_chunk(personas: Personas, town: dict[str, Citizen]) -> None:
    records = records_needing_work_export(actor=personas.minh, unit=None, purpose="kiểm tra", chunk_size=2)
    first = next(records)
    # Only the first chunk has been read, and logged, so far: a million records never sit in memory.
    assert len(exported(personas.minh)) == 2
    rest = list(records)
    assert len(rest) == 4  # Đúng, Đủ, Mai, Tuấn, Nga
    assert exported(personas.minh) == {first.citizen_id, *(r.citizen_id for r in rest)}
    assert town["hung"].pk not in exported(personas.minh)


# The same files through the API, for the tools of a province or the ministry.


def test_the_api_exports_the_records_of_the_officers_commune_and_logs_each_as_an_api_export(
    personas: Personas, town: dict[str, Citizen]
) -> None:
    response = api_for(personas.lan).get("/api/v1/quality/export/records.csv", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == RECORD_HEADERS
    by_pin = {row[0]: row for row in rows[1:]}
    assert set(by_pin) == {town["dung"].pin, town["du"].pin}
    # The reasons follow the caller's language, as on the page.
    assert "Full name is not in canonical form" in by_pin[town["du"].pin][9]
    log = AccessLog.objects.filter(actor=personas.lan, action=AccessLog.Action.EXPORT)
    assert {entry.citizen_id for entry in log} == {town["dung"].pk, town["du"].pk}
    assert {entry.channel for entry in log} == {AccessLog.Channel.API}


def test_the_api_exports_the_scorecard_and_the_records_of_one_indicator_as_xlsx(
    personas: Personas, town: dict[str, Citizen]
) -> None:
    client = api_for(personas.lan)
    sheets = xlsx_sheets(client.get("/api/v1/quality/export/scorecard.xlsx"))
    assert sheets["Tổng hợp"][1][:3] == (HOAN_KIEM, "Phường Hoàn Kiếm", 3)
    assert list(sheets["Theo ngày"][0]) == TREND_HEADERS
    # Counts only: nothing is written to the access log for a scorecard.
    assert not exported(personas.lan)
    rows = xlsx_sheets(client.get("/api/v1/quality/export/records.xlsx?indicator=dung"))["Hồ sơ cần làm sạch"]
    assert [row[0] for row in rows[1:]] == [town["dung"].pin]
    assert exported(personas.lan) == {town["dung"].pk}


@pytest.mark.parametrize("path", ["records.csv", "scorecard.xlsx"])
def test_the_api_export_of_another_communes_unit_is_the_same_404_as_a_missing_unit(
    personas: Personas, town: dict[str, Citizen], path: str
) -> None:
    client = api_for(personas.binh)
    forbidden = client.get(f"/api/v1/quality/export/{path}?unit={HOAN_KIEM}")
    missing = client.get(f"/api/v1/quality/export/{path}?unit=99999")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()
    assert exported(personas.binh) == set()
    # His own export holds his commune's record only.
    rows = csv_rows(client.get("/api/v1/quality/export/records.csv"))
    assert {row[0] for row in rows[1:]} == {town["mai"].pin}
    assert exported(personas.binh) == {town["mai"].pk}


@pytest.mark.parametrize(
    ("path", "field", "code"),
    [
        ("records.pdf", "file_format", "schema.literal_error"),
        ("records.csv?indicator=dep", "indicator", "schema.literal_error"),
        ("scorecard.csv?unit=abc", "unit", "unit.unknown"),
        ("records.xlsx?unit=" + "9" * 50, "unit", "schema.string_too_long"),
    ],
)
def test_the_api_export_refuses_bad_formats_and_parameters_naming_the_field_and_rule(
    personas: Personas, town: dict[str, Citizen], path: str, field: str, code: str
) -> None:
    response = api_for(personas.lan).get(f"/api/v1/quality/export/{path}")
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert exported(personas.lan) == set()


def test_the_api_exports_need_a_token_and_an_officer_who_reads_records(
    personas: Personas, town: dict[str, Citizen]
) -> None:
    assert Client().get("/api/v1/quality/export/records.csv").status_code == 401
    assert api_for(personas.an).get("/api/v1/quality/export/scorecard.csv").status_code == 401


def test_the_api_exports_are_in_the_openapi_schema() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for kind in ("scorecard", "records"):
        path = paths[f"/api/v1/quality/export/{kind}.{{file_format}}"]
        formats = next(p for p in path["get"]["parameters"] if p["name"] == "file_format")
        assert formats["schema"]["enum"] == ["csv", "xlsx"]
