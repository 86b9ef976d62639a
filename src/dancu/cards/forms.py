"""The intake form and the small forms of the card pages; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from dancu.cards.models import (
    SHIFTS,
    Application,
    ApplicationKind,
    Biometric,
    FeeCategory,
    IntakePoint,
    shift_label,
)
from dancu.cards.selectors import QUEUE_ALL, QUEUE_QUERY_LENGTH

# Named when the page is drawn, in its reader's language: formatted here, at import, the lazy text was
# fixed in the language of the process's start, and an English page offered "Ca 1".
SHIFT_CHOICES = [(key, lazy(shift_label, str)(key)) for key in SHIFTS]
IMAGE_KINDS = list(Biometric.Kind.values)


class QueueSearchForm(forms.Form):
    """The card queue's search box and status filter; what a search matches is the selector's rule."""

    q = forms.CharField(
        label=_("Số định danh, số CMND, số hồ sơ hoặc họ tên"),
        required=False,
        max_length=QUEUE_QUERY_LENGTH,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("vd. 001 090 123 456, HS0000000123 hoặc nguyen van hung"),
            }
        ),
    )
    status = forms.ChoiceField(
        label=_("Trạng thái"),
        required=False,
        choices=[("", _("Đang xử lý")), (QUEUE_ALL, _("Mọi trạng thái")), *Application.Status.choices],
    )


class IntakeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Thủ tục"), choices=ApplicationKind.choices)
    point = forms.TypedChoiceField(label=_("Điểm thu nhận"), coerce=int, choices=())
    shift = forms.ChoiceField(label=_("Ca làm việc"), choices=SHIFT_CHOICES)
    device = forms.TypedChoiceField(
        label=_("Bộ thiết bị thu nhận"), coerce=int, required=False, empty_value=None, choices=()
    )
    fee_category = forms.ChoiceField(label=_("Diện miễn lệ phí"), choices=FeeCategory.choices, required=False)
    representative = forms.CharField(
        label=_("Người đại diện hợp pháp (dưới 14 tuổi)"), required=False, max_length=100
    )
    reason = forms.CharField(label=_("Lý do / thông tin thay đổi"), required=False, max_length=300)
    delivery = forms.ChoiceField(label=_("Hình thức nhận thẻ"), choices=Application.Delivery.choices)
    postal_address = forms.CharField(label=_("Địa chỉ nhận qua bưu chính"), required=False, max_length=300)
    correction_form = forms.IntegerField(
        label=_("Số phiếu DC02 điều chỉnh (nếu có)"), required=False, min_value=1
    )

    def __init__(self, *args: Any, points: list[IntakePoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        point_field = self.fields["point"]
        assert isinstance(point_field, forms.TypedChoiceField)
        point_field.choices = [(p.pk, str(p)) for p in points]
        device_field = self.fields["device"]
        assert isinstance(device_field, forms.TypedChoiceField)
        device_field.choices = [("", "—")] + [
            (d.pk, f"{d.serial} · {p}{' · iris' if d.has_iris else ''}")
            for p in points
            for d in p.devices.all()
            if d.active
        ]
        for kind, label in Biometric.Kind.choices:
            self.fields[f"image_{kind}"] = forms.FileField(label=label, required=False)

    def images(self) -> dict[str, bytes]:
        """The uploaded images by kind; a file larger than the service accepts is read only that far."""
        images: dict[str, bytes] = {}
        for kind in IMAGE_KINDS:
            upload = self.cleaned_data.get(f"image_{kind}")
            if upload:
                images[kind] = upload.read(4 * 1024 * 1024 + 1)
        return images


class VerifyForm(forms.Form):
    text = forms.CharField(
        label=_("Nội dung QR, MRZ hoặc dữ liệu chip"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20_000,
    )
