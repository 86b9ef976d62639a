"""Two reassessments of one commune at the same moment both count in the day's snapshots (review 28).

A decision in the duplicates queue, a merge and its undo reassess their records once they commit
(`quality_records_refresh`), and each moves the day's snapshots of the commune, its province and the
country. The first change of a day makes those rows. Two officers of Phường Hoàn Kiếm settling a pair
each at the same moment both found no row for the day (neither saw the other's, not yet committed), both
made it, and the second broke the day's unique constraint: its reassessment failed, and the figures left
its record out until the next pass. The rows are now made before any change is added, a row made
meanwhile by another is kept, and each adds its change under the row's lock.

On PostgreSQL the first reassessment's transaction is held open while the second runs on its own
connection (`tests.races.race`). SQLite lets one writer in at a time, so there the two run one after the
other, which must end the same way.
"""

from __future__ import annotations

from django.utils import timezone

from dancu.collection.quality.models import QualitySnapshot
from dancu.collection.quality.services import quality_records_refresh
from tests.collection.quality_support import complete_citizen
from tests.conftest import HOAN_KIEM, commune
from tests.races import race


def test_two_reassessments_of_one_commune_at_once_both_count_in_the_days_snapshots(
    transactional_db: None,
) -> None:
    hung = complete_citizen("Nguyễn Văn Hùng")
    lan = complete_citizen("Trần Thị Lan")
    # No pass has run: the day has no snapshot yet, and the first reassessment makes the rows.
    assert not QualitySnapshot.objects.exists()

    second = race(
        lambda: quality_records_refresh(citizen_ids=[hung.pk]),
        lambda: quality_records_refresh(citizen_ids=[lan.pk]),
    )

    assert not isinstance(second, BaseException), second
    hoan_kiem = commune(HOAN_KIEM)
    today = timezone.localdate()
    for unit in (hoan_kiem, hoan_kiem.parent, None):
        snapshot = QualitySnapshot.objects.get(unit=unit, day=today)
        assert (snapshot.records, snapshot.passed_all) == (2, 2), unit
