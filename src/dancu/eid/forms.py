"""Forms of the citizen's sign-in and activation and of the officer's registration page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dancu.lib.pin import ungrouped


class PinField(forms.RegexField):
    """The 12-digit PIN, as people copy it: grouped with spaces, dots or dashes ("001 173 523 477") the
    separators are dropped rather than refused; anything else than ASCII digits is still refused."""

    def to_python(self, value: Any) -> str:
        return ungrouped(super().to_python(value) or "")


def _pin_field() -> forms.RegexField:
    return PinField(
        label=_("Số định danh cá nhân"),
        regex=r"^[0-9]{12}$",
        max_length=20,
        error_messages={"invalid": _("Số định danh cá nhân gồm 12 chữ số")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "username"}),
    )


class CitizenLoginForm(forms.Form):
    pin = _pin_field()
    password = forms.CharField(
        label=_("Mật khẩu"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class LostPhoneLockForm(CitizenLoginForm):
    """Locking the account without the authenticator app: the sign-in's PIN and password, and an explicit
    yes."""

    confirm = forms.BooleanField(
        label=_("Tôi muốn khoá tài khoản định danh điện tử của mình"),
        error_messages={"required": _("Hãy đánh dấu xác nhận trước khi khoá tài khoản")},
    )


class ActivationForm(forms.Form):
    pin = _pin_field()
    code = forms.CharField(
        label=_("Mã kích hoạt"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}),
    )
    password = forms.CharField(
        label=_("Mật khẩu mới"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Nhập lại mật khẩu mới"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("Hai mật khẩu không khớp"))
        return data


class RegisterForm(forms.Form):
    identity_checked = forms.BooleanField(
        label=_("Tôi đã đối chiếu khuôn mặt công dân với ảnh trên thẻ căn cước đang sử dụng"),
        required=False,
    )


class CardPinField(PinField):
    """The PIN typed, or read off the card's QR code by the desk's scanner, which types the whole code
    (`PIN|CMND|name|…`) followed by Enter: the PIN is its first part."""

    def to_python(self, value: Any) -> str:
        return super().to_python((value or "").split("|", 1)[0])


class DeskLookupForm(forms.Form):
    pin = CardPinField(
        label=_("Số định danh cá nhân (gõ hoặc quét mã QR trên thẻ)"),
        regex=r"^[0-9]{12}$",
        # A scanned QR code carries the name and the address after the PIN.
        max_length=400,
        error_messages={"invalid": _("Số định danh cá nhân gồm 12 chữ số")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}),
    )
