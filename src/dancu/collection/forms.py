"""Forms of the DC01/DC02 pages. They only read the input (every field optional, as a draft may be
incomplete) and arrange it for display; the rules live in `collection.workflow`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from dancu.collection import workflow
from dancu.collection.models import CollectionForm, StagingRecord
from dancu.lib.errors import FieldError
from dancu.lib.full_date import DayInput
from dancu.lib.partial_date import PartialDate
from dancu.registry.models import Citizen, MaritalStatus, Relation, Residence, Sex
from dancu.registry.reference import BLOOD_TYPES, ETHNICITIES, RELIGIONS
from dancu.registry.rules import FIELD_LABELS, led_by_label

# Longer than any registry field; the rules report the real limits with their codes.
_MAX = workflow.MAX_VALUE_LENGTH
_BLANK = [("", "—")]
_UNCHANGED = [("", _("— không đổi —"))]
_DATE_HELP = _("DD/MM/YYYY; nếu giấy tờ chỉ ghi năm hoặc tháng: YYYY hoặc MM/YYYY")


def _text(label: StrOrPromise, **attrs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=_MAX, widget=forms.TextInput(attrs=attrs))


def _date(label: StrOrPromise) -> forms.CharField:
    # Kept as text, as the workflow's rules read it; the shared date box shows a draft's day-first text
    # ("17/05/2024", from an API client) as the ISO value it needs instead of an empty box.
    return forms.CharField(label=label, required=False, max_length=_MAX, widget=DayInput)


def _choice(label: StrOrPromise, choices: list[tuple[str, Any]], initial: str = "") -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=choices, initial=initial)


# What a page sends beside the form's data: the document and reason are stored apart, the two keys not at all.
PAGE_ONLY = ("document", "reason", "submission_key", "seen")


def seen_of(form: CollectionForm) -> str:
    """When `form` last changed, as a page carries it back with an action on the form (workflow._locked)."""
    return form.updated_at.isoformat()


def seen_parse(value: str | None) -> datetime | None:
    """The time a page sent back with `seen_of`, or None when the page sent none (an API client, a page
    opened before the field existed). A value that is no time can match no form: it is a change."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _RelativesForm(forms.Form):
    """The father, mother, spouse and legal representative, each by name and PIN: on a DC01 as collected,
    on a DC02 as they are to be. Also the key of the page that files a new form (`submission_key`)."""

    # Given by the page that opens a new form and sent back with it: a second press of the button, or a
    # post the browser sends again, carries the same key and makes no second form
    # (workflow.form_create_draft). Not part of the form's data.
    submission_key = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # When the form being edited last changed, as the page showed it (workflow._locked): a save over a
    # correction made meanwhile is refused, not written over it. Not part of the form's data either.
    seen = forms.CharField(required=False, widget=forms.HiddenInput)

    father_name = _text(_("Họ, chữ đệm và tên của cha"), autocomplete="off")
    father_pin = _text(_("Số định danh cá nhân của cha"), inputmode="numeric")
    mother_name = _text(_("Họ, chữ đệm và tên của mẹ"), autocomplete="off")
    mother_pin = _text(_("Số định danh cá nhân của mẹ"), inputmode="numeric")
    spouse_name = _text(_("Họ, chữ đệm và tên của vợ/chồng"), autocomplete="off")
    spouse_pin = _text(_("Số định danh cá nhân của vợ/chồng"), inputmode="numeric")
    representative_name = _text(_("Họ, chữ đệm và tên của người đại diện hợp pháp"), autocomplete="off")
    representative_pin = _text(_("Số định danh cá nhân của người đại diện hợp pháp"), inputmode="numeric")


_RELATIVES_TITLE = _("Cha, mẹ, vợ/chồng, người đại diện (nếu có)")


