"""Leaders' pages through the real stack: sign-in, scoping, Vietnamese figures, exports, targets."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation
from openpyxl import load_workbook

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.exports import period_text
from dancu.campaigns.figures import figures_compute
from dancu.campaigns.models import Target
from tests.campaigns.conftest import Country
from tests.conftest import Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def page(client: Client, country: Country, scope: str, query: str = "day=2025-07-03") -> str:
    response = client.get(f"/campaigns/{country.campaign.pk}/{scope}/?{query}")
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def cards_section(html: str) -> str:
    """The card applications' part of a dashboard (before the forms' part)."""
    return html.split('id="metric-cards_taken"', 1)[1].split('id="metric-forms_collected"', 1)[0]


def test_the_ministry_sees_the_country_in_vietnamese_figures(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    services.target_set(
        actor=Actor(personas.minh),
        campaign_metric=country.cards,
        unit=None,
        total=1_234_567,
        per_day=None,
        reason="Kế hoạch năm",
    )
    client = sign_in(Client(), personas.minh)
    html = page(client, country, "vn")
    assert "Toàn quốc" in html
    assert 'data-stat="target">1.234.567<' in html
    assert 'data-stat="achieved">13<' in html
    assert 'data-stat="met">0/2<' in html
    # Hà Nội 8 of 10, first; TP HCM 5 of 20, behind; both link to their own dashboards.
    assert "80,0%" in html
    assert "25,0%" in html
    assert f'href="/campaigns/{country.campaign.pk}/01/?day=2025-07-03"' in html
    # At 4,3 a day a target of 1.234.567 is out of reach: no forecast date rather than one in 2806.
    assert 'data-stat="forecast">—<' in cards_section(html)
    assert "chart-4.6.1.umd.min.js" in html
    # Served by dancu itself: no script or style sheet from another host. (The page's random CSRF token
    # may hold any three letters, "cdn" among them.)
    assert not re.search(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", html)


def test_english_pages_use_english_notation(country: Country, personas: Personas, sign_in: SignIn) -> None:
    client = sign_in(Client(), personas.minh)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = page(client, country, "79")
    assert "Card applications taken" in html
    assert "25.0%" in html


def test_a_province_officer_sees_their_province_and_below_only(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.cuong)
    html = page(client, country, "01")
    assert 'data-stat="met">2/3<' in html
    # 8 of 10 at 8/3 a day: reached on 4-7, six days before the end.
    assert 'data-days-ahead="6"' in cards_section(html)
    assert "sớm 6 ngày so với kế hoạch" in html
    assert "200,0%" in html  # Dương Liễu: 2 of an eligible population of 1
    assert 'id="targets-link"' in html
    assert "Phường Hoàn Kiếm" in page(client, country, country.hoan_kiem.code)
    for scope in ("vn", "79", country.sai_gon.code, "99", "abcde", country.duong_lieu_legacy.code):
        assert client.get(f"/campaigns/{country.campaign.pk}/{scope}/").status_code == 404, scope
        assert client.get(f"/campaigns/{country.campaign.pk}/{scope}/export.xlsx").status_code == 404, scope
        assert client.get(f"/campaigns/{country.campaign.pk}/{scope}/targets/").status_code == 404, scope
    assert client.get("/campaigns/999999/01/").status_code == 404


def test_a_commune_officer_sees_their_commune_down_to_the_shift(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.lan)
    html = page(client, country, country.hoan_kiem.code)
    assert 'data-breakdown="shift"' in html
    assert "Trần Thị Lan" in html
    assert "Điểm UBND phường" in html
    assert 'id="targets-link"' not in html
    for scope in ("vn", "01", country.hong_ha.code):
        assert client.get(f"/campaigns/{country.campaign.pk}/{scope}/").status_code == 404
    # The list opens each campaign on the officer's own commune.
    listing = client.get("/campaigns/").content.decode()
    assert f"/campaigns/{country.campaign.pk}/{country.hoan_kiem.code}/" in listing


def test_an_officer_of_a_legacy_district_is_told_why_no_campaign_opens(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    listing = sign_in(Client(), personas.hoa).get("/campaigns/").content.decode()
    assert country.campaign.name in listing
    assert f"/campaigns/{country.campaign.pk}/" not in listing
    assert 'id="no-home"' in listing
    assert "theo đơn vị hành chính từ năm 2025" in listing
    # An officer of a 2025 unit opens their own dashboard and reads no such notice.
    listing = sign_in(Client(), personas.lan).get("/campaigns/").content.decode()
    assert 'id="no-home"' not in listing


def test_the_ministry_opens_each_campaign_on_the_whole_country(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    listing = sign_in(Client(), personas.minh).get("/campaigns/").content.decode()
    assert f'href="/campaigns/{country.campaign.pk}/vn/"' in listing
    assert 'id="no-home"' not in listing


def test_an_auditor_reads_no_figures(country: Country, personas: Personas, sign_in: SignIn) -> None:
    client = sign_in(Client(), personas.an)
    assert client.get(f"/campaigns/{country.campaign.pk}/vn/").status_code == 403


def test_a_bad_day_is_named_and_the_page_still_answers(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.minh)
    html = page(client, country, "vn", "day=2025-13-45&since=x")
    assert 'data-field="day"' in html
    assert 'data-field="since"' in html
    # A start after the day, typed or the default one, is named like the API names it.
    for query in ("day=2025-07-02&since=2025-07-03", "since=2399-12-31"):
        html = page(client, country, "vn", query)
        assert '<li data-field="since">Từ ngày: Ngày bắt đầu phải trước ngày xem số liệu</li>' in html


def test_the_workbook_holds_the_same_figures_as_the_page(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.cuong)
    response = client.get(f"/campaigns/{country.campaign.pk}/01/export.xlsx?day=2025-07-03")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    summary = book["Tổng hợp"]
    rows = [[cell.value for cell in row] for row in summary.iter_rows(min_row=6, max_row=7)]
    assert rows[0][:4] == ["Hồ sơ cấp thẻ căn cước đã thu nhận", 8, 10, 80.0]
    assert rows[0][7] == "2/3"
    ranking = [[c.value for c in row] for row in book["cards_taken"].iter_rows(min_row=2, max_row=4)]
    assert [(r[0], r[2], r[3], r[4]) for r in ranking] == [
        (1, country.duong_lieu.name, 2, 1),
        (2, "Phường Hoàn Kiếm", 4, 4),
        (3, "Phường Hồng Hà", 2, 3),
    ]
    trend = [[c.value for c in row] for row in book["Theo ngày"].iter_rows(min_row=2)]
    assert [r[1] for r in trend] == [4, 4, 0]


def test_the_printable_report_is_a_pdf(country: Country, personas: Personas, sign_in: SignIn) -> None:
    client = sign_in(Client(), personas.lan)
    response = client.get(
        f"/campaigns/{country.campaign.pk}/{country.hoan_kiem.code}/export.pdf?day=2025-07-03"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"DejaVu" in response.content


def test_a_province_hands_down_a_target_and_the_history_shows_it(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.cuong)
    url = f"/campaigns/{country.campaign.pk}/01/targets/"
    assert "Phường ít dân hơn dự kiến" in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "metric": country.cards.pk,
            "unit": country.duong_lieu.code,
            "total": "",
            "per_day": "1",
            "reason": "Xã mới sáp nhập",
        },
    )
    assert response.status_code == 302
    target = Target.objects.get(campaign_metric=country.cards, unit=country.duong_lieu)
    assert (target.total, target.per_day, target.set_by) == (None, 1, personas.cuong)
    # A commune of another province is not among the choices; bad figures are named.
    refused = client.post(
        url, {"metric": country.cards.pk, "unit": country.sai_gon.code, "total": "5", "reason": "x"}
    )
    assert refused.status_code == 400
    assert 'data-field="unit"' in refused.content.decode()
    refused = client.post(
        url, {"metric": country.cards.pk, "unit": country.hong_ha.code, "total": "", "reason": "x"}
    )
    assert refused.status_code == 400
    assert "Cần chỉ tiêu cả đợt hoặc mỗi ngày" in refused.content.decode()


def test_the_countrys_target_history_is_the_ministrys_own_and_the_provinces(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    """The ministry reads the settings it made (the country's and each province's target); the communes'
    targets are the provinces' work, read on each province's page."""
    client = sign_in(Client(), personas.minh)
    html = client.get(f"/campaigns/{country.campaign.pk}/vn/targets/").content.decode()
    assert "Kế hoạch Bộ" in html
    assert html.count("Giao tỉnh") == 2
    assert "Giao xã" not in html
    assert "Phường ít dân hơn dự kiến" not in html
    assert "Giao xã" in client.get(f"/campaigns/{country.campaign.pk}/01/targets/").content.decode()


@pytest.mark.parametrize(
    "case",
    [
        ("1.000", "vi", 1000),
        ("1 000", "vi", 1000),
        ("1.234.567", "vi", 1234567),
        (" 1000 ", "vi", 1000),
        ("1,000", "en", 1000),
        ("1\u00a0000", "en", 1000),
    ],
)
def test_a_target_is_typed_the_way_the_page_writes_it(
    country: Country, personas: Personas, sign_in: SignIn, case: tuple[str, str, int]
) -> None:
    typed, language, stored = case
    client = sign_in(Client(), personas.cuong)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    url = f"/campaigns/{country.campaign.pk}/01/targets/"
    form = client.get(url).content.decode()
    assert 'type="text" name="total" inputmode="numeric"' in form
    response = client.post(
        url, {"metric": country.cards.pk, "unit": country.hoan_kiem.code, "total": typed, "reason": "Giao"}
    )
    assert response.status_code == 302
    assert Target.objects.get(campaign_metric=country.cards, unit=country.hoan_kiem).total == stored
    # The history shows it as typed on a page of that language.
    assert f"{stored:,}".replace(",", "." if language == "vi" else ",") in client.get(url).content.decode()


@pytest.mark.parametrize(
    "case",
    [
        ("٥", "vi", "Chỉ dùng các chữ số 0-9"),
        ("１０", "vi", "Chỉ dùng các chữ số 0-9"),
        ("1,000", "vi", "dấu «,» là dấu thập phân"),
        ("1,5", "vi", "dấu «,» là dấu thập phân"),
        ("1.000", "en", "«.» is the decimal point"),
        ("1.00", "vi", "các chữ số nhóm ba như 1.000.000"),
        ("1.000 000", "vi", "các chữ số nhóm ba như 1.000.000"),
        ("1e3", "vi", "các chữ số nhóm ba như 1.000.000"),
    ],
)
def test_a_target_that_is_not_plainly_a_whole_number_is_refused_by_name(
    country: Country, personas: Personas, sign_in: SignIn, case: tuple[str, str, str]
) -> None:
    typed, language, message = case
    client = sign_in(Client(), personas.cuong)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    url = f"/campaigns/{country.campaign.pk}/01/targets/"
    refused = client.post(
        url, {"metric": country.cards.pk, "unit": country.hoan_kiem.code, "per_day": typed, "reason": "x"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    errors = html.split('data-field="per_day">', 1)[1].split("</ul>", 1)[0]
    assert message in errors
    # What was typed is shown back as typed, to be corrected.
    assert f'name="per_day" value="{typed}"' in html
    assert Target.objects.get(campaign_metric=country.cards, unit=country.hoan_kiem).per_day is None


def test_a_commune_officer_sets_no_target(country: Country, personas: Personas, sign_in: SignIn) -> None:
    client = sign_in(Client(), personas.lan)
    url = f"/campaigns/{country.campaign.pk}/{country.hoan_kiem.code}/targets/"
    assert 'id="target-form"' not in client.get(url).content.decode()
    response = client.post(
        url, {"metric": country.cards.pk, "unit": country.hoan_kiem.code, "total": "1", "reason": "x"}
    )
    assert response.status_code == 403


def test_the_ministry_creates_a_campaign_from_the_page(personas: Personas, sign_in: SignIn) -> None:
    from dancu.campaigns.models import Campaign, Metric

    client = sign_in(Client(), personas.minh)
    taken = Metric.objects.get(code="cards_taken")
    response = client.post(
        "/campaigns/new/",
        {"name": "Đợt 2", "starts_on": "2025-08-01", "ends_on": "2025-07-01", "metrics": [taken.pk]},
    )
    assert response.status_code == 400
    assert "Ngày kết thúc trước ngày bắt đầu" in response.content.decode()
    response = client.post(
        "/campaigns/new/",
        {"name": "Đợt 2", "starts_on": "2025-08-01", "ends_on": "2025-08-31", "metrics": [taken.pk]},
    )
    assert response.status_code == 302
    assert Campaign.objects.get().name == "Đợt 2"
    assert sign_in(Client(), personas.cuong).get("/campaigns/new/").status_code == 403


def test_a_campaign_not_yet_started_has_nothing_due_on_the_page_and_in_the_api(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    from dancu.accounts.services import api_token_create
    from dancu.campaigns.models import Metric

    ministry = Actor(personas.minh)
    today = timezone.localdate()
    campaign = services.campaign_create(
        actor=ministry,
        name="Đợt sắp tới",
        starts_on=today + timedelta(days=28),
        ends_on=today + timedelta(days=118),
        metrics=[services.MetricChoice(Metric.objects.get(code="cards_taken"))],
    )
    cards = campaign.campaign_metrics.get()
    for unit, total, per_day in ((None, None, 100), (country.hanoi, 9000, None)):
        services.target_set(
            actor=ministry, campaign_metric=cards, unit=unit, total=total, per_day=per_day, reason="Kế hoạch"
        )
    client = sign_in(Client(), personas.minh)
    html = client.get(f"/campaigns/{campaign.pk}/vn/").content.decode()
    assert 'id="not-started"' in html
    assert f"chưa bắt đầu: số liệu đến hết {today:%d/%m/%Y}" in html
    assert 'data-stat="expected">0<' in html
    assert "chậm" not in html
    # The form sent back as the page shows it is a range the page accepts.
    assert f'name="day" id="id_day" value="{today.isoformat()}"' in html
    assert 'name="since" id="id_since" value=""' in html
    resent = client.get(f"/campaigns/{campaign.pk}/vn/?day={today.isoformat()}&since=").content.decode()
    assert 'class="errorlist"' not in resent
    assert 'data-stat="expected">0<' in resent

    # The workbook and the printed report say so too, where they printed a range ending before it began.
    book = load_workbook(io.BytesIO(client.get(f"/campaigns/{campaign.pk}/vn/export.xlsx").content))
    assert [c.value for c in book["Tổng hợp"][3]][:3] == [
        "Đến ngày",
        datetime.combine(today, datetime.min.time()),
        f"chưa bắt đầu: số liệu đến hết {today:%d/%m/%Y}, chưa có chỉ tiêu nào đến hạn",
    ]
    assert client.get(f"/campaigns/{campaign.pk}/vn/export.pdf").content.startswith(b"%PDF-")
    with translation.override("en"):
        assert (
            period_text(figures_compute(campaign=campaign, unit=None, as_of=today))
            == f"not started: figures up to the end of {today:%d/%m/%Y}, nothing is due yet"
        )

    _token, secret = api_token_create(user=personas.minh, name="máy tính bảng")
    body = (
        Client(headers={"Authorization": f"Bearer {secret}"})
        .get(f"/api/v1/campaigns/{campaign.pk}/figures/vn")
        .json()
    )
    figures = body["metrics"][0]
    assert (body["started"], figures["expected"], figures["behind"]) == (False, 0, False)
    assert not any(u["behind"] for u in figures["units"])


def test_a_campaign_name_that_looks_like_a_formula_is_text_in_the_workbook(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    # Names are typed by people; openpyxl makes any text starting with "=" a formula Excel would run.
    country.campaign.name = '=HYPERLINK("http://evil.example/","x")'
    country.campaign.save(update_fields=["name"])
    client = sign_in(Client(), personas.cuong)
    response = client.get(f"/campaigns/{country.campaign.pk}/01/export.xlsx?day=2025-07-03")
    assert response.status_code == 200
    cell = load_workbook(io.BytesIO(response.content))["Tổng hợp"]["A1"]
    assert cell.data_type == "s"
    assert cell.value == "'" + country.campaign.name
