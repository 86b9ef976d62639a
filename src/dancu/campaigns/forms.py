"""Page forms of the campaigns app: the day (or range) a dashboard shows, a target, a new campaign."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dancu.campaigns.models import Metric
from dancu.campaigns.selectors import figures_range_errors
from dancu.campaigns.services import MAX_TARGET
from dancu.lib.full_date import FullDateFormField
from dancu.lib.numbers import NumberError, parse_int
from dancu.web.converters import id_param


class DayForm(forms.Form):
    day = FullDateFormField(label=_("Số liệu đến ngày"), required=False)
    since = FullDateFormField(label=_("Từ ngày"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The same rules as the API's (selectors.figures_range_errors), in the page's language.
        for problem in figures_range_errors(as_of=cleaned.get("day"), since=cleaned.get("since")):
            self.add_error(problem.field, problem.message(get_language() or "vi"))
        return cleaned


class GroupedIntegerField(forms.IntegerField):
    """A whole number typed as the page writes one: 1.000 or 1 000 on a Vietnamese page (1,000 on an
    English one), or 1000.

    Django's IntegerField read "1.000" as 1 (it drops a trailing ".0…") and "٥" as 5, and a number input
    let the browser send either; the field is a text box with a numeric keyboard, and `parse_int` reads
    it or names the rule it breaks.
    """

    widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        language = get_language() or "vi"
        try:
            return parse_int(str(value), language)
        except NumberError as exc:
            raise ValidationError(exc.message(language), code=exc.code) from None


class TargetForm(forms.Form):
    metric = forms.ChoiceField(label=_("Chỉ số"))
    unit = forms.ChoiceField(label=_("Đơn vị"))
    total = GroupedIntegerField(label=_("Chỉ tiêu cả đợt"), required=False, min_value=0, max_value=MAX_TARGET)
    per_day = GroupedIntegerField(
        label=_("Chỉ tiêu mỗi ngày"), required=False, min_value=0, max_value=MAX_TARGET
    )
    reason = forms.CharField(
        label=_("Lý do giao, điều chỉnh"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self, *args: Any, metrics: list[tuple[str, str]], units: list[tuple[str, str]], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        metric_field, unit_field = self.fields["metric"], self.fields["unit"]
        assert isinstance(metric_field, forms.ChoiceField)
        assert isinstance(unit_field, forms.ChoiceField)
        metric_field.choices = metrics
        unit_field.choices = units


class _MetricChoices(forms.ModelMultipleChoiceField):
    def clean(self, value: Any) -> Any:
        # A value that is no id (a number past the database's integers) is a choice we do not offer,
        # answered as one before the query that would fail on it.
        for pk in value or ():
            if id_param(str(pk)) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super().clean(value)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Tên chiến dịch"), max_length=200)
    starts_on = FullDateFormField(label=_("Từ ngày"))
    ends_on = FullDateFormField(label=_("Đến ngày"))
    metrics = _MetricChoices(
        label=_("Chỉ số theo dõi"),
        queryset=Metric.objects.filter(kind=Metric.Kind.EVENTS),
        widget=forms.CheckboxSelectMultiple,
    )
    denominator = forms.ModelChoiceField(
        label=_("Mẫu số (đơn vị chưa được giao chỉ tiêu)"),
        queryset=Metric.objects.filter(kind=Metric.Kind.POPULATION),
        required=False,
    )
