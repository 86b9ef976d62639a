"""What a commune police officer meets when she settles the review queue of duplicate records, as found by
walking the demo: a pair she said was two people stays settled when one of its records moves on (a
staged row written to the registry), and the matcher's evidence reads in her words."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.models import StagingRecord
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.matching.services.runs import match_run_registry, pair_key
from dancu.matching.views import LEVEL_LABELS
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.conftest import make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_runs import TODAY, _population, _stage

pytestmark = pytest.mark.django_db

SYSTEM = Actor(system="test")


def _written_to_the_registry(row: StagingRecord, like: Citizen) -> Citizen:
    """The staged row's form was applied: the row is now a citizen of its own, with its own PIN."""
    residence = like.residences.get(ended_on__isnull=True, kind="permanent")
    twin = make_citizen(
        full_name=like.full_name,
        birth_date=like.birth_date.to_storage(),
        sex=like.sex,
        commune_code=residence.commune.code,
        address=residence.address_detail,
    )
    StagingRecord.objects.filter(pk=row.pk).update(citizen=twin, status=StagingRecord.Status.APPROVED)
    return twin


def test_a_pair_said_to_be_two_people_is_not_proposed_again_once_the_staged_row_is_a_citizen() -> None:
    citizens = _population()
    (row,) = _stage(citizens[:1])
    match_run_registry(actor=SYSTEM, today=TODAY)
    settled = CandidatePair.objects.get(pair_key=pair_key(f"c:{citizens[0].pk}", f"s:{row.pk}"))
    # The officer said "not the same person"; the row went on through its own review into the registry.
    CandidatePair.objects.filter(pk=settled.pk).update(
        status=CandidatePair.Status.DIFFERENT,
        decided_at=timezone.now(),
        decision_reason="hai người khác nhau",
    )
    twin = _written_to_the_registry(row, citizens[0])

    second = match_run_registry(actor=SYSTEM, today=TODAY)

    assert not CandidatePair.objects.filter(pair_key=pair_key(f"c:{citizens[0].pk}", f"c:{twin.pk}")).exists()
    assert second.summary["already_decided"] >= 1
    settled.refresh_from_db()
    assert settled.status == CandidatePair.Status.DIFFERENT


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_comparison_level_is_named_in_words_an_officer_reads(language: str) -> None:
    """ "dạng NFC", "Jaro-Winkler ≥ 0,92" are the matcher's measures, not words of a commune officer."""
    with translation.override(language):
        labels = [str(label) for label in LEVEL_LABELS.values()]
    for label in labels:
        assert "NFC" not in label
        assert "Jaro" not in label
    assert (
        "trùng khớp hoàn toàn (viết giống hệt nhau)" if language == "vi" else "exact (written the same)"
    ) in labels


def test_the_pair_page_names_the_exact_name_level_in_plain_words(
    client: Client, sign_in: Callable[[Client, User], Client], thu: User, hung: Citizen
) -> None:
    other = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(other, hung)
    comparisons = [dict(pair.comparisons[0], level="exact (NFC, canonical spelling)"), *pair.comparisons[1:]]
    CandidatePair.objects.filter(pk=pair.pk).update(comparisons=comparisons)
    sign_in(client, thu)

    page = client.get(reverse("matching:pair", args=[pair.pk])).content.decode()

    assert "trùng khớp hoàn toàn (viết giống hệt nhau)" in page
    assert "NFC" not in page


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("", "file.empty"),
        ("record_id,full_name\n1,A\n", "file.missing_columns"),
        (
            "record_id,full_name,birth_date\n1,Nguyễn Văn A,1990-01-01\n1,Lê C,1992-03-03\n",
            "record_id.duplicate",
        ),
        ("record_id,full_name,birth_date,id_number\n1,,,\n2,,,\n", "records.all_blank"),
    ],
)
def test_a_refused_file_is_named_in_each_line_of_the_error(tmp_path: Path, content: str, rule: str) -> None:
    source = tmp_path / "so_ho_khau.csv"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "clusters.csv"

    with pytest.raises(CommandError) as refused:
        call_command("match", str(source), "--out", str(out), stderr=io.StringIO(), stdout=io.StringIO())

    lines = str(refused.value).splitlines()
    assert lines
    assert all(line.startswith(f"{source}: [") for line in lines)
    assert f"[{rule}]" in lines[0]
    assert not out.exists()


def test_the_pair_page_shows_where_the_total_starts_so_the_fields_add_up_to_it(
    client: Client, sign_in: Callable[[Client, User], Client], thu: User, hung: Citizen
) -> None:
    """The bars add up to the total only with the matcher's starting point (its prior), which the page
    shows: without it the officer sums +14.66 of fields and reads a total of -5.34."""
    other = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(other, hung)
    fields = sum(c["weight"] for c in pair.comparisons)
    CandidatePair.objects.filter(pk=pair.pk).update(match_weight=fields - 20)
    sign_in(client, thu)

    page = client.get(reverse("matching:pair", args=[pair.pk])).content.decode()

    assert 'id="prior"' in page
    assert "Điểm xuất phát, trước khi so trường nào" in page
    assert "<strong>-20,00</strong>" in page
    assert f"<strong>{fields - 20:.2f}</strong>".replace(".", ",") in page


