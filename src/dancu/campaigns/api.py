"""API endpoints of the campaigns app, mounted under /api/v1/ by dancu.config.api: thin handlers over the
same selectors and services as the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router
from ninja.responses import Status

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.campaigns import selectors, services
from dancu.campaigns.figures import figures_as_dict
from dancu.campaigns.models import Campaign, Metric
from dancu.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    FiguresOut,
    FiguresParams,
    MetricIn,
    MetricOut,
    TargetIn,
    TargetRevisionOut,
)
from dancu.lib.errors import DomainError, FieldError

router = Router(tags=["campaigns"])


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _campaign_out(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "metrics": [cm.metric.code for cm in campaign.campaign_metrics.select_related("metric")],
    }


def _known_code(code: str) -> bool:
    # Only a well-formed code can name a metric; anything else is not looked up (a NUL would make
    # PostgreSQL refuse the look-up itself).
    return bool(services.CODE.fullmatch(code))


def _metric(code: str, field: str) -> Metric:
    metric = Metric.objects.filter(code=code).first() if _known_code(code) else None
    if metric is None:
        raise DomainError(
            FieldError(
                field=field,
                code="metric.unknown",
                message_vi="Không có chỉ số này",
                message_en="No such metric",
            )
        )
    return metric


@router.get("/campaigns", response=list[CampaignOut], summary="The campaigns")
def list_campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    return [_campaign_out(c) for c in selectors.campaign_list(actor=_actor(request))]


@router.post("/campaigns", response={201: CampaignOut}, summary="Create a campaign (ministry)")
def create_campaign(request: HttpRequest, body: CampaignIn) -> Status[dict[str, Any]]:
    choices = [
        services.MetricChoice(
            _metric(item.metric, f"metrics.{i}.metric"),
            _metric(item.denominator, f"metrics.{i}.denominator") if item.denominator else None,
        )
        for i, item in enumerate(body.metrics)
    ]
    campaign = services.campaign_create(
        actor=Actor(_actor(request)),
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        metrics=choices,
    )
    return Status(201, _campaign_out(campaign))


@router.get("/campaigns/metrics", response=list[MetricOut], summary="The metrics campaigns can follow")
def list_metrics(request: HttpRequest) -> list[Metric]:
    return list(selectors.metric_list())


@router.post(
    "/campaigns/metrics", response={201: MetricOut}, summary="Define a metric over audit events (ministry)"
)
def create_metric(request: HttpRequest, body: MetricIn) -> Status[Metric]:
    metric = services.metric_create(
        actor=Actor(_actor(request)),
        code=body.code,
        name=body.name,
        name_en=body.name_en,
        event_types=body.event_types,
        data_filter=body.data_filter,
        population_rule=body.population_rule,
    )
    return Status(201, metric)


@router.get(
    "/campaigns/{campaign_id}/figures/{scope}",
    response=FiguresOut,
    summary="A unit's figures: each metric against target, by day, and its sub-units ranked",
)
def get_figures(
    request: HttpRequest, campaign_id: int, scope: str, params: Query[FiguresParams]
) -> dict[str, Any]:
    user = _actor(request)
    campaign = selectors.campaign_get(actor=user, pk=campaign_id)
    figures = selectors.figures_get(
        actor=user,
        campaign=campaign,
        scope=scope,
        as_of=params.day or timezone.localdate(),
        since=params.since,
    )
    return figures_as_dict(figures, params.language)


@router.post(
    "/campaigns/{campaign_id}/targets", response={201: TargetRevisionOut}, summary="Set or revise a target"
)
def set_target(request: HttpRequest, campaign_id: int, body: TargetIn) -> Status[dict[str, Any]]:
    user = _actor(request)
    campaign = selectors.campaign_get(actor=user, pk=campaign_id)
    campaign_metric = (
        campaign.campaign_metrics.select_related("metric").filter(metric__code=body.metric).first()
        if _known_code(body.metric)
        else None
    )
    if campaign_metric is None:
        raise DomainError(
            FieldError(
                field="metric",
                code="target.metric_not_in_campaign",
                message_vi="Chiến dịch không theo dõi chỉ số này",
                message_en="The campaign does not follow this metric",
            )
        )
    unit = selectors.unit_get(actor=user, scope=body.unit.strip())
    target = services.target_set(
        actor=Actor(user),
        campaign_metric=campaign_metric,
        unit=unit,
        total=body.total,
        per_day=body.per_day,
        reason=body.reason,
    )
    return Status(
        201,
        _revision_out(
            target.revisions.select_related("revised_by", "target__unit").latest("pk"), body.metric
        ),
    )


def _revision_out(revision: Any, metric: str) -> dict[str, Any]:
    unit = revision.target.unit
    return {
        "metric": metric,
        "unit": unit.code if unit else selectors.COUNTRY,
        "old_total": revision.old_total,
        "old_per_day": revision.old_per_day,
        "new_total": revision.new_total,
        "new_per_day": revision.new_per_day,
        "revised_by": revision.revised_by.username,
        "revised_at": revision.revised_at,
        "reason": revision.reason,
    }


@router.get(
    "/campaigns/{campaign_id}/targets/{scope}",
    response=list[TargetRevisionOut],
    summary="Every setting of the targets of a unit and the units directly below it, newest first",
)
def target_history(request: HttpRequest, campaign_id: int, scope: str) -> list[dict[str, Any]]:
    user = _actor(request)
    campaign = selectors.campaign_get(actor=user, pk=campaign_id)
    return [
        _revision_out(r, r.target.campaign_metric.metric.code)
        for r in selectors.target_history(actor=user, campaign=campaign, scope=scope)
    ]