class DC01Form(_RelativesForm):
    """Phiếu DC01: a person not yet in the registry, where they live, the household they join."""

    full_name = _text(_("Họ, chữ đệm và tên khai sinh"), autocomplete="off")
    birth_date = _text(_("Ngày sinh"), inputmode="numeric", placeholder="17/05/1990")
    sex = _choice(_("Giới tính"), _BLANK + Sex.choices)
    birth_registration_place = _text(_("Nơi đăng ký khai sinh (mã tỉnh, vd. 001)"), inputmode="numeric")
    pin = _text(_("Số định danh cá nhân (bỏ trống để cấp mới)"), inputmode="numeric")
    other_names = _text(_("Tên gọi khác"))
    birth_place = _text(_("Nơi sinh"))
    native_place = _text(_("Quê quán"))
    ethnicity = _choice(_("Dân tộc"), list(ETHNICITIES.items()), initial="01")
    religion = _choice(_("Tôn giáo"), list(RELIGIONS.items()), initial="00")
    nationality = _text(_("Quốc tịch (mã 2 chữ cái)"))
    old_id_number = _text(_("Số CMND cũ (9 số)"), inputmode="numeric")
    marital_status = _choice(_("Tình trạng hôn nhân"), MaritalStatus.choices)
    blood_type = _choice(_("Nhóm máu"), _BLANK + [(b, b) for b in BLOOD_TYPES])
    blood_type_source = _text(_("Kết quả xét nghiệm nhóm máu"))
    phone = _text(_("Số điện thoại"), inputmode="tel")
    email = _text(_("Email"), inputmode="email")
    residence_kind = _choice(_("Loại cư trú"), Residence.Kind.choices, initial=Residence.Kind.PERMANENT)
    commune_code = _text(_("Mã xã/phường (2025)"), inputmode="numeric")
    address_detail = _text(_("Số nhà, đường, thôn/tổ"))
    registered_on = _date(_("Ngày đăng ký cư trú"))
    expires_on = _date(_("Thời hạn tạm trú đến"))
    household_number = _text(_("Số hồ sơ cư trú của hộ (nếu nhập hộ có sẵn)"))
    relation_to_head = _choice(
        _("Quan hệ với chủ hộ"), _BLANK + [c for c in Relation.choices if c[0] != Relation.HEAD]
    )
    document = _text(_("Giấy tờ làm căn cứ"))
    reason = _text(_("Lý do"))

    groups = (
        (
            _("Thông tin cá nhân"),
            (
                "full_name",
                "birth_date",
                "sex",
                "birth_registration_place",
                "pin",
                "other_names",
                "birth_place",
                "native_place",
                "ethnicity",
                "religion",
                "nationality",
                "old_id_number",
                "marital_status",
                "blood_type",
                "blood_type_source",
                "phone",
                "email",
            ),
        ),
        (_("Nơi cư trú"), workflow.RESIDENCE_FIELDS),
        (_("Nhập hộ (nếu có)"), workflow.HOUSEHOLD_FIELDS),
        (_RELATIVES_TITLE, workflow.FAMILY_FIELDS),
        (_("Căn cứ"), ("document", "reason")),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["birth_date"].help_text = _DATE_HELP

    def data_of(self) -> dict[str, str]:
        """The form's data as the workflow stores it (document and reason apart)."""
        return {name: value for name, value in self.cleaned_data.items() if name not in PAGE_ONLY}

    @staticmethod
    def initial_of(form: CollectionForm) -> dict[str, Any]:
        return {**form.data, "document": form.document, "reason": form.reason, "seen": seen_of(form)}


class DC02Form(_RelativesForm):
    """Phiếu DC02: the new value of each field to change; a field left blank keeps its value."""

    full_name = _text(_("Họ, chữ đệm và tên khai sinh"), autocomplete="off")
    other_names = _text(_("Tên gọi khác"))
    birth_date = _text(_("Ngày sinh"), inputmode="numeric")
    birth_place = _text(_("Nơi sinh"))
    native_place = _text(_("Quê quán"))
    ethnicity = _choice(_("Dân tộc"), _UNCHANGED + list(ETHNICITIES.items()))
    religion = _choice(_("Tôn giáo"), _UNCHANGED + list(RELIGIONS.items()))
    nationality = _text(_("Quốc tịch (mã 2 chữ cái)"))
    old_id_number = _text(_("Số CMND cũ (9 số)"), inputmode="numeric")
    marital_status = _choice(
        _("Tình trạng hôn nhân"), _UNCHANGED + [c for c in MaritalStatus.choices if c[0]]
    )
    blood_type = _choice(_("Nhóm máu"), _UNCHANGED + [(b, b) for b in BLOOD_TYPES])
    blood_type_source = _text(_("Kết quả xét nghiệm nhóm máu"))
    date_of_death = _text(_("Ngày mất"), inputmode="numeric")
    missing_declared_on = _date(_("Ngày tuyên bố mất tích"))
    phone = _text(_("Số điện thoại"), inputmode="tel")
    email = _text(_("Email"), inputmode="email")
    # A blank field keeps its value, so removing a relative (a divorce, a representative no longer needed)
    # is a choice of its own: it sends the relative's name and number blank, which clears them. Ticked
    # with a new name, it replaces the relative with someone known by that name only; without the tick a
    # name alone would keep the old relative's number, and so the old relative.
    father_clear = forms.BooleanField(label=_("Bỏ thông tin cha khỏi hồ sơ"), required=False)
    mother_clear = forms.BooleanField(label=_("Bỏ thông tin mẹ khỏi hồ sơ"), required=False)
    spouse_clear = forms.BooleanField(label=_("Bỏ thông tin vợ/chồng khỏi hồ sơ"), required=False)
    representative_clear = forms.BooleanField(
        label=_("Bỏ thông tin người đại diện hợp pháp khỏi hồ sơ"), required=False
    )
    document = _text(_("Giấy tờ làm căn cứ (bắt buộc)"))
    reason = _text(_("Lý do thay đổi"))

    groups = (
        (
            _("Thông tin cần thay đổi (để trống nếu giữ nguyên)"),
            (
                "full_name",
                "other_names",
                "birth_date",
                "birth_place",
                "native_place",
                "ethnicity",
                "religion",
                "nationality",
                "old_id_number",
                "marital_status",
                "blood_type",
                "blood_type_source",
                "date_of_death",
                "missing_declared_on",
                "phone",
                "email",
            ),
        ),
        (
            _RELATIVES_TITLE,
            tuple(
                name for who in workflow.RELATIVES for name in (f"{who}_name", f"{who}_pin", f"{who}_clear")
            ),
        ),
        (_("Căn cứ"), ("document", "reason")),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A correction is often to a date the papers give only as a year ("sinh năm 1956"): the officer is
        # told that such a date is taken, as on the DC01.
        self.fields["birth_date"].help_text = _DATE_HELP
        self.fields["date_of_death"].help_text = _DATE_HELP

    def data_of(self) -> dict[str, Any]:
        changes = {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in PAGE_ONLY and not name.endswith("_clear") and value
        }
        for who in workflow.RELATIVES:
            if self.cleaned_data.get(f"{who}_clear"):
                # What was typed beside the tick names the new relative; what was left blank is cleared.
                changes.setdefault(f"{who}_name", "")
                changes.setdefault(f"{who}_pin", "")
        return {"changes": changes}

    @staticmethod
    def initial_of(form: CollectionForm) -> dict[str, Any]:
        changes = form.data.get("changes", {})
        # A number sent blank is the tick's doing: the relative the record had goes.
        cleared = {
            f"{who}_clear": True for who in workflow.RELATIVES if changes.get(f"{who}_pin", None) == ""
        }
        return {**changes, **cleared, "document": form.document, "reason": form.reason, "seen": seen_of(form)}


def form_class(kind: str) -> type[DC01Form] | type[DC02Form]:
    return DC02Form if kind == CollectionForm.Kind.DC02 else DC01Form


@dataclass
class FieldRow:
    bound: forms.BoundField
    errors: list[str] = field(default_factory=list)
    current: str = ""


@dataclass
class FieldGroup:
    title: StrOrPromise
    rows: list[FieldRow]


def _message(problem: FieldError | dict[str, Any], language: str) -> str:
    if isinstance(problem, FieldError):
        return f"{problem.message(language)} [{problem.code}]"
    text = problem["message_en"] if language.startswith("en") else problem["message_vi"]
    return f"{text} [{problem['code']}]"


def messages_of(problems: list[FieldError] | list[dict[str, Any]], *, language: str) -> list[str]:
    return [_message(problem, language) for problem in problems]


def errors_by_field(
    problems: list[FieldError] | list[dict[str, Any]], *, names: set[str], language: str
) -> tuple[dict[str, list[str]], list[str]]:
    """Messages next to their field, and those about no field of the page (shown on top)."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        name = problem.field if isinstance(problem, FieldError) else problem["field"]
        message = _message(problem, language)
        if name in names:
            by_field.setdefault(name, []).append(message)
        else:
            general.append(led_by_label(name, message, language=language))
    return by_field, general


def grouped(
    form: DC01Form | DC02Form, errors: dict[str, list[str]], current: dict[str, str] | None = None
) -> list[FieldGroup]:
    current = current or {}
    return [
        FieldGroup(
            title=title,
            rows=[FieldRow(form[name], errors.get(name, []), current.get(name, "")) for name in names],
        )
        for title, names in form.groups
    ]


# The form's fields that hold a date, stored as text (as typed, or ISO from an import).
_DATE_FIELDS = frozenset(
    {"birth_date", "date_of_death", "missing_declared_on", "registered_on", "expires_on"}
)


def _display(name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, PartialDate):
        return str(value)
    if name in _DATE_FIELDS and isinstance(value, str):
        # A date as the pages write it ("31/05/1975", "05/1975"), whether it was typed so or came from a
        # file as "1975-05-31"; one that cannot be read is shown as it was typed, beside its error.
        try:
            return str(PartialDate.parse(value))
        except ValueError:
            return value
    choices: dict[str, Any] = {
        "sex": dict(Sex.choices),
        "ethnicity": ETHNICITIES,
        "religion": RELIGIONS,
        "marital_status": dict(MaritalStatus.choices),
        "residence_kind": dict(Residence.Kind.choices),
        "relation_to_head": dict(Relation.choices),
    }
    if name in choices:
        return str(choices[name].get(value, value))
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return str(value)


def current_values(citizen: Citizen) -> dict[str, str]:
    """What the record holds now, for each field a DC02 can change."""
    current = {
        name: _display(name, getattr(citizen, name))
        for name in workflow.DC02_FIELDS - set(workflow.FAMILY_FIELDS)
    }
    for who, (name, pin) in workflow.current_relatives(citizen).items():
        current[f"{who}_name"], current[f"{who}_pin"] = name, pin
    return current


@dataclass
class DataRow:
    name: str
    label: str
    value: str
    current: str = ""


def data_rows(form: CollectionForm) -> list[DataRow]:
    """The form's data for reading: label and value, and for a DC02 the value it replaces."""
    page_form = form_class(form.kind)()
    if form.kind == CollectionForm.Kind.DC02:
        changes = form.data.get("changes", {})
        current = current_values(form.citizen) if form.citizen is not None else {}
        return [
            DataRow(
                name,
                str(page_form.fields[name].label) if name in page_form.fields else name,
                _display(name, value) or "∅",
                current.get(name, ""),
            )
            for name, value in changes.items()
        ]
    return [
        DataRow(name, str(page_form.fields[name].label), _display(name, form.data[name]))
        for _title, names in page_form.groups
        for name in names
        if form.data.get(name)
    ]


@dataclass
class StagingRow:
    """One column of an imported row: the text as read, the value the rules made of it, what they said."""

    column: str
    label: str
    original: str
    normalized: str
    messages: list[str]


# The person-records columns (DESIGN.md) and the normalized value each one became.
_STAGING_COLUMNS = (
    ("record_id", "record_id"),
    ("full_name", "full_name"),
    ("gender", "sex"),
    ("birth_date", "birth_date"),
    ("birth_place", "birth_place_text"),
    ("id_number", "id_number"),
    ("old_id_number", "old_id_number"),
    ("father_name", "father_name"),
    ("mother_name", "mother_name"),
    ("address", "address"),
)


def staging_rows(record: StagingRecord | None, *, language: str) -> list[StagingRow]:
    """For a form made by an import, each column as read beside its normalized value, with the rule
    messages (problems and repairs) that name it, for the reviewer to compare."""
    if record is None:
        return []
    english = language.startswith("en")
    by_field: dict[str, list[str]] = {}
    for issue in record.issues:
        text = issue["message_en"] if english else issue["message_vi"]
        by_field.setdefault(issue["field"], []).append(f"{text} [{issue['code']}]")
    for repair in record.repairs:
        by_field.setdefault(repair["field"], []).append(
            f"{repair['before']} → {repair['after']} [{repair['code']}]"
        )
    rows = []
    for column, key in _STAGING_COLUMNS:
        label_vi, label_en = FIELD_LABELS.get(column, (column, column))
        value = str(record.normalized.get(key, ""))
        if key == "sex":
            value = {"M": "Nam", "F": "Nữ"}.get(value, value)
        if key == "address" and record.normalized.get("commune_code"):
            value = f"{value} (xã/phường {record.normalized['commune_code']})"
        rows.append(
            StagingRow(
                column=column,
                label=label_en if english else label_vi,
                original=str(record.raw.get(column, "")),
                normalized=value,
                messages=by_field.get(column, []),
            )
        )
    general = by_field.get("", [])
    if general:
        rows.append(StagingRow("", "—", "", "", general))
    return rows
