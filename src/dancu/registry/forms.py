"""Forms of the registry pages. They only parse input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dancu.lib.full_date import FullDateFormField
from dancu.registry.models import HouseholdMember, MaritalStatus, Relation, Residence, Sex
from dancu.registry.reference import ETHNICITIES, RELIGIONS
from dancu.registry.rules import Issue
from dancu.registry.selectors import PIN_RE


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Số định danh, CMND hoặc họ tên"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("vd. 001090012345 hoặc nguyen van hung"), "autofocus": True}
        ),
    )
    birth = forms.CharField(
        label=_("Ngày/năm sinh"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "1990"}),
    )
    commune = forms.CharField(label=_("Mã xã/phường"), required=False, max_length=10)
    # Codes of the units before 1-7-2025 repeat the codes of today's communes for other places.
    legacy_commune = forms.CharField(
        label=_("Mã xã/phường cũ (trước 1-7-2025)"), required=False, max_length=10
    )
    address = forms.CharField(label=_("Địa chỉ"), required=False, max_length=200)


class CitizenForm(forms.Form):
    full_name = forms.CharField(label=_("Họ, chữ đệm và tên khai sinh"), max_length=200)
    birth_date = forms.CharField(
        label=_("Ngày sinh"),
        max_length=20,
        help_text=_("DD/MM/YYYY; nếu sổ cũ chỉ ghi năm hoặc tháng: YYYY hoặc MM/YYYY"),
    )
    sex = forms.ChoiceField(label=_("Giới tính"), choices=Sex.choices)
    birth_registration_place = forms.CharField(
        label=_("Nơi đăng ký khai sinh (mã tỉnh, vd. 001)"), max_length=3, min_length=3
    )
    pin = forms.CharField(
        label=_("Số định danh cá nhân (bỏ trống để cấp mới)"), required=False, max_length=20
    )
    other_names = forms.CharField(label=_("Tên gọi khác"), required=False, max_length=300)
    birth_place = forms.CharField(label=_("Nơi sinh"), required=False, max_length=400)
    native_place = forms.CharField(label=_("Quê quán"), required=False, max_length=400)
    ethnicity = forms.ChoiceField(label=_("Dân tộc"), choices=list(ETHNICITIES.items()), initial="01")
    religion = forms.ChoiceField(label=_("Tôn giáo"), choices=list(RELIGIONS.items()), initial="00")
    old_id_number = forms.CharField(label=_("Số CMND cũ (9 số)"), required=False, max_length=20)
    marital_status = forms.ChoiceField(
        label=_("Tình trạng hôn nhân"), choices=MaritalStatus.choices, required=False
    )
    phone = forms.CharField(label=_("Số điện thoại"), required=False, max_length=30)
    email = forms.CharField(label=_("Email"), required=False, max_length=250)
    residence_kind = forms.ChoiceField(label=_("Nơi cư trú khai báo"), choices=Residence.Kind.choices)
    commune_code = forms.CharField(label=_("Mã xã/phường (2025)"), max_length=10)
    address_detail = forms.CharField(label=_("Số nhà, đường, thôn/tổ"), max_length=400)
    registered_on = FullDateFormField(label=_("Ngày đăng ký"))
    expires_on = FullDateFormField(
        label=_("Thời hạn tạm trú đến"),
        help_text=_("Chỉ với tạm trú: tối đa 2 năm kể từ ngày đăng ký"),
        required=False,
    )
    # The default reason stays Vietnamese whatever the page language: it is stored in the legal record.
    reason = forms.CharField(label=_("Lý do"), max_length=1000, initial="Thu thập thông tin dân cư")
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)
    not_a_duplicate = forms.BooleanField(
        label=_("Đã kiểm tra: người này khác người cùng họ tên và ngày sinh đã có trong CSDL"), required=False
    )


class ResidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Loại cư trú"), choices=Residence.Kind.choices)
    commune_code = forms.CharField(label=_("Mã xã/phường (2025)"), max_length=10)
    address_detail = forms.CharField(label=_("Số nhà, đường, thôn/tổ"), max_length=400)
    registered_on = FullDateFormField(label=_("Ngày đăng ký"))
    expires_on = FullDateFormField(label=_("Thời hạn tạm trú đến"), required=False)
    reason = forms.CharField(label=_("Lý do"), max_length=1000)
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class ResidenceEndForm(forms.Form):
    ended_on = FullDateFormField(label=_("Ngày chấm dứt"))
    reason = forms.CharField(label=_("Lý do"), max_length=1000)
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class ResidenceRenewForm(forms.Form):
    expires_on = FullDateFormField(
        label=_("Thời hạn tạm trú mới đến"),
        help_text=_("Mỗi lần gia hạn tối đa 2 năm"),
    )
    reason = forms.CharField(label=_("Lý do"), max_length=1000, initial="Gia hạn tạm trú")
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class AbsenceForm(forms.Form):
    """Khai báo tạm vắng: the period, the destination and the reason (Luật Cư trú 2020, art. 31)."""

    starts_on = FullDateFormField(label=_("Tạm vắng từ ngày"))
    ends_on = FullDateFormField(label=_("Đến ngày"))
    destination = forms.CharField(label=_("Nơi đến"), max_length=400)
    reason = forms.CharField(label=_("Lý do tạm vắng"), max_length=400)
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class AbsenceCorrectForm(forms.Form):
    """Sửa khai báo tạm vắng: the period, destination or reason as they really are, and why."""

    starts_on = FullDateFormField(label=_("Tạm vắng từ ngày"))
    ends_on = FullDateFormField(label=_("Đến ngày"))
    destination = forms.CharField(label=_("Nơi đến"), max_length=400)
    absence_reason = forms.CharField(label=_("Lý do tạm vắng"), max_length=400)
    reason = forms.CharField(label=_("Lý do sửa"), max_length=1000)
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class AbsenceWithdrawForm(forms.Form):
    """Huỷ khai báo tạm vắng: why the person no longer leaves, and the paper it rests on."""

    # The default reason stays Vietnamese whatever the page language: it is stored in the legal record.
    reason = forms.CharField(label=_("Lý do huỷ"), max_length=1000, initial="Công dân không đi nữa")
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class AbsenceReturnForm(forms.Form):
    returned_on = FullDateFormField(label=_("Ngày trở về"))
    # The default reason stays Vietnamese whatever the page language: it is stored in the legal record.
    reason = forms.CharField(label=_("Lý do"), max_length=1000, initial="Trở về nơi cư trú")
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class HouseholdNewForm(forms.Form):
    """Lập hộ mới: a person of the commune, in no household, opens one as its head, at its address."""

    commune_code = forms.CharField(label=_("Mã xã/phường (2025)"), max_length=10)
    address_detail = forms.CharField(label=_("Số nhà, đường, thôn/tổ"), max_length=400)
    registered_on = FullDateFormField(label=_("Ngày lập hộ"))
    reason = forms.CharField(label=_("Lý do"), max_length=1000)
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)


class MemberForm(forms.Form):
    pin = forms.CharField(label=_("Số định danh của người được thêm"), max_length=20)
    relation_to_head = forms.ChoiceField(label=_("Quan hệ với chủ hộ"), choices=Relation.choices)
    joined_on = FullDateFormField(label=_("Ngày nhập hộ"))
    reason = forms.CharField(label=_("Lý do"), max_length=1000)
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)

    def clean_pin(self) -> str:
        """The PIN of the person to add, refused here when it cannot be a PIN at all, before anyone is
        looked up: a number mistyped (11 digits, a letter) is named as such, not as a person not found,
        or the officer would look for the person instead of the typo."""
        pin: str = self.cleaned_data["pin"].strip()
        if not PIN_RE.fullmatch(pin):
            problem = Issue("pin", "pin.format").as_field_error()
            raise ValidationError(
                f"{problem.message(get_language() or 'vi')} [{problem.code}]", code=problem.code
            )
        return pin


class ArrivalForm(forms.Form):
    """Đăng ký thường trú cho người chuyển đến: the card's identity, then a household of the commune to
    join or the address of a new one."""

    pin = forms.CharField(label=_("Số định danh cá nhân (trên thẻ)"), max_length=20)
    full_name = forms.CharField(label=_("Họ, chữ đệm và tên (trên thẻ)"), max_length=200)
    birth_date = forms.CharField(label=_("Ngày sinh (trên thẻ)"), max_length=20, help_text=_("DD/MM/YYYY"))
    registered_on = FullDateFormField(label=_("Ngày đăng ký thường trú"))
    household_number = forms.CharField(
        label=_("Số hồ sơ hộ muốn nhập (hộ trong địa bàn)"),
        help_text=_("Bỏ trống để lập hộ mới, công dân là chủ hộ"),
        required=False,
        max_length=40,
    )
    relation_to_head = forms.ChoiceField(
        label=_("Quan hệ với chủ hộ (khi nhập hộ có sẵn)"),
        choices=[("", "—"), *Relation.choices],
        required=False,
    )
    address_detail = forms.CharField(
        label=_("Địa chỉ của hộ mới: số nhà, đường, thôn/tổ"),
        help_text=_("Chỉ khi lập hộ mới"),
        required=False,
        max_length=400,
    )
    # The default reason stays Vietnamese whatever the page language: it is stored in the legal record.
    reason = forms.CharField(label=_("Lý do"), max_length=1000, initial="Chuyển đến đăng ký thường trú")
    source_document = forms.CharField(
        label=_("Giấy tờ làm căn cứ"), max_length=250, required=False, initial="CT01"
    )


class StayForm(forms.Form):
    """Đăng ký tạm trú for a person whose record lies elsewhere: the card's identity, then the stay."""

    pin = forms.CharField(label=_("Số định danh cá nhân (trên thẻ)"), max_length=20)
    full_name = forms.CharField(label=_("Họ, chữ đệm và tên (trên thẻ)"), max_length=200)
    birth_date = forms.CharField(label=_("Ngày sinh (trên thẻ)"), max_length=20, help_text=_("DD/MM/YYYY"))
    address_detail = forms.CharField(label=_("Địa chỉ tạm trú: số nhà, đường, thôn/tổ"), max_length=400)
    registered_on = FullDateFormField(label=_("Ngày đăng ký tạm trú"))
    expires_on = FullDateFormField(
        label=_("Tạm trú đến ngày"),
        help_text=_("Tối đa 2 năm kể từ ngày đăng ký"),
    )
    # The default reason stays Vietnamese whatever the page language: it is stored in the legal record.
    reason = forms.CharField(label=_("Lý do"), max_length=1000, initial="Đăng ký tạm trú")
    source_document = forms.CharField(
        label=_("Giấy tờ làm căn cứ"), max_length=250, required=False, initial="CT01"
    )


class StaySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Số định danh hoặc họ tên"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("vd. 001090012345 hoặc nguyen van")}),
    )
    expired = forms.BooleanField(label=_("Chỉ người đã hết hạn tạm trú"), required=False)


class _PinsField(forms.MultipleChoiceField):
    """The PINs ticked. A PIN the page no longer lists (the member left meanwhile) is kept, not refused as
    an unknown choice: the split refuses it with its own rule, naming the person."""

    def valid_value(self, value: str) -> bool:
        return len(value) <= 20


class _PinField(forms.ChoiceField):
    """One PIN among the members listed, kept too when the page no longer lists it (see _PinsField)."""

    def valid_value(self, value: str) -> bool:
        return len(value) <= 20


class HeadChangeForm(forms.Form):
    """Thay đổi chủ hộ: one of the current members becomes the head; the previous head stays a member."""

    # A PIN the page no longer offers (the form sent twice, the person now the head; a member who left
    # since the page was opened) is kept for the change of head to refuse with its own rule.
    new_head = _PinField(label=_("Chủ hộ mới"))
    previous_head_relation = forms.ChoiceField(
        label=_("Quan hệ của chủ hộ cũ với chủ hộ mới"),
        choices=[(value, label) for value, label in Relation.choices if value != Relation.HEAD],
    )
    changed_on = FullDateFormField(label=_("Ngày thay đổi"))
    reason = forms.CharField(label=_("Lý do"), max_length=1000)
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)

    def __init__(self, *args: Any, members: list[HouseholdMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["new_head"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (m.citizen.pin, f"{m.citizen.full_name} ({m.citizen.pin}) · {m.get_relation_to_head_display()}")
            for m in members
            if m.relation_to_head != Relation.HEAD
        ]
        if not any(m.relation_to_head == Relation.HEAD for m in members):
            # A household without a head has no previous head to give a relation to.
            del self.fields["previous_head_relation"]


class HouseholdSplitForm(forms.Form):
    """Tách hộ: members tick themselves out of the household, one of them its new head, each other one with
    their relation to the new head (a select beside each member, `relation_<PIN>`)."""

    members = _PinsField(label=_("Những người tách hộ"), required=False, widget=forms.CheckboxSelectMultiple)
    # Blank choices are kept blank on purpose: the split names what is missing, with its rule.
    new_head = _PinField(label=_("Chủ hộ của hộ mới"), required=False)
    split_on = FullDateFormField(label=_("Ngày tách hộ"))
    reason = forms.CharField(label=_("Lý do"), max_length=1000, initial="Tách hộ")
    source_document = forms.CharField(label=_("Giấy tờ làm căn cứ"), max_length=250, required=False)

    def __init__(self, *args: Any, members: list[HouseholdMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.household_members = members
        choices = [
            (m.citizen.pin, f"{m.citizen.full_name} ({m.citizen.pin}) · {m.get_relation_to_head_display()}")
            for m in members
        ]
        for name in ("members", "new_head"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices if name == "members" else [("", _("— Chọn chủ hộ mới —")), *choices]
        relations = [("", _("— Quan hệ với chủ hộ mới —"))] + [
            (value, label) for value, label in Relation.choices if value != Relation.HEAD
        ]
        for m in members:
            self.fields[self.relation_field(m.citizen.pin)] = forms.ChoiceField(
                label=_("Quan hệ của %(name)s với chủ hộ mới") % {"name": m.citizen.full_name},
                choices=relations,
                required=False,
            )

    @staticmethod
    def relation_field(pin: str) -> str:
        return f"relation_{pin}"

    def detail_fields(self) -> list[forms.BoundField]:
        """The fields after the members: the new head, the date and the source."""
        return [self[name] for name in ("new_head", "split_on", "reason", "source_document")]

    def member_rows(self) -> list[tuple[HouseholdMember, bool, forms.BoundField]]:
        """Each member with whether they are ticked and the select of their relation to the new head."""
        ticked = set(self["members"].value() or [])
        return [
            (m, m.citizen.pin in ticked, self[self.relation_field(m.citizen.pin)])
            for m in self.household_members
        ]


class StateOnForm(forms.Form):
    on = FullDateFormField(label=_("Xem hồ sơ tại ngày"))
