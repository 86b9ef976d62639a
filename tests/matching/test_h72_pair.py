"""The duplicates pair page's decision form, as an officer meets it: every refusal at once and next to its
field, a reason box that takes a long reason without cutting it, refusals that name the field as the page
does, and a PIN that differs and weighs nothing said to be no mistake."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.lib.vntext import text_errors
from dancu.matching.models import CandidatePair
from dancu.matching.services.decisions import candidate_pair_decide
from dancu.registry.models import Citizen
from tests.conftest import make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import api, post

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _field(page: str, name: str) -> str:
    """The form's block of one field: its label, its input and what is said under it."""
    block = re.search(rf'<div class="field" data-field="{name}">(.*?)</div>', page, re.S)
    assert block is not None, name
    return block.group(1)


def _decided(pair: CandidatePair) -> bool:
    return AuditEvent.objects.filter(
        event_type=EventType.PAIR_DECIDED, subject_type="candidate_pair", subject_id=str(pair.pk)
    ).exists()


def test_no_answer_and_no_reason_are_both_said_each_next_to_its_field(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    """The page said only "choose an answer", and once the officer chose, "a reason is required": two
    round trips for one form. Both are said at once, each under its field, and listed on top."""
    pair = candidate_pair(hung, staged_row())
    client = sign_in(Client(), thu)

    response = client.post(f"/duplicates/{pair.pk}/decide/", {"reason": "  ", "source_document": "BB 3"})
    assert response.status_code == 422
    page = response.content.decode()
    decision = re.search(r'<fieldset class="decision"[^>]*>(.*?)</fieldset>', page, re.S)
    assert decision is not None
    assert "[decision.required]" in decision.group(1)
    assert "Chọn “cùng một người” hoặc “không phải cùng một người”" in decision.group(1)
    reason = _field(page, "reason")
    assert "Cần ghi lý do quyết định [reason.required]" in reason
    assert "decision.required" not in reason
    assert 'aria-invalid="true"' in reason
    summary = re.search(r'<div class="card notice" role="alert" id="decision-errors">(.*?)</div>', page, re.S)
    assert summary is not None
    assert re.findall(r'<a href="#([\w-]+)">', summary.group(1)) == ["decision-same", "reason"]
    # What the officer typed comes back.
    assert 'value="BB 3"' in _field(page, "source_document")
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
    assert not _decided(pair)


def test_a_choice_the_merge_needs_is_asked_for_under_the_choice(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(elsewhere, hung)
    client = sign_in(Client(), thu)

    response = client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": "Trùng"})
    assert response.status_code == 422
    page = response.content.decode()
    choice = _field(page, "choices.permanent")
    assert "[merge.choice_required]" in choice
    assert 'aria-invalid="true"' in choice
    summary = re.search(r'<div class="card notice" role="alert" id="decision-errors">(.*?)</div>', page, re.S)
    assert summary is not None
    assert re.findall(r'<a href="#([\w-]+)">', summary.group(1)) == ["choice-permanent"]
    assert ">Trùng</textarea>" in _field(page, "reason")


def test_the_service_refuses_a_missing_answer_with_the_other_rules(thu: User, hung: Citizen) -> None:
    pair = candidate_pair(hung, staged_row())
    with pytest.raises(DomainError) as refused:
        candidate_pair_decide(actor=Actor(thu), pair=pair, same=None, reason="", source_document="x" * 201)
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("decision", "decision.required"),
        ("reason", "reason.required"),
        ("source_document", "text.too_long"),
    ]
    assert not _decided(pair)


def test_the_reason_box_takes_a_long_reason_and_says_its_limit(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    """A one-line box with maxlength=1000 cut a longer pasted reason without a word. The box is a text
    area the browser does not cut; the page says the limit, and the server refuses past it, naming the
    field and the rule, with the whole text given back to shorten."""
    pair = candidate_pair(hung, staged_row())
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    reason = _field(page, "reason")
    box = re.search(r"<textarea ([^>]*)>", reason)
    assert box is not None
    assert 'id="reason"' in box.group(1)
    assert 'name="reason"' in box.group(1)
    assert 'rows="3"' in box.group(1)
    assert "maxlength" not in box.group(1)
    assert "tối đa 1.000 ký tự" in reason
    assert 'aria-describedby="reason-hint"' in box.group(1)

    long_reason = "Cùng cha mẹ và ngày sinh. " * 40  # 1,040 characters
    refused = client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": long_reason})
    assert refused.status_code == 422
    reason = _field(refused.content.decode(), "reason")
    assert "Trường «Lý do»: dài tối đa 1000 ký tự (hiện có 1040). [text.too_long]" in reason
    assert f">{long_reason}</textarea>" in reason
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING

    client.cookies["django_language"] = "en"
    english = _field(client.get(f"/duplicates/{pair.pk}/").content.decode(), "reason")
    assert "at most 1,000 characters" in english


def test_a_reason_written_on_several_lines_is_kept_on_one(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    """A text area invites the Enter key; the registry's texts are single lines (CSV exports, logs), so
    the lines are joined rather than the decision refused."""
    pair = candidate_pair(hung, staged_row())
    client = sign_in(Client(), thu)
    response = client.post(
        f"/duplicates/{pair.pk}/decide/",
        {"decision": "different", "reason": "Khác cha mẹ.\r\n\r\nKhác ngày sinh.\n"},
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert (pair.status, pair.decision_reason) == (
        CandidatePair.Status.DIFFERENT,
        "Khác cha mẹ. Khác ngày sinh.",
    )
    # Other invisible characters are still refused.
    assert client.post(f"/duplicates/{pair.pk}/undo/", {"reason": "Nhầm\tlẫn"}).status_code == 422


def test_the_undo_reason_box_is_a_text_area_too(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    pair = candidate_pair(hung, staged_row())
    client = sign_in(Client(), thu)
    client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": "Khác cha mẹ"})
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    undo = _field(page, "undo-reason")
    assert re.search(r'<textarea id="undo-reason" name="reason" rows="3" required[ >]', undo)
    assert "maxlength" not in undo
    assert "tối đa 1.000 ký tự" in undo
    refused = client.post(f"/duplicates/{pair.pk}/undo/", {"reason": "x" * 1001})
    assert refused.status_code == 422
    assert "Trường «Lý do»: dài tối đa 1000 ký tự (hiện có 1001). [text.too_long]" in _field(
        refused.content.decode(), "undo-reason"
    )


def test_text_refusals_name_the_field_as_the_page_does(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    """«reason» and «source_document» are the form's names, not the officer's words."""
    pair = candidate_pair(hung, staged_row())
    client = sign_in(Client(), thu)
    body = {"decision": "different", "reason": "Khác <b>cha</b>", "source_document": "BB " * 70}

    page = client.post(f"/duplicates/{pair.pk}/decide/", body).content.decode()
    assert "Trường «Lý do»: có ký tự không dùng trong văn bản tiếng Việt" in _field(page, "reason")
    assert "Trường «Giấy tờ làm căn cứ»: dài tối đa 200 ký tự (hiện có 210)." in _field(
        page, "source_document"
    )
    assert "«reason»" not in page
    assert "«source_document»" not in page

    client.cookies["django_language"] = "en"
    english = client.post(f"/duplicates/{pair.pk}/decide/", body).content.decode()
    assert "Field 'Reason': contains characters not used in Vietnamese text" in unescape(
        _field(english, "reason")
    )
    assert "Field 'Supporting document': at most 200 characters allowed (it has 210)." in unescape(
        _field(english, "source_document")
    )

    # The API names the field by its code, as before, and says it in words in the messages.
    refused = post(
        api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": False, "reason": "x" * 1001}
    )
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert (error["field"], error["code"]) == ("reason", "text.too_long")
    assert error["message_vi"] == "Trường «Lý do»: dài tối đa 1000 ký tự (hiện có 1001)."
    assert error["message_en"] == "Field 'Reason': at most 1000 characters allowed (it has 1001)."


def test_text_errors_take_a_label_and_keep_the_field_code_without_one() -> None:
    (unlabelled,) = text_errors("abc", field="address", max_length=2)
    assert unlabelled.message_vi == "Trường «address»: dài tối đa 2 ký tự (hiện có 3)."
    (labelled,) = text_errors("a\nb", field="reason", max_length=10, label=("Lý do", "Reason"))
    assert labelled.field == "reason"
    assert labelled.code == "text.control_chars"
    assert labelled.message_vi.startswith("Trường «Lý do»: chứa ký tự điều khiển")
    assert labelled.message_en.startswith("Field 'Reason': contains control")


@pytest.mark.parametrize(
    ("field", "note"),
    [
        ("pin", ("được cấp số định danh riêng", "was given a PIN of its own")),
        ("cmnd", ("thường ghi số CMND khác nhau", "often carry different CMND numbers")),
    ],
)
def test_a_different_identifier_that_weighs_nothing_says_why(
    sign_in: SignIn, thu: User, hung: Citizen, field: str, note: tuple[str, str]
) -> None:
    """Trained on a registry, "different PIN" weighs 0.00 (a person's second record was given a PIN of its
    own, so the duplicates the matcher learns from differ there): "khác" at 0,00 without a word read as
    the matcher's mistake. The row says why; where the model still weighs it against (an untrained run),
    there is nothing to explain."""
    vi, en = note
    trained = candidate_pair(hung, staged_row())
    untrained = candidate_pair(hung, staged_row(full_name="Nguyễn Văn Hùng"))
    for pair, weight in ((trained, 0.00001), (untrained, -8.97)):
        pair.comparisons = [c for c in pair.comparisons if c["field"] != field] + [
            {"field": field, "level": "different", "weight": weight, "left": "001", "right": "002"}
        ]
        pair.save(update_fields=["comparisons"])
    client = sign_in(Client(), thu)

    def row(pair: CandidatePair) -> str:
        page = client.get(f"/duplicates/{pair.pk}/").content.decode()
        found = re.search(rf'<tr data-field="{field}" data-agreed="no">(.*?)</tr>', page, re.S)
        assert found is not None
        return found.group(1)

    assert "khác" in row(trained)
    assert "0,00" in row(trained)
    assert vi in row(trained)
    assert "data-note" in row(trained)
    assert "data-note" not in row(untrained)

    client.cookies["django_language"] = "en"
    assert en in row(trained)
