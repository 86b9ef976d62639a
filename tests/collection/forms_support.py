"""What the DC01/DC02 form tests share: the commune reviewers the personas lack, and filled-in forms.

Hằng reviews (kiểm tra) the forms of Phường Hoàn Kiếm, where Lan collects; Khoa those of Phường Hồng Hà,
where Bình collects; Cường, supervisor of Hà Nội, re-checks (phúc tra) both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dancu.accounts.models import User
from dancu.accounts.services import officer_create, police_unit_for_area
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from dancu.registry import services
from dancu.registry.models import Citizen
from tests.conftest import HOAN_KIEM, HONG_HA, PASSWORD, SYSTEM, Personas, commune, make_citizen
from tests.registry.merge_support import card


@dataclass
class Reviewers:
    hang: User  # commune reviewer, Công an phường Hoàn Kiếm
    khoa: User  # commune reviewer, Công an phường Hồng Hà


def reviewer(username: str, code: str, full_name: str) -> User:
    user, _device = officer_create(
        actor=SYSTEM,
        username=username,
        password=PASSWORD,
        role=User.Role.COMMUNE_REVIEWER,
        police_unit=police_unit_for_area(area=commune(code)),
        full_name=full_name,
        otp_secret_hex="3132333435363738393031323334353637383930",
    )
    return user


def make_reviewers(personas: Personas) -> Reviewers:
    # The personas come first: they create the police units of both communes with their parents.
    assert personas.lan.police_unit is not None
    return Reviewers(
        hang=reviewer("hang", HOAN_KIEM, "Vũ Thị Hằng"),
        khoa=reviewer("khoa", HONG_HA, "Đặng Văn Khoa"),
    )


def dc01_data(**changes: str) -> dict[str, str]:
    """A complete, clean DC01 of a newborn-free adult collected in Phường Hoàn Kiếm."""
    data = {
        "full_name": "Đỗ Minh Khang",
        "birth_date": "12/03/1992",
        "sex": "M",
        "birth_registration_place": "001",
        "ethnicity": "01",
        "religion": "00",
        "phone": "0912345678",
        "residence_kind": "permanent",
        "commune_code": HOAN_KIEM,
        "address_detail": "Số 8 phố Hàng Bè",
        "registered_on": "2024-06-01",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def dc01(author: User, **changes: str) -> CollectionForm:
    return workflow.form_create_draft(
        actor=Actor(author), kind="DC01", data=dc01_data(**changes), document="Giấy khai sinh số 12/1992"
    )


def dc02(author: User, citizen: Citizen, changes: dict[str, Any], **kwargs: str) -> CollectionForm:
    kwargs.setdefault("document", "Trích lục khai sinh số 45/2024")
    kwargs.setdefault("reason", "Sửa sai sót khi nhập liệu")
    return workflow.form_create_draft(
        actor=Actor(author), kind="DC02", citizen=citizen, data={"changes": changes}, **kwargs
    )


def advance(
    form: CollectionForm,
    status: str,
    *,
    reviewer: User,
    supervisor: User,
    acknowledged: tuple[str, ...] = (),
) -> CollectionForm:
    """Take a form through the steps from where it is up to `status`, each by the officer of the step."""
    steps = [
        ("submitted", lambda f: workflow.form_submit(actor=Actor(f.created_by), form=f)),
        (
            "checked",
            lambda f: workflow.form_check(actor=Actor(reviewer), form=f, acknowledged=acknowledged),
        ),
        (
            "rechecked",
            lambda f: workflow.form_recheck(actor=Actor(supervisor), form=f, acknowledged=acknowledged),
        ),
        ("applied", lambda f: workflow.form_apply(actor=Actor(supervisor), form=f)),
    ]
    order = ["draft", "returned", *(reached for reached, _step in steps)]
    for reached, step in steps:
        if order.index(reached) <= order.index(form.status):
            continue  # already past this step
        form = step(form)
        if reached == status:
            return form
    raise AssertionError(f"cannot advance a {form.status} form to {status}")


def merge_into_duplicate(citizen: Citizen) -> Citizen:
    """Merge `citizen` into a second record of the same person, which carries the chip card and so keeps
    its PIN (the merge's rule); return the kept record."""
    kept = make_citizen(full_name=citizen.full_name, birth_date=citizen.birth_date.to_storage())
    card(kept)
    services.citizen_merge(
        actor=SYSTEM,
        keep=kept,
        absorb=Citizen.objects.get(pk=citizen.pk),
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh 7",
    )
    return Citizen.objects.get(pk=kept.pk)


def verifications(citizen: Citizen) -> list[tuple[str, str, str, str]]:
    """Who was told something of `citizen`'s record by a form's rules: reader, channel, what, purpose. The
    digest of what was compared, which ends the detail of a record outside the reader's area, is left out
    (registry/compared.py)."""
    rows = AccessLog.objects.filter(citizen=citizen, action=AccessLog.Action.VERIFY).order_by("pk")
    return [
        (row.actor_label, row.channel, re.sub(r" \[[0-9a-f]{12}\]$", "", row.detail), row.purpose)
        for row in rows
    ]
