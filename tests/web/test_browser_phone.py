"""Every page of dancu on a phone, in Vietnamese and in English, for the persona who uses it.

A commune officer works through a queue of records on an ordinary phone (390×844): each page must open
without sideways scrolling (a wide table scrolls inside its own frame, never the page), every control
must be in reach and big enough for a thumb, and the page must be in the language chosen, headings and
buttons included. The same pages must still be right on a station's screen (1280×800).

The data is created once for the module and every persona signs in once: a test per page and language
then only opens its page in the persona's browser context. Signing in again for every test would spend
the persona's one-time code of the half-minute (a code is good once), and emptying and refilling the
database for each of about 150 tests would take minutes. So the tests of this module do not use
pytest-django's `transactional_db` (which empties every table after each test): the module's fixture
writes its data committed, starts its own live server, and empties the database and reloads the
reference data itself when the module is done.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.urls import URLResolver, get_resolver, resolve
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
from pytest_django import DjangoDbBlocker
from pytest_django.live_server_helper import LiveServer

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.services import officer_create, police_unit_for_area
from dancu.audit.services import Actor
from dancu.campaigns import services as campaign_services
from dancu.campaigns.models import Campaign, Metric
from dancu.cards import services as card_services
from dancu.cards.models import Application, Card, IntakePoint
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun
from dancu.eid import services as eid_services
from dancu.matching.models import CandidatePair
from dancu.registry import selectors as registry_selectors
from dancu.registry import services as registry
from dancu.registry.models import Citizen, Household, Residence
from dancu.registry.reference import ETHNICITIES
from tests.cards.conftest import capture, load_fee_table, produce, take
from tests.collection.forms_support import Reviewers, dc01, dc02, make_reviewers
from tests.conftest import (
    HOAN_KIEM,
    PASSWORD,
    SYSTEM,
    People,
    Personas,
    commune,
    household_of,
    make_citizen,
    otp_now,
    people_create,
    personas_create,
    reference_data_load,
)
from tests.eid.conftest import CITIZEN_PASSWORD, OTP_SECRET
from tests.matching.factories import candidate_pair, staged_row
from tests.web.conftest import DESKTOP, PHONE, TIMEOUT_MS, sign_in_through_pages

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("db")]

# A folder to save every page's screenshot in (DANCU_SCREENSHOTS=/tmp/shots pytest ...), to look at.
SCREENSHOTS = os.environ.get("DANCU_SCREENSHOTS", "")
# Smallest comfortable size for something a thumb has to hit (Apple asks 44 pt, Android 48 dp; the
# stylesheet gives 2.75rem = 44 px, and 40 px leaves room for rounding).
MIN_TAP_PX = 40
LANGUAGES = ("vi", "en")
# Letters that only Vietnamese writes (the vowels with their tone marks, ă â đ ê ô ơ ư): on an English
# page they may appear in names and addresses, never in the page's own words.
# Names of administrative units are data too: the campaign pages list every province and commune.
UNIT_NAME = re.compile(
    r"\b(?:Phường|Xã|Đặc khu|Thành phố|Tỉnh|Huyện|Quận|Thị xã)(?: (?:-|\d+|[A-ZÀ-ỸĐ]\w*))+"
)
VIETNAMESE = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậđèẻẽẹêềếểễệìỉĩịòỏõọôồốổỗộơờớởỡợùủũụưừứửữựỳỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈẺẼẸÊỀẾỂỄỆÌỈĨỊÒỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙỦŨỤƯỪỨỬỮỰỲỶỸỴ]"
)


# Where and why Tuấn, who stays in the ward, declared a trip home: data, shown as written in any language.
TUAN_TRIP = ("Thôn Phú Hữu, xã Phú Hữu Đông, tỉnh Vĩnh Long, về quê chăm sóc bố mẹ già", "Việc gia đình")


@dataclass
class World:
    """What the pages show: people, a household, forms in review, a pair of duplicates, card work, a
    campaign and an e-ID account, all of Phường Hoàn Kiếm and Hà Nội."""

    personas: Personas
    people: People
    reviewers: Reviewers
    newcomer: User  # an officer who has not set up an authenticator app yet
    locked: User  # an officer whose account is locked after wrong passwords
    household: Household
    draft: CollectionForm
    submitted: CollectionForm
    dc02: CollectionForm
    import_run: ImportRun
    pair: CandidatePair
    waiting: Application
    card: Card
    campaign: Campaign
    # Names, addresses and other data the pages show as they were written, in Vietnamese on every page.
    data_texts: list[str] = field(default_factory=list)


def _collector(username: str, full_name: str, *, unit: PoliceUnit, otp_secret_hex: str | None = None) -> User:
    """One more collector of Phường Hoàn Kiếm, under `unit` (the Hà Nội police)."""
    user, _device = officer_create(
        actor=SYSTEM,
        username=username,
        password=PASSWORD,
        role=User.Role.COLLECTOR,
        police_unit=police_unit_for_area(area=commune(HOAN_KIEM), parent=unit),
        full_name=full_name,
        otp_secret_hex=otp_secret_hex,
    )
    return user


def _world_create() -> World:
    personas = personas_create()
    people = people_create()
    reviewers = make_reviewers(personas)
    lan, cuong, minh = personas.lan, personas.cuong, personas.minh
    hanoi_unit = cuong.police_unit
    assert hanoi_unit is not None
    newcomer = _collector("moi", "Ngô Văn Mới", unit=hanoi_unit)
    locked = _collector("khoa-tk", "Lý Thị Khoá", unit=hanoi_unit, otp_secret_hex=OTP_SECRET)
    # A wife with a long address, the kind that must wrap on a phone.
    lien = make_citizen(
        full_name="Trần Thị Bích Liên",
        sex="F",
        birth_date="1992-11-02",
        address="Số 123 ngõ 45 ngách 67 hẻm 89 phố Hàng Trống, tổ dân phố số 12",
    )
    household = household_of(people.hung, spouse=lien)
    # Liên also stays in the ward for her work, a temporary residence the officer renews or ends.
    registry.residence_register(
        actor=SYSTEM,
        citizen=lien,
        kind="temporary",
        commune=commune(HOAN_KIEM),
        address_detail="Phòng 304, số 8 phố Hàng Bài",
        registered_on=timezone.localdate() - timedelta(days=30),
        expires_on=timezone.localdate() + timedelta(days=300),
        reason="Đăng ký tạm trú",
        source_document="Tờ khai CT01",
    )
    # Tuấn, whose record lies in Phường Sài Gòn, stays in the ward: the officer sees the stay, not the record.
    registry.residence_register(
        actor=SYSTEM,
        citizen=people.tuan,
        kind="temporary",
        commune=commune(HOAN_KIEM),
        address_detail="Số 5 phố Hàng Gai, phòng 12",
        registered_on=timezone.localdate() - timedelta(days=400),
        expires_on=timezone.localdate() - timedelta(days=3),
        reason="Đăng ký tạm trú",
        source_document="Tờ khai CT01",
        today=timezone.localdate() - timedelta(days=10),
    )
    # He declared to the ward a trip home (his stay's page lists it, with its actions, on a phone).
    registry.absence_declare(
        actor=SYSTEM,
        citizen=people.tuan,
        starts_on=timezone.localdate() + timedelta(days=7),
        ends_on=timezone.localdate() + timedelta(days=60),
        destination=TUAN_TRIP[0],
        reason=TUAN_TRIP[1],
    )

    # Hùng is away for work, an absence the officer records his return from.
    registry.absence_declare(
        actor=SYSTEM,
        citizen=people.hung,
        starts_on=timezone.localdate() - timedelta(days=10),
        ends_on=timezone.localdate() + timedelta(days=120),
        destination="Thành phố Đà Nẵng",
        reason="Đi làm việc theo hợp đồng",
    )
    # And a trip declared for after it, which he may still withdraw.
    registry.absence_declare(
        actor=SYSTEM,
        citizen=people.hung,
        starts_on=timezone.localdate() + timedelta(days=150),
        ends_on=timezone.localdate() + timedelta(days=165),
        destination="Thành phố Đà Nẵng",
        reason="Đi làm việc theo hợp đồng",
    )

    draft = dc01(lan)
    submitted = workflow.form_submit(actor=Actor(lan), form=dc01(lan, full_name="Đỗ Minh Quân"))
    change = dc02(lan, people.hung, {"phone": "0987654321"})

    import_run = staged_row(full_name="Nguyen Van Hung").run
    # Started by Cường for his province, so that the run is his to read (the factory's run is the system's).
    ImportRun.objects.filter(pk=import_run.pk).update(
        started_by=cuong, started_label="", unit=cuong.police_unit.admin_unit
    )
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông", phone="0912345678")
    pair = candidate_pair(elsewhere, people.hung, probability=0.973)

    load_fee_table()
    point = card_services.intake_point_create(
        actor=Actor(cuong),
        code="HK-01",
        name="Công an phường Hoàn Kiếm",
        kind=IntakePoint.Kind.STATION,
        commune=commune(HOAN_KIEM),
    )
    device = card_services.intake_device_register(
        actor=Actor(cuong), point=point, serial="TN-0001", has_iris=False
    )
    card = produce(personas, take(lan, people.hung, point, device))
    card_services.application_deliver(
        actor=Actor(lan), application=card.application, received_by="Nguyễn Văn Hùng"
    )
    card.refresh_from_db()
    waiting = card_services.application_take(
        actor=Actor(lan),
        citizen=lien,
        intake=card_services.Intake(kind="first_issue", point=point, shift="1", device=device),
        images=capture(),
    )

    _account, code = eid_services.eid_account_register(
        actor=Actor(lan), citizen=people.hung, identity_checked=True
    )
    eid_services.eid_account_activate(
        pin=people.hung.pin, code=code, password=CITIZEN_PASSWORD, otp_secret_hex=OTP_SECRET
    )

    campaign = campaign_services.campaign_create(
        actor=Actor(minh),
        name="Cao điểm cấp thẻ căn cước tháng 7",
        starts_on=date(2025, 7, 1),
        ends_on=date(2025, 7, 10),
        metrics=[
            campaign_services.MetricChoice(Metric.objects.get(code="cards_taken")),
            campaign_services.MetricChoice(Metric.objects.get(code="forms_collected")),
        ],
    )
    cards_metric = campaign.campaign_metrics.order_by("position").first()
    assert cards_metric is not None
    campaign_services.target_set(
        actor=Actor(cuong),
        campaign_metric=cards_metric,
        unit=commune(HOAN_KIEM),
        total=4,
        per_day=None,
        reason="Giao xã",
    )

    data = {
        *Citizen.objects.values_list("full_name", flat=True),
        *(user.display_name() for user in User.objects.all()),
        *(str(user.police_unit) for user in User.objects.exclude(police_unit=None)),
        "Phường Hoàn Kiếm",
        "Phường Hồng Hà",
        "Thành phố Hà Nội",
        "Hà Nội",
        "Số 1 phố Hàng Trống",
        "Số 5 phố Hàng Gai, phòng 12",
        "12 Lê Lợi",
        "Phường Sài Gòn",
        "Thành phố Hồ Chí Minh",
        "Số 9 phố Hàng Bông",
        "Số 8 phố Hàng Bè",
        "Số 123 ngõ 45 ngách 67 hẻm 89 phố Hàng Trống, tổ dân phố số 12",
        "Số 1 Hàng Trống, Hoàn Kiếm, Hà Nội",
        "Sổ hộ khẩu Hoàn Kiếm 2019",
        "Công an phường Hoàn Kiếm",
        campaign.name,
        "Thu thập dữ liệu thử nghiệm",
        "DC01 thử nghiệm",
        "Giấy khai sinh số 12/1992",
        "Trích lục khai sinh số 45/2024",
        "Sửa sai sót khi nhập liệu",
        "Lập hộ",
        "Nhập hộ",
        "Giao xã",
        "Máy trạm tổ 1",
        "Phòng 304, số 8 phố Hàng Bài",
        "Đăng ký tạm trú",
        "Thành phố Đà Nẵng",
        "Đi làm việc theo hợp đồng",
        *TUAN_TRIP,
        "Tờ khai CT01",
        "Đỗ Minh Khang",
        "Đỗ Minh Quân",
        # The card's issuer, as printed on the card, and what the card app writes in the record's history.
        "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
        "Trả thẻ căn cước cho công dân",
        f"Hồ sơ {card.application.number}",
        # The comparison levels the matcher stored with the pair: shown as the matcher wrote them.
        *(str(comparison["level"]) for comparison in pair.comparisons),
    }
    return World(
        personas=personas,
        people=people,
        reviewers=reviewers,
        newcomer=newcomer,
        locked=locked,
        household=household,
        draft=draft,
        submitted=submitted,
        dc02=change,
        import_run=import_run,
        pair=pair,
        waiting=waiting,
        card=card,
        campaign=campaign,
        # Longest first, so that a name inside a longer text is taken out with the whole of it.
        data_texts=sorted(data, key=len, reverse=True),
    )


@pytest.fixture(scope="module")
def database(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker, tmp_path_factory: Any
) -> Iterator[None]:
    """The settings the module's data is written and read under, and the database open to the tests
    and to the live server's thread for the module's whole run."""
    with (
        override_settings(
            DANCU_ISSUER_KEY_DIR=tmp_path_factory.mktemp("issuer_keys"),
            DANCU_TASKS_INLINE=True,
        ),
        django_db_blocker.unblock(),
    ):
        yield
        # What the module wrote is committed: empty every table and load the reference data again, as
        # pytest-django's `transactional_db` and tests/conftest.py do after a transactional test.
        call_command("flush", interactive=False, verbosity=0)
        reference_data_load()
        # Playwright's sync API runs this code beside its own event loop, so the teardown may hold a
        # connection of its own: closed here, it cannot keep PostgreSQL from dropping the test database.
        connections.close_all()


@pytest.fixture(scope="module")
def world(database: None, browser: Browser) -> World:
    # `browser` first: its Playwright driver lets Django's ORM run beside its event loop.
    return _world_create()


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[LiveServer]:
    live = LiveServer("localhost")
    live._live_server_modified_settings.enable()
    yield live
    live._live_server_modified_settings.disable()
    # The browser's contexts are closed by now (`sessions` is torn down first), but the server's request
    # threads, daemons it never joins, may still be closing their sockets. Stopped under them, the server
    # ends the sharing of the in-memory SQLite connection, and each thread's last `close_all` raises in
    # the thread (a warning on whichever test runs then, five of them in a loaded CI run).
    deadline = time.monotonic() + 30
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
    live.stop()


@pytest.fixture
def db(database: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """pytest-django's `db` replaced for this module: the database stays as the module's fixture wrote it
    (committed, not wrapped in a transaction rolled back after each test), open to the test and to the
    live server's thread. The name also tells pytest-django to create the test database."""
    with django_db_blocker.unblock():
        yield


