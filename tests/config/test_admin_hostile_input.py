"""Hostile query strings and posts in the admin get an answer, never a 500.

Minh, the ministry's administrator (staff and superuser, signed in with his code), walks every model the
site has registered, dancu's and the packages' (django-axes, django-q, django-otp): each list with lookups
built from the model's own fields and list filters (ids of twenty digits, the year 1 and the year 0,
patterns that do not compile, NUL), each action with check boxes that hold no id, each page named by an
id in its URL, and each add and change form with one field at a time replaced by something hostile.

Each request runs in a savepoint, so that one failure on PostgreSQL does not hide the others behind an
aborted transaction; the failures are listed together at the end.
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import Model
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_q.models import OrmQ, Task

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.eid.models import EidAccount
from tests.conftest import People, Personas

pytestmark = [
    pytest.mark.django_db,
    # A date typed into a lookup of a time has no time zone, and Django says so as it reads it in Hà Nội's.
    pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime:RuntimeWarning"),
]

HUGE = "99999999999999999999"
# For the list filters' own parameters and for form fields, whatever their type.
HOSTILE = (HUGE, "²", "0001-01-01", "\x00")


@pytest.fixture
def minh(personas: Personas, sign_in: Any) -> Client:
    personas.minh.is_staff = personas.minh.is_superuser = True
    personas.minh.save(update_fields=["is_staff", "is_superuser"])
    return sign_in(Client(), personas.minh)


@pytest.fixture
def rows(personas: Personas) -> None:
    """A row in each table the packages put in the admin, so their change pages and actions are reached."""
    now = timezone.now()
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        extra = {"failures_since_start": 1} if model is AccessAttempt else {}
        model.objects.create(
            user_agent="test", ip_address="192.0.2.1", username="lan", path_info="/login/", **extra
        )
    for success in (True, False):
        Task.objects.create(
            id=f"task-{success}",
            name=f"task {success}",
            func="math.floor",
            started=now,
            stopped=now,
            success=success,
        )
    OrmQ.objects.create(key="dancu", payload="-", lock=now)
    Group.objects.create(name="Quản trị")
    api_token_create(user=personas.minh, name="CI")


def _lookups(model: type[Model], model_admin: admin.ModelAdmin[Any]) -> list[dict[str, str]]:
    """Query strings for the model's list: a few per field, chosen by the field's type."""
    lookups = [{"pk__in": HUGE}, {"pk": HUGE}, {"p": HUGE}, {"o": HUGE}, {"q": "\x00"}]
    for field in model._meta.concrete_fields:
        name = field.name
        if isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
            lookups += [{f"{name}__in": HUGE}, {f"{name}__lt": "-" + HUGE}, {f"{name}__range": HUGE}]
        if isinstance(field, models.DateField):  # DateTimeField too
            lookups += [
                {f"{name}__gte": "0001-01-01"},
                {f"{name}__year": "0"},
                {f"{name}__year": HUGE},
                {f"{name}__range": "0001-01-01"},
            ]
        if isinstance(field, models.DateTimeField):
            lookups += [{f"{name}__hour__in": HUGE}, {f"{name}__date": "0001-01-01"}]
        if isinstance(field, models.CharField | models.TextField):
            lookups += [{f"{name}__regex": "("}, {f"{name}__iregex": "["}, {f"{name}__exact": "\x00"}]
    if hierarchy := model_admin.date_hierarchy:
        lookups += [
            {f"{hierarchy}__year": "9999"},
            {f"{hierarchy}__year": "9999", f"{hierarchy}__month": "12"},
            {f"{hierarchy}__year": "1", f"{hierarchy}__month": "1", f"{hierarchy}__day": "1"},
            {f"{hierarchy}__year": HUGE},
        ]
    return lookups


class _FormReader(HTMLParser):
    """The fields a browser would post from the page's form, with the values the page shows."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") not in ("submit", "button", "file"):
            if attributes.get("type") not in ("checkbox", "radio") or "checked" in attributes:
                self.data.setdefault(name, []).append(attributes.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attributes:
            self.data[self._select].append(attributes.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] = [self.data[self._textarea][0] + data.removeprefix("\n")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _form_data(content: bytes) -> dict[str, list[str]]:
    reader = _FormReader()
    reader.feed(content.decode())
    ignored = ("csrfmiddlewaretoken", "q", "language", "next")
    return {name: values for name, values in reader.data.items() if name not in ignored}


class _Sweep:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.failures: list[str] = []

    def request(self, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
        try:
            with transaction.atomic():
                response = getattr(self.client, method)(url, data or {})
        except Exception as exc:  # every failure is listed, whatever it is
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            self.failures.append(
                f"{method.upper()} {url} {data!r}: {exc!r} at {frame.filename}:{frame.lineno}"
            )
            return None
        if response.status_code >= 500:
            self.failures.append(f"{method.upper()} {url} {data!r}: {response.status_code}")
        return response


def _one_argument_urls(model_admin: admin.ModelAdmin[Any], value: str) -> list[str]:
    """The admin's pages named by one value in their URL (change, delete, history and the packages' own)."""
    urls = []
    for pattern in model_admin.urls:
        if isinstance(pattern, URLPattern) and pattern.name and len(pattern.pattern.converters) == 1:
            try:
                urls.append(reverse(f"admin:{pattern.name}", args=(value,)))
            except NoReverseMatch:  # an <int:...> takes digits only
                continue
    return urls


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label)
@pytest.mark.usefixtures("rows")
def test_no_hostile_request_is_a_server_error(model: type[Model], minh: Client) -> None:
    model_admin = admin.site._registry[model]
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = reverse(f"{info}_changelist")
    sweep = _Sweep(minh)

    page = sweep.request("get", changelist)
    assert page is not None
    assert page.status_code == 200
    lookups = _lookups(model, model_admin)
    for spec in page.context["cl"].filter_specs:
        for parameter in spec.expected_parameters():
            lookups += [{parameter: value} for value in HOSTILE]
            lookups.append({parameter: HUGE, "_facets": "1"})
    for lookup in lookups:
        sweep.request("get", changelist, lookup)

    for action in model_admin.get_actions(page.wsgi_request):
        for selected in ("abc", "²", "", "1.5", HUGE, "\x00"):
            for confirmed in ({}, {"post": "yes"}):
                data = {"action": action, "index": "0", "_selected_action": selected, **confirmed}
                sweep.request("post", changelist, data)

    for value in (*HOSTILE, "-1"):
        for url in _one_argument_urls(model_admin, value):
            sweep.request("get", url)

    add = reverse(f"{info}_add")
    if (add_page := sweep.request("get", add)) is not None and add_page.status_code == 200:
        for field in model._meta.concrete_fields:  # an add page takes first values from the query string
            for value in HOSTILE:
                sweep.request("get", add, {field.name: value})

    forms = [add]
    if (instance := model._default_manager.order_by("pk").last()) is not None:
        forms.append(reverse(f"{info}_change", args=(instance.pk,)))
    for url in forms:
        form_page = sweep.request("get", url)
        if form_page is None or form_page.status_code != 200:
            continue  # no add page (403), or it failed and is listed
        if not (form_page.context["add"] or form_page.context["has_change_permission"]):
            continue  # a page to view only
        data = _form_data(form_page.content)
        saved = sweep.request("post", url, data)
        # The page's own values save (an add page's are blank), so a hostile one reaches the database.
        assert form_page.context["add"] or saved.status_code == 302, url
        for name in data:
            for value in HOSTILE:
                sweep.request("post", url, {**data, name: [value]})
        # A hostile value that was saved would fail the pages that read it again.
        sweep.request("get", url)
    sweep.request("get", changelist)

    assert sweep.failures == []


def test_no_id_in_a_view_on_site_link_is_a_server_error(minh: Client) -> None:
    sweep = _Sweep(minh)
    for content_type in ContentType.objects.all():
        for value in (*HOSTILE, "-1"):
            response = sweep.request("get", f"/admin/r/{content_type.pk}/{quote(value)}/")
            assert response is None or response.status_code == 404
    assert sweep.failures == []


# The cases that were known, each with the answer it gets.


def _sent_back_as_incorrect(response: Any) -> bool:
    """Django's answer to lookups it cannot run: the list again, unfiltered, with `?e=1`."""
    return response.status_code == 302 and response["Location"].endswith("?e=1")


@pytest.mark.usefixtures("rows")
def test_lookups_that_cannot_run_send_the_list_back_as_incorrect(minh: Client) -> None:
    for url in (
        "/admin/auth/group/?id__range=1,5",
        "/admin/axes/accessattempt/?attempt_time__year=9999&attempt_time__month=12",
        "/admin/django_q/success/?started__year=0",
        "/admin/otp_totp/totpdevice/?name__regex=(",
    ):
        assert _sent_back_as_incorrect(minh.get(url)), url


@pytest.mark.usefixtures("rows")
def test_huge_ids_and_the_year_1_are_looked_up_where_the_database_can(minh: Client) -> None:
    # PostgreSQL compares an id of twenty digits as a number, and keeps times of the year 1 (and before):
    # it finds no group of that id and every attempt since then. SQLite can do neither.
    for url, finds_all in (
        (f"/admin/auth/group/?pk__in={HUGE}", False),
        (f"/admin/auth/group/?id__in=1,{HUGE}", False),
        ("/admin/axes/accessattempt/?attempt_time__gte=0001-01-01", True),
        ("/admin/django_q/schedule/?next_run__gte=0001-01-01", True),
        ("/admin/otp_totp/totpdevice/?created_at__gte=0001-01-01", True),
    ):
        response = minh.get(url)
        if connection.vendor == "sqlite":
            assert _sent_back_as_incorrect(response), url
        else:
            assert response.status_code == 200, url
            listed = response.context["cl"]
            assert listed.result_count == (listed.full_result_count if finds_all else 0), url


@pytest.mark.usefixtures("rows")
def test_lookups_that_can_run_still_do(minh: Client) -> None:
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    for url in (
        f"/admin/axes/accessattempt/?attempt_time__gte={day}",
        "/admin/axes/accessattempt/?username__regex=^la",
        f"/admin/auth/group/?pk__in={Group.objects.get().pk},2",
    ):
        response = minh.get(url)
        assert response.status_code == 200, url
        assert response.context["cl"].result_count == 1, url


@pytest.mark.usefixtures("rows")
def test_an_action_on_check_boxes_that_hold_no_id_is_a_bad_request(minh: Client) -> None:
    for selected in ("abc", "²", HUGE):
        data = {"action": "delete_selected", "index": "0", "_selected_action": selected}
        assert minh.post("/admin/auth/group/", data).status_code == 400
    assert Group.objects.count() == 1


@pytest.mark.usefixtures("rows")
def test_a_huge_id_in_a_many_to_many_field_is_the_fields_error(minh: Client) -> None:
    response = minh.post("/admin/auth/group/add/", {"name": "Kiểm tra", "permissions": [HUGE]})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["permissions"] == [
        f"“{HUGE}” không phải là giá trị hợp lệ."
    ]
    assert not Group.objects.filter(name="Kiểm tra").exists()


def test_a_time_in_the_year_1_is_the_fields_error(minh: Client, personas: Personas) -> None:
    url = f"/admin/accounts/user/{personas.lan.pk}/change/"
    data = _form_data(minh.get(url).content)
    response = minh.post(url, {**data, "date_joined_0": "0001-01-01", "date_joined_1": "00:00:00"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["date_joined"] == ["Nhập một ngày/thời gian hợp lệ."]
    # Late on the last day of 9999 in Hà Nội is still 9999 in UTC: the database keeps it.
    response = minh.post(url, {**data, "date_joined_0": "9999-12-31", "date_joined_1": "23:00:00"})
    assert response.status_code == 302
    personas.lan.refresh_from_db()
    assert personas.lan.date_joined.year == 9999


def test_an_add_page_takes_a_time_from_the_query_string(minh: Client) -> None:
    response = minh.get("/admin/django_q/schedule/add/", {"next_run": "2025-07-01 08:30"})
    assert response.status_code == 200
    assert 'name="next_run_0" value="2025-07-01"' in response.content.decode()
    assert 'name="next_run_1" value="08:30:00"' in response.content.decode()
    response = minh.get("/admin/django_q/schedule/add/", {"next_run": "hôm qua"})
    assert response.status_code == 200  # left out: the page starts with its own value


@pytest.mark.usefixtures("rows")
def test_the_axes_clean_up_action_runs(minh: Client) -> None:
    attempt = AccessAttempt.objects.get()
    data = {"action": "cleanup_expired_attempts", "index": "0", "_selected_action": str(attempt.pk)}
    response = minh.post("/admin/axes/accessattempt/", data, follow=True)
    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == [
        "Cleaned up 0 expired access attempts."
    ]
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()  # not yet expired


def test_the_totp_pages_of_no_device_are_not_found_and_no_secret_is_shown(minh: Client) -> None:
    existing = max(TOTPDevice.objects.values_list("pk", flat=True))
    missing = existing + 1
    assert minh.get(f"/admin/otp_totp/totpdevice/{missing}/config/").status_code == 404
    assert minh.get(f"/admin/otp_totp/totpdevice/{missing}/qrcode/").status_code == 404
    # An officer's secret is their second factor: not even a superuser reads it, nor its QR code.
    assert minh.get(f"/admin/otp_totp/totpdevice/{existing}/config/").status_code == 403
    assert minh.get(f"/admin/otp_totp/totpdevice/{existing}/qrcode/").status_code == 403
    device = TOTPDevice.objects.get(pk=existing)
    page = minh.get(f"/admin/otp_totp/totpdevice/{existing}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode()


def test_tokens_and_e_id_accounts_are_not_added_in_the_admin(minh: Client) -> None:
    for url in ("/admin/accounts/apitoken/add/", "/admin/eid/eidaccount/add/"):
        assert minh.get(url).status_code == 403
        assert minh.post(url, {}).status_code == 403


def test_e_id_accounts_are_only_shown_in_the_admin(minh: Client, personas: Personas, people: People) -> None:
    # Registering, locking and unlocking are the eid services' with their audit events; the admin shows.
    # The row as the services leave it at registration (they need a delivered card, beside the point here).
    holder = User.objects.create_user(username=people.hung.pin, role=User.Role.CITIZEN)
    account = EidAccount.objects.create(
        user=holder, citizen=people.hung, created_by=personas.lan, activation_digest="0" * 64
    )
    change = f"/admin/eid/eidaccount/{account.pk}/change/"
    page = minh.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert minh.post(change, {"status": "locked"}).status_code == 403
    assert minh.post(f"/admin/eid/eidaccount/{account.pk}/delete/", {"post": "yes"}).status_code == 403
    assert EidAccount.objects.filter(pk=account.pk).exists()
