"""Review s26: the ministry's administrator creating a campaign, mistakes included (a form sent twice, a
name already taken, a hostile string)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.models import Campaign, Metric, Target, TargetRevision
from tests.campaigns.conftest import Country
from tests.conftest import Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _form(name: str) -> dict[str, object]:
    return {
        "name": name,
        "starts_on": "2026-12-01",
        "ends_on": "2027-03-31",
        "metrics": [Metric.objects.get(code="cards_taken").pk],
    }


def test_a_campaign_form_sent_twice_makes_one_campaign(personas: Personas, sign_in: SignIn) -> None:
    """A double tap on "Tạo chiến dịch" on a slow network: the second request is told, beside the name,
    that the campaign exists, and the leaders find one campaign, not two they cannot tell apart."""
    client = sign_in(Client(), personas.minh)

    first = client.post("/campaigns/new/", _form("Cao điểm cấp căn cước quý I"))
    second = client.post("/campaigns/new/", _form("Cao điểm cấp căn cước quý I"))

    assert first.status_code == 302
    assert second.status_code == 400
    errors = second.context["form"].errors["name"]
    assert errors == [
        "Đã có chiến dịch mang tên này: hãy mở chiến dịch đó, hoặc đặt tên khác [campaign.name_taken]"
    ]
    # The page says at its head that nothing was saved, as the other forms do.
    assert "Chưa lưu: sửa các trường đánh dấu đỏ bên dưới." in second.content.decode()
    assert Campaign.objects.filter(name="Cao điểm cấp căn cước quý I").count() == 1
    assert AuditEvent.objects.filter(event_type=EventType.CAMPAIGN_CREATED).count() == 1


def test_a_name_differing_only_in_case_or_spaces_around_is_the_same_campaign(personas: Personas) -> None:
    taken = Metric.objects.get(code="cards_taken")

    def create(name: str) -> Campaign:
        return services.campaign_create(
            actor=Actor(personas.minh),
            name=name,
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
            metrics=[services.MetricChoice(taken)],
        )

    create("Cấp thẻ tháng 12")
    with pytest.raises(services.DomainError) as refused:
        create("  CẤP THẺ tháng 12 ")

    assert [(error.field, error.code) for error in refused.value.errors] == [("name", "campaign.name_taken")]
    assert Campaign.objects.count() == 1


def test_the_database_holds_one_campaign_per_name_when_two_requests_pass_the_check_together(
    personas: Personas,
) -> None:
    """Two requests that both passed the service's check at once: the second insert is refused by the
    database, not written."""
    Campaign.objects.create(
        name="Đợt chạy đua", starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 2), created_by=personas.minh
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(
            name="Đợt chạy đua",
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 2),
            created_by=personas.minh,
        )


def test_a_hostile_campaign_name_is_refused_naming_the_field_as_the_page_shows_it(
    personas: Personas, sign_in: SignIn
) -> None:
    """The refusal named the form's code ("Trường «name»"); the leader sees "Tên chiến dịch"."""
    client = sign_in(Client(), personas.minh)

    response = client.post("/campaigns/new/", _form("Tháng cao điểm\u200b<img src=x>"))

    assert response.status_code == 400
    errors = response.context["form"].errors["name"]
    assert any("«Tên chiến dịch»" in error for error in errors), errors
    assert not any("«name»" in error for error in errors), errors
    assert not Campaign.objects.exists()


def test_a_target_form_sent_twice_keeps_one_revision(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    """The province's supervisor taps "Lưu chỉ tiêu" twice (or goes back and saves again): the history of
    targets showed the same revision twice, the second "3 → 3", and the trail two events for one act."""
    client = sign_in(Client(), personas.cuong)
    url = f"/campaigns/{country.campaign.pk}/01/targets/"
    form = {
        "metric": country.cards.pk,
        "unit": country.duong_lieu.code,
        "total": "30",
        "per_day": "",
        "reason": "Xã mới sáp nhập",
    }
    revisions = TargetRevision.objects.count()
    events = AuditEvent.objects.filter(event_type=EventType.TARGET_SET).count()

    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 302

    assert TargetRevision.objects.count() == revisions + 1
    assert AuditEvent.objects.filter(event_type=EventType.TARGET_SET).count() == events + 1
    assert Target.objects.get(campaign_metric=country.cards, unit=country.duong_lieu).total == 30
