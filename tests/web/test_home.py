"""The officer's home page: what waits for the officer today, in counts, each leading to its queue.

Lan collects in Phường Hoàn Kiếm, Hằng checks its forms, Cường (Hà Nội) re-checks them; Bình collects in
Phường Hồng Hà. Counts only: the home page reads no record, so it writes no access-log entry.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import workflow
from tests.collection.forms_support import Reviewers, advance, dc01, make_reviewers
from tests.conftest import HONG_HA, People, Personas, make_citizen
from tests.matching.factories import candidate_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(personas: Personas) -> Reviewers:
    return make_reviewers(personas)


def waiting(client: Client) -> dict[str, str]:
    """The home page's waiting work: each line's figure, and each form status's."""
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    work = page[page.index('id="work"') : page.index("</section>", page.index('id="work"'))]
    figures = dict(re.findall(r'data-work="(\w+)"><a [^>]*>[^<]*: <strong>([\d.,]+)</strong>', work))
    figures |= dict(re.findall(r'data-status="(\w+)">[^<]*?([\d.,]+)</span>', work))
    return figures


def test_each_officer_sees_the_work_waiting_for_their_role_in_their_area(
    personas: Personas, people: People, staff: Reviewers, sign_in: Any
) -> None:
    dc01(personas.lan)
    dc01(personas.lan, full_name="Đỗ Thị Lan Anh", sex="F")
    returned = workflow.form_submit(
        actor=Actor(personas.lan), form=dc01(personas.lan, full_name="Phạm Văn Tú")
    )
    workflow.form_return(actor=Actor(staff.hang), form=returned, reason="Thiếu giấy tờ")
    advance(
        dc01(personas.lan, full_name="Vũ Văn Hải"),
        "submitted",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    advance(
        dc01(personas.lan, full_name="Ngô Văn Bảy"), "checked", reviewer=staff.hang, supervisor=personas.cuong
    )
    dc01(personas.binh, commune_code=HONG_HA, full_name="Lý Văn Tám")  # Hồng Hà: none of Lan's work
    # Pairs waiting: one within Hoàn Kiếm, one across Hà Nội, one across the country; one settled.
    twin = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 2 phố Hàng Trống")
    candidate_pair(people.hung, twin)
    candidate_pair(people.hung, people.nga, unit=people.hung.area_commune)
    candidate_pair(people.mai, people.tuan)
    settled = candidate_pair(people.mai, people.nga)
    settled.status, settled.decided_by, settled.decided_at = "rejected", personas.cuong, timezone.now()
    settled.save(update_fields=["status", "decided_by", "decided_at"])
    reads = AccessLog.objects.count()

    lan = waiting(sign_in(Client(), personas.lan))
    hang = waiting(sign_in(Client(), staff.hang))
    cuong = waiting(sign_in(Client(), personas.cuong))

    # Lan collects: pairs are for the reviewers to decide, not counted as her work.
    assert lan == {"forms": "3", "draft": "2", "returned": "1", "applications": "0"}
    # Hằng checks the submitted form, and has no draft of her own.
    assert hang == {
        "forms": "1",
        "submitted": "1",
        "draft": "0",
        "returned": "0",
        "pairs": "1",
        "applications": "0",
    }
    # Cường re-checks across Hà Nội, and decides the pairs whose two records are both in it.
    assert cuong == {"forms": "1", "checked": "1", "rechecked": "0", "pairs": "2", "applications": "0"}
    assert AccessLog.objects.count() == reads


def test_the_ministry_has_no_form_queue_but_every_pair(
    personas: Personas, people: People, sign_in: Any
) -> None:
    candidate_pair(people.hung, people.nga, unit=people.hung.area_commune)
    candidate_pair(people.mai, people.tuan)

    assert waiting(sign_in(Client(), personas.minh)) == {"pairs": "2", "applications": "0"}