def test_what_a_linked_row_says_differently_is_set_against_what_the_registry_holds(
    thu: User, hung: Citizen
) -> None:
    """The decision's `row_says` named the registry's address and parents as blank whatever it held, so
    the trail said the row brought a father the registry already had."""
    registry.family_link_add(
        actor=Actor(thu),
        citizen=hung,
        kind="father",
        relative_name="Nguyễn Văn Tâm",
        reason="Khai sinh",
        source_document="Giấy khai sinh",
    )
    row = staged_row(
        address="Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội",
        father_name="NGUYEN VAN TAM",
        mother_name="Trần Thị Hoa",
    )

    decisions.candidate_pair_decide(
        actor=Actor(thu), pair=candidate_pair(hung, row), same=True, reason="Xác minh"
    )

    decided = AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED)
    row_says = decided.data["row_says"]
    assert "father_name" not in row_says  # the same father once tone marks are folded
    assert "address" not in row_says  # the registry's permanent residence, written out
    assert row_says["mother_name"] == {"row": "Trần Thị Hoa", "registry": ""}


def test_the_pair_page_writes_dates_day_first_and_cites_the_rows_line_in_its_file(
    client: Client, sign_in: Callable[[Client, User], Client], thu: User, hung: Citizen
) -> None:
    row = staged_row(full_name="Nguyễn Văn Hùng")
    StagingRecord.objects.filter(pk=row.pk).update(source_row=57)
    pair = candidate_pair(hung, row)
    sign_in(client, thu)

    page = client.get(reverse("matching:pair", args=[pair.pk])).content.decode()

    # As the citizen's record writes it, not in the stored form the two sides are compared in.
    assert str(hung.birth_date) in page
    assert hung.birth_date.to_storage() not in page
    # The officer finds the row on line 57 of the file, not as the import's 1st data row.
    assert "dòng 57" in page
    queue = client.get(reverse("matching:queue")).content.decode()
    # On a phone the whole button opens the pair, not only its percentage.
    assert (
        f'<a class="button" href="{reverse("matching:pair", args=[pair.pk])}" data-open>Xem và quyết định</a>'
        in queue
    )


def test_a_level_of_agreement_that_weighs_against_is_not_called_a_difference(
    client: Client, sign_in: Callable[[Client, User], Client], thu: User, hung: Citizen
) -> None:
    other = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(other, hung)
    household = {"field": "address", "level": "same place, and the same known parents: one household"}
    CandidatePair.objects.filter(pk=pair.pk).update(
        comparisons=[*pair.comparisons, dict(household, weight=-0.68)]
    )
    sign_in(client, thu)

    page = client.get(reverse("matching:pair", args=[pair.pk])).content.decode()

    row = page.split('data-field="address"')[-1].split("</tr>")[0]
    # The place and the parents agree; the level counts a little against, and the badge says only that.
    assert "cùng nơi ở và cùng cha mẹ: một hộ" in row
    assert '<span class="badge">nghiêng về khác người</span>' in row
    assert '<span class="badge">khác</span>' not in page


@pytest.mark.parametrize(
    ("death", "rule"),
    [
        ("31/02/2024", "date.day_range"),
        ("2099-01-01", "date.future"),
        ("1950-01-01", "date.death_before_birth"),
    ],
)
def test_a_date_of_death_that_cannot_be_recorded_is_not_promised(  # noqa: PLR0917 (fixtures)
    client: Client, sign_in: Callable[[Client, User], Client], thu: User, hung: Citizen, death: str, rule: str
) -> None:
    pair = candidate_pair(hung, staged_row(full_name="Nguyễn Văn Hùng", death_date=death))
    sign_in(client, thu)

    page = client.get(reverse("matching:pair", args=[pair.pk])).content.decode()

    badge = page.split('id="deceased"')[1].split("</span>")[0]
    assert "data-not-recorded" in badge
    assert f"[{rule}]" in badge
    assert "xác nhận không ghi nhận công dân đã mất" in badge
    assert "xác nhận sẽ ghi nhận" not in page


def test_a_readable_date_of_death_is_announced_as_recorded(
    client: Client, sign_in: Callable[[Client, User], Client], thu: User, hung: Citizen
) -> None:
    pair = candidate_pair(hung, staged_row(full_name="Nguyễn Văn Hùng", death_date="05/04/2023"))
    sign_in(client, thu)

    page = client.get(reverse("matching:pair", args=[pair.pk])).content.decode()

    assert "Một nguồn ghi ngày mất: xác nhận sẽ ghi nhận công dân đã mất" in page
    assert "data-not-recorded" not in page