# --- Who opens the page ---------------------------------------------------------------------------------


def _sign_in_citizen(page: Page, world: World) -> None:
    hung = world.people.hung
    page.goto("/me/login/")
    page.locator("input[name=pin]").fill(hung.pin)
    page.locator("input[name=password]").fill(CITIZEN_PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/me/login/otp/")
    page.locator("input[name=token]").fill(otp_now(User.objects.get(username=hung.pin)))
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/me/")


def _password_step(page: Page, path: str, username: str, password: str, then: str) -> None:
    """Pass the password step only: the session waits at the code (or the code's set-up) page."""
    page.goto(path)
    page.locator("input[name=username], input[name=pin]").first.fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(f"**{then}")


def _enter(page: Page, who: str, world: World) -> None:
    """Bring a fresh context to where `who` starts: signed in, half-way through signing in, or nobody."""
    officers = {
        "lan": world.personas.lan,
        "hang": world.reviewers.hang,
        "cuong": world.personas.cuong,
        "minh": world.personas.minh,
        "an": world.personas.an,
    }
    if who in officers:
        sign_in_through_pages(page, officers[who])
    elif who == "hung":
        _sign_in_citizen(page, world)
    elif who == "pending":
        _password_step(page, "/login/", world.personas.binh.username, PASSWORD, "/login/otp/")
    elif who == "newcomer":
        _password_step(page, "/login/", world.newcomer.username, PASSWORD, "/login/otp/setup/")
    elif who == "citizen-pending":
        _password_step(page, "/me/login/", world.people.hung.pin, CITIZEN_PASSWORD, "/me/login/otp/")
    else:
        assert who == "nobody", who


class Sessions:
    """One browser context per persona and screen size, signed in on first use and kept for the module.

    The station's screen takes the phone's cookies rather than signing in again: the persona's code of
    this half-minute is spent."""

    def __init__(self, browser: Browser, server: LiveServer, world: World) -> None:
        self.browser, self.server, self.world = browser, server, world
        self.pages: dict[tuple[str, str], Page] = {}
        self.contexts: list[BrowserContext] = []

    def page(self, who: str, screen: str) -> Page:
        key = (who, screen)
        if key not in self.pages:
            state = None if screen == "phone" else self.page(who, "phone").context.storage_state()
            options = PHONE if screen == "phone" else DESKTOP
            context = self.browser.new_context(
                base_url=self.server.url, locale="vi-VN", storage_state=state, **options
            )
            context.set_default_timeout(TIMEOUT_MS)
            self.contexts.append(context)
            page = context.new_page()
            if state is None:
                _enter(page, who, self.world)
            self.pages[key] = page
        return self.pages[key]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(scope="module")
def sessions(browser: Browser, server: LiveServer, world: World) -> Iterator[Sessions]:
    sessions = Sessions(browser, server, world)
    yield sessions
    sessions.close()


# --- The pages -------------------------------------------------------------------------------------------


# How a page is reached when it is the answer to a form rather than an address to open.
Reach = Callable[[Page, str, World], Response | None]


def _open_locked_out(page: Page, path: str, world: World) -> Response | None:
    """Wrong passwords until the account locks; once locked, every attempt answers with the same page."""
    answer = None
    for attempt in range(6):
        page.goto(path)
        page.locator("input[name=username]").fill(world.locked.username)
        page.locator("input[name=password]").fill(f"sai-mat-khau-{attempt}")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.locator("form.stack button[type=submit]").click()
        answer = posted.value
        if answer.status == 429:
            break
    page.wait_for_load_state()
    return answer


def _post_form(fill: dict[str, str]) -> Reach:
    """The page a form answers with: its fields filled with `fill` (a bad value, to see the errors beside
    their fields on a phone), then sent."""

    def answer(page: Page, path: str, _world: World) -> Response | None:
        page.goto(path)
        for name, value in fill.items():
            page.locator(f"form.stack [name={name}]").fill(value)
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.locator("form.stack button[type=submit]").first.click()
        page.wait_for_load_state()
        return posted.value

    return answer


def _after_lans_read(page: Page, path: str, world: World) -> Response | None:
    """The page once Lan has read Hùng's record, so that a log kept to Lan's reads has a row to show
    whichever screens the run took before it."""
    registry_selectors.citizen_get(actor=world.personas.lan, pk=world.people.hung.pk, purpose="Kiểm tra")
    return page.goto(path)


@dataclass(frozen=True)
class Screen:
    """A page as `who` sees it. Its address is made from the world (the records exist only once the
    module's fixture has run, after the tests were collected)."""

    name: str
    who: str
    path: Callable[[World], str]
    status: int = 200
    reach: Reach | None = None

    def visit(self, page: Page, world: World) -> Response | None:
        if self.reach is not None:
            return self.reach(page, self.path(world), world)
        return page.goto(self.path(world))


def _today() -> str:
    return timezone.localdate().isoformat()


def _home(world: World) -> int:
    """The id of Hùng's current permanent residence, which the page to end a residence is about."""
    return world.people.hung.residences.get(ended_on__isnull=True, kind="permanent").pk


def _absence_return(world: World) -> str:
    """The page to record Hùng's return from his absence for work."""
    absence = world.people.hung.absences.get(returned_on__isnull=True, starts_on__lte=timezone.localdate())
    return f"/citizens/{world.people.hung.pk}/absences/{absence.pk}/return/"


def _outside_stay(world: World) -> str:
    """The page of Tuấn's stay in the ward, his record being Phường Sài Gòn's."""
    stay = Residence.objects.get(kind="temporary", ended_on__isnull=True, citizen=world.people.tuan)
    return f"/stays/{stay.pk}/"


def _absence_withdrawal(world: World) -> str:
    """The page to withdraw Hùng's declaration of a trip not yet begun."""
    absence = world.people.hung.absences.get(starts_on__gt=timezone.localdate())
    return f"/citizens/{world.people.hung.pk}/absences/{absence.pk}/withdraw/"


def _stay_renewal(world: World) -> str:
    """The page to renew Liên's temporary residence in the ward."""
    stay = Residence.objects.get(kind="temporary", ended_on__isnull=True, address_detail__startswith="Phòng")
    return f"/citizens/{stay.citizen_id}/residences/{stay.pk}/renew/"


SCREENS = [
    # Signing in, officers and citizens.
    Screen("login", "nobody", lambda w: "/login/"),
    Screen("login-otp", "pending", lambda w: "/login/otp/"),
    Screen("login-otp-setup", "newcomer", lambda w: "/login/otp/setup/"),
    Screen("locked-out", "nobody", lambda w: "/login/", status=429, reach=_open_locked_out),
    Screen("portal-login", "nobody", lambda w: "/me/login/"),
    Screen("portal-activate", "nobody", lambda w: "/me/activate/"),
    Screen("portal-lock-lost-phone", "nobody", lambda w: "/me/lock/lost-phone/"),
    Screen("portal-login-otp", "citizen-pending", lambda w: "/me/login/otp/"),
    # The page a citizen sets the authenticator app up on (after activation; here beside the code step).
    Screen("portal-otp-setup", "citizen-pending", lambda w: "/me/login/otp/setup/"),
    # The commune officer's day.
    Screen("home", "lan", lambda w: "/"),
    Screen("search", "lan", lambda w: "/search/?q=nguyen+van+hung"),
    Screen("citizen-new", "lan", lambda w: "/citizens/new/"),
    Screen(
        "citizen-new-refused",
        "lan",
        lambda w: "/citizens/new/",
        reach=_post_form({"full_name": "Nguyễn Thị Thu Hà 2", "birth_date": "31/02/1990"}),
    ),
    Screen("citizen", "lan", lambda w: f"/citizens/{w.people.hung.pk}/"),
    Screen("citizen-history", "lan", lambda w: f"/citizens/{w.people.hung.pk}/history/?on={_today()}"),
    Screen("residence-new", "lan", lambda w: f"/citizens/{w.people.hung.pk}/residences/new/"),
    Screen("residence-end", "lan", lambda w: f"/citizens/{w.people.hung.pk}/residences/{_home(w)}/end/"),
    Screen("residence-renew", "lan", _stay_renewal),
    Screen("absence-new", "lan", lambda w: f"/citizens/{w.people.hung.pk}/absences/new/"),
    Screen(
        "absence-new-refused",
        "lan",
        lambda w: f"/citizens/{w.people.hung.pk}/absences/new/",
        reach=_post_form({"starts_on": "2030-01-01", "ends_on": "2029-01-01", "destination": "Huế"}),
    ),
    Screen("absence-return", "lan", _absence_return),
    Screen("absence-edit", "lan", lambda w: _absence_return(w).replace("/return/", "/edit/")),
    Screen("absence-withdraw", "lan", _absence_withdrawal),
    # A person of another commune moves into the ward: the officer types the card's PIN, name and birth.
    Screen("arrival-new", "lan", lambda w: "/arrivals/new/"),
    # Who stays in the ward, a stay past its end date first; the stay of a person whose record is elsewhere.
    Screen("stays", "lan", lambda w: "/stays/"),
    Screen("stay", "lan", _outside_stay),
    Screen("stay-new", "lan", lambda w: "/stays/new/"),
    Screen("household", "lan", lambda w: f"/households/{w.household.pk}/"),
    Screen("member-new", "lan", lambda w: f"/households/{w.household.pk}/members/new/"),
    # Lập hộ mới, from a record (Hùng heads the world's household already: the refusal comes on saving).
    Screen("household-new", "lan", lambda w: f"/citizens/{w.people.hung.pk}/household/new/"),
    Screen("household-head", "lan", lambda w: f"/households/{w.household.pk}/head/"),
    Screen("household-split", "lan", lambda w: f"/households/{w.household.pk}/split/"),
    # Refused: no member ticked, no head chosen, a date to come; each error beside its part of the form.
    Screen(
        "household-split-refused",
        "lan",
        lambda w: f"/households/{w.household.pk}/split/",
        reach=_post_form({"split_on": "2999-01-01"}),
    ),
    Screen("forms", "lan", lambda w: "/forms/"),
    Screen("dc01-new", "lan", lambda w: "/forms/new/"),
    Screen("dc02-new", "lan", lambda w: f"/forms/new/dc02/{w.people.hung.pk}/"),
    Screen("form", "lan", lambda w: f"/forms/{w.dc02.pk}/"),
    Screen("form-edit", "lan", lambda w: f"/forms/{w.draft.pk}/edit/"),
    Screen("quality", "lan", lambda w: "/quality/"),
    Screen("quality-refused", "lan", lambda w: "/quality/?indicator=khong-co", status=400),
    Screen("cards", "lan", lambda w: "/cards/"),
    Screen("cards-search", "lan", lambda w: "/cards/?q=nguyen+van+hung"),
    Screen("card-intake", "lan", lambda w: f"/cards/new/?pin={w.people.hung.pin}"),
    Screen("card-application", "lan", lambda w: f"/cards/applications/{w.waiting.pk}/"),
    Screen("card", "lan", lambda w: f"/cards/cards/{w.card.pk}/"),
    Screen("card-history", "lan", lambda w: f"/cards/citizens/{w.people.hung.pk}/"),
    Screen("card-verify", "lan", lambda w: "/cards/verify/"),
    Screen("card-report", "lan", lambda w: "/cards/report/"),
    Screen("card-points", "lan", lambda w: "/cards/points/"),
    Screen("eid-register", "lan", lambda w: f"/eid/citizens/{w.people.hung.pk}/register/"),
    Screen("eid-desk", "lan", lambda w: "/eid/register/"),
    Screen("campaigns", "lan", lambda w: "/campaigns/"),
    Screen("campaign-commune", "lan", lambda w: f"/campaigns/{w.campaign.pk}/{HOAN_KIEM}/?day=2025-07-03"),
    Screen("tokens", "lan", lambda w: "/account/tokens/"),
    # A new API token is shown once, a long string with no space to break it at.
    Screen("token-created", "lan", lambda w: "/account/tokens/", reach=_post_form({"name": "Máy trạm tổ 1"})),
    Screen("not-found", "lan", lambda w: "/citizens/99999999/", status=404),
    Screen("forbidden", "lan", lambda w: "/campaigns/new/", status=403),
    # The commune reviewer: forms to check, duplicates to settle.
    Screen("review-queue", "hang", lambda w: "/forms/"),
    Screen("review-form", "hang", lambda w: f"/forms/{w.submitted.pk}/"),
    Screen("duplicates", "hang", lambda w: "/duplicates/"),
    Screen("duplicate-pair", "hang", lambda w: f"/duplicates/{w.pair.pk}/"),
    # The province: imports, card batches, targets.
    Screen("imports", "cuong", lambda w: "/imports/"),
    Screen("import-run", "cuong", lambda w: f"/imports/{w.import_run.pk}/"),
    Screen("card-batches", "cuong", lambda w: "/cards/batches/"),
    Screen("card-batch", "cuong", lambda w: f"/cards/batches/{w.card.application.batch_id}/"),
    Screen("campaign-province", "cuong", lambda w: f"/campaigns/{w.campaign.pk}/01/?day=2025-07-03"),
    Screen("campaign-targets", "cuong", lambda w: f"/campaigns/{w.campaign.pk}/01/targets/"),
    # The ministry and its auditor.
    Screen("campaign-new", "minh", lambda w: "/campaigns/new/"),
    Screen("campaign-country", "minh", lambda w: f"/campaigns/{w.campaign.pk}/vn/?day=2025-07-03"),
    Screen("officers", "minh", lambda w: "/officers/"),
    Screen("officer-new", "minh", lambda w: "/officers/new/"),
    Screen(
        "officer-new-refused",
        "minh",
        lambda w: "/officers/new/",
        reach=_post_form({"username": "cánbộ mới", "police_unit": "CA-province-01", "password1": "123"}),
        status=400,
    ),
    Screen("officer", "minh", lambda w: f"/officers/{w.personas.lan.pk}/"),
    Screen(
        "officer-refused",
        "minh",
        lambda w: f"/officers/{w.personas.lan.pk}/",
        reach=_post_form({"police_unit": "CA-province-01"}),
        status=400,
    ),
    Screen("auditor-home", "an", lambda w: "/"),  # the access log
    Screen("auditor-log-filtered", "an", lambda w: f"/audit/access/?reader=lan&since={_today()}"),
    Screen("auditor-log-refused", "an", lambda w: "/audit/access/?pin=12ab&reader=lan"),
    # One reader exactly, as the readers summary links to them: the line naming the reader, with its way
    # back to every reader, above the rows.
    Screen(
        "auditor-log-one-reader",
        "an",
        lambda w: f"/audit/access/?reader_id={w.personas.lan.pk}",
        reach=_after_lans_read,
    ),
    Screen("auditor-readers", "an", lambda w: f"/audit/access/readers/?since={_today()}"),
    # The citizen's portal.
    Screen("portal-home", "hung", lambda w: "/me/"),
    Screen("portal-record", "hung", lambda w: "/me/record/"),
    # Opened by a link: the button that signs out (POST), not a bare 405.
    Screen("portal-logout", "hung", lambda w: "/me/logout/"),
    Screen("portal-reads", "hung", lambda w: "/me/reads/"),
]


# --- What a page must be -----------------------------------------------------------------------------------

# What a page looks like to a thumb and an eye, measured in the browser: what sticks out sideways (unless
# it sits in a frame made to scroll sideways; a frame that clips would hide it), controls too small or out
# of reach, scripts written into the page, and the visible text outside parts marked as written in
# another language.
_MEASURE = """([minTap, vw]) => {
    const describe = (el) => {
        const id = el.id ? '#' + el.id : '';
        const names = typeof el.className === 'string' ? el.className.trim().split(/\\s+/) : [];
        const cls = names.filter(Boolean).map((name) => '.' + name).join('');
        const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
        return `${el.tagName.toLowerCase()}${id}${cls} "${text}"`;
    };
    const framed = (el) => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            const o = getComputedStyle(a).overflowX;
            if (o === 'auto' || o === 'scroll') return true;
        }
        return false;
    };
    const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const sticksOut = (el) => {
        const r = el.getBoundingClientRect();
        return (r.width > 0 || r.height > 0) && (r.right > vw + 1 || r.left < -1) && !framed(el);
    };
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
        if (!shown(el) || !sticksOut(el)) continue;
        if (el.parentElement && el.parentElement !== document.body && sticksOut(el.parentElement)) continue;
        const r = el.getBoundingClientRect();
        wide.push(`${describe(el)} ${Math.round(r.left)}..${Math.round(r.right)}px`);
    }
    const small = [], outOfReach = [];
    const controls = 'button, input:not([type=hidden]), select, textarea, a.button, summary, '
        + '.page-actions a, .crumbs a, header nav a';
    for (const el of document.querySelectorAll(controls)) {
        if (!shown(el)) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        let target = r;
        if (el.type === 'checkbox' || el.type === 'radio') {
            // A box is ticked through its label: the label is what the thumb hits.
            const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
            if (label) target = label.getBoundingClientRect();
        }
        if (target.height < minTap && target.width < minTap * 2) {
            small.push(`${describe(el)} ${Math.round(target.width)}×${Math.round(target.height)}px`);
        } else if (target.height < minTap) {
            small.push(`${describe(el)} ${Math.round(target.height)}px tall`);
        }
        if ((r.left < -1 || r.right > vw + 1) && !framed(el)) outOfReach.push(describe(el));
    }
    const handlers = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.getAttributeNames()) {
            if (attr.startsWith('on')) handlers.push(`${el.tagName.toLowerCase()}[${attr}]`);
        }
    }
    const texts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        const text = node.textContent.replace(/\\s+/g, ' ').trim();
        if (!text || !parent || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(parent.tagName)) continue;
        if (!shown(parent)) continue;
        const marked = parent.closest('[lang]');
        if (marked && marked !== document.documentElement) continue;
        texts.push(text);
    }
    // The choices of a list are read when it opens: they are the page's words too.
    for (const select of document.querySelectorAll('select')) {
        if (!shown(select) || select.closest('[lang]:not(html)')) continue;
        for (const option of select.options) texts.push(option.text.trim());
    }
    for (const el of document.querySelectorAll('input[placeholder], [aria-label], [title]')) {
        for (const attr of ['placeholder', 'aria-label', 'title']) {
            const value = el.getAttribute(attr);
            if (value && !el.closest('[lang]:not(html)')) texts.push(value.trim());
        }
    }
    return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        lang: document.documentElement.lang,
        wide, small, outOfReach, handlers,
        // A JSON data block (Django's json_script) is data for a static script, not a script.
        inlineScripts: document.querySelectorAll('script:not([src]):not([type="application/json"])').length,
        texts,
    };
}"""


# The 54 ethnic groups are proper names, written the same on English pages. Some are words of place names
# too ("Lào", "Thái"), so they are taken out whole, after the names of units.
ETHNIC_NAME = re.compile(
    "|".join(
        rf"(?<!\w){re.escape(name)}(?!\w)" for name in sorted(ETHNICITIES.values(), key=len, reverse=True)
    )
)


def _untranslated(texts: list[str], data: list[str]) -> list[str]:
    """Texts of an English page that still hold Vietnamese words once the data is taken out."""
    found = []
    for text in texts:
        rest = text
        for value in data:
            rest = rest.replace(value, " ")
        rest = ETHNIC_NAME.sub(" ", UNIT_NAME.sub(" ", rest))
        if VIETNAMESE.search(rest):
            found.append(text)
    return sorted(set(found))


def _check(page: Page, screen: Screen, language: str, world: World, answer: Response | None) -> None:
    assert answer is not None, f"{screen.name}: no response"
    assert answer.status == screen.status, f"{screen.name}: HTTP {answer.status} at {page.url}"
    page.wait_for_load_state("load")
    # A station's screen is used with a mouse: its links and buttons are not measured for a thumb.
    touch = page.evaluate("navigator.maxTouchPoints > 0")
    # Measured against the screen's width, not the window's: a phone browser (and Chromium emulating one,
    # `is_mobile`) zooms out to show a page wider than the screen whole, and its window then reports the
    # page's width, so that a page that scrolled sideways measured as fitting.
    width = page.viewport_size["width"] if page.viewport_size else 0
    found = page.evaluate(_MEASURE, [MIN_TAP_PX if touch else 0, width])
    problems = {
        "lang": found["lang"] if found["lang"] != language else None,
        "sideways": max(found["scrollWidth"], found["innerWidth"]) > width
        and f"scrollWidth {found['scrollWidth']}, window {found['innerWidth']} > screen {width}",
        "wider than the screen": found["wide"],
        "under a thumb's size": found["small"],
        "out of reach": found["outOfReach"],
        "inline script": found["inlineScripts"],
        "inline handlers": found["handlers"],
        "untranslated": _untranslated(found["texts"], world.data_texts) if language == "en" else [],
    }
    problems = {name: value for name, value in problems.items() if value}
    if SCREENSHOTS:
        # For a person's review of the pages: the checks above cannot tell a cramped page from a good one.
        page.screenshot(path=Path(SCREENSHOTS) / f"{screen.name}-{language}-{width}.png", full_page=True)
    assert not problems, f"{screen.name} ({language}, {page.url}): {problems}"


def _visit(sessions: Sessions, screen: Screen, language: str, size: str) -> tuple[Page, Response | None]:
    page = sessions.page(screen.who, size)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": sessions.server.url}])
    return page, screen.visit(page, sessions.world)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("screen", SCREENS, ids=[screen.name for screen in SCREENS])
def test_the_page_fits_a_phone_in_the_chosen_language(
    sessions: Sessions, screen: Screen, language: str
) -> None:
    page, answer = _visit(sessions, screen, language, "phone")
    assert page.viewport_size == {"width": 390, "height": 844}
    _check(page, screen, language, sessions.world, answer)


@pytest.mark.parametrize("screen", SCREENS, ids=[screen.name for screen in SCREENS])
def test_the_page_stays_right_on_a_station_screen(sessions: Sessions, screen: Screen) -> None:
    page, answer = _visit(sessions, screen, "vi", "desktop")
    assert page.viewport_size == {"width": 1280, "height": 800}
    _check(page, screen, "vi", sessions.world, answer)


def test_a_wide_table_scrolls_inside_its_frame_not_the_page(sessions: Sessions) -> None:
    """The checks above would pass a page whose tables were simply cut off: this one proves a table wider
    than the phone is read whole by scrolling its own frame sideways, the page staying put."""
    page = sessions.page("cuong", "phone")
    page.context.add_cookies([{"name": "django_language", "value": "vi", "url": sessions.server.url}])
    page.goto(f"/campaigns/{sessions.world.campaign.pk}/01/?day=2025-07-03")
    frame = page.locator(".scroll").filter(has=page.locator("table.ranking")).first
    expect(frame).to_be_visible()
    assert frame.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert frame.evaluate("el => el.scrollWidth > el.clientWidth")
    status = frame.locator("tbody tr").first.locator("td").last
    frame.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    box = status.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    # A commune's name keeps a readable width rather than one word a line.
    name = frame.locator("tbody tr").first.locator("td").nth(1).bounding_box()
    assert name is not None
    assert name["width"] >= 140
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("window.innerWidth") == 390


def test_the_language_switch_keeps_a_search_made_on_the_page(sessions: Sessions) -> None:
    """The search swaps its results in and pushes its query into the address; the switch (its script a
    static file now, no longer an attribute in the page) comes back to that address, not the first one."""
    page = sessions.page("lan", "phone")
    page.context.add_cookies([{"name": "django_language", "value": "vi", "url": sessions.server.url}])
    page.goto("/search/")
    box = page.get_by_label("Số định danh, CMND hoặc họ tên")
    box.fill("nguyen van hung")
    with page.expect_response(
        lambda r: "/search/" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        box.press("Enter")
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == ["nguyen van hung"])
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert parse_qs(urlsplit(page.url).query).get("q") == ["nguyen van hung"]
    expect(page.locator("#results-table")).to_contain_text(sessions.world.people.hung.pin)


# What the URL configuration answers that is not a page to look at: files, images, the answers to a form
# sent by POST (each redirects to a page above), and HTMX fragments drawn inside a page above.
NOT_PAGES = {
    "accounts:logout": "POST, then the sign-in page",
    "accounts:officer_name": "POST, then the account's page",
    "accounts:officer_change": "POST, then the account's page (refused: the screen officer-refused)",
    "accounts:officer_active": "POST, then the account's page",
    "accounts:officer_password": "POST, then the account's page",
    "accounts:officer_otp_reset": "POST, then the account's page",
    "campaigns:export": "an XLSX or PDF file",
    "campaigns:report": "an XLSX or PDF file",
    "cards:receipt": "a PDF file",
    "cards:face": "an image",
    "cards:application_action": "POST, then the application's page",
    "cards:batch_file": "a file of the batch",
    "cards:card_image": "an image",
    "collection:validate": "an HTMX fragment of the form pages",
    "collection:form_action": "POST, then the form's page",
    "collection:import_progress": "an HTMX fragment of the import's page",
    "collection:import_resume": "POST, then the import's page",
    "collection:import_discard": "POST, then the import's page",
    "collection:import_rejected": "an XLSX file",
    "quality:export_scorecard": "a CSV or XLSX file",
    "quality:export_records": "a CSV or XLSX file",
    "registry:stays_export": "a CSV or XLSX file",
    "audit:access_log_export": "a CSV or XLSX file",
    "matching:decide": "POST, then the pair's page",
    "matching:undo": "POST, then the pair's page",
    "eid:card_image": "an image",
    "eid:lock": "POST, then the portal's sign-in page",
    "web:purpose": "POST, then the page it was sent from",
    "set_language": "POST, then the page it was sent from",
    "healthz": "JSON, text or OpenMetrics for a load balancer or a monitor",
    "readyz": "JSON, text or OpenMetrics for a load balancer or a monitor",
    "status": "JSON, text or OpenMetrics for a load balancer or a monitor",
}


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith(("admin/", "api/")):
                continue  # Django's admin and the JSON API (tests/*/test_api.py) are not pages
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= _url_names(entry, inner)
        elif entry.name:
            names.add(f"{namespace}{entry.name}")
    return names


def test_every_page_of_the_url_configuration_is_a_screen(sessions: Sessions) -> None:
    """A page added later without a screen here fails this test: the inventory cannot silently fall
    behind the URL configuration."""
    world = sessions.world
    covered = {resolve(urlsplit(screen.path(world)).path).view_name for screen in SCREENS}
    assert covered.isdisjoint(NOT_PAGES)
    assert _url_names(get_resolver()) - covered - set(NOT_PAGES) == set()
    assert set(NOT_PAGES) <= _url_names(get_resolver())
