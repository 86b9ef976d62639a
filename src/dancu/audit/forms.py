"""The auditor's filter of the access log."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from dancu.audit.models import AccessLog

_ANY = [("", _("Tất cả"))]
# A day the form cannot read, named with its rule as the log's other rules are.
_DATE_FORMAT = _("Không đọc được ngày; nhập theo dạng YYYY-MM-DD hoặc dd/mm/yyyy [date.format]")


class AccessLogForm(forms.Form):
    reader = forms.CharField(
        label=_("Người đọc (tài khoản hoặc tác vụ)"),
        required=False,
        # The selector names the rule (at most 150 characters); the form only stops absurd input.
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": _("vd. can.bo.hoan.kiem")}),
    )
    # One reader exactly, set by the summary's link to a row's reads (selectors.AccessLogQuery): hidden, as
    # no one types an account's id, and kept when the auditor filters the reader's rows further.
    reader_id = forms.IntegerField(
        label=_("Mã tài khoản người đọc"), required=False, widget=forms.HiddenInput
    )
    job = forms.CharField(
        label=_("Tác vụ hệ thống"), required=False, max_length=1000, widget=forms.HiddenInput
    )
    pin = forms.CharField(label=_("Số định danh của công dân"), required=False, max_length=100)
    since = forms.DateField(
        label=_("Từ ngày"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _DATE_FORMAT},
    )
    until = forms.DateField(
        label=_("Đến ngày"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _DATE_FORMAT},
    )
    action = forms.ChoiceField(label=_("Việc"), required=False, choices=_ANY + list(AccessLog.Action.choices))
    channel = forms.ChoiceField(
        label=_("Kênh"), required=False, choices=_ANY + list(AccessLog.Channel.choices)
    )
    without_audit = forms.BooleanField(label=_("Ẩn các lần kiểm toán viên đọc nhật ký"), required=False)
    at_night = forms.BooleanField(
        label=_("Chỉ các lần đọc ban đêm (22:00–06:00, giờ Việt Nam)"), required=False
    )
    # selectors.outside_reader_area says what "outside" means and what the row cannot tell.
    outside_area = forms.BooleanField(
        label=_("Chỉ các lần đọc công dân ngoài địa bàn của đơn vị người đọc"), required=False
    )
