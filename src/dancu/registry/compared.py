"""The access log of what a form's rules compared with other records, and the daily budget of comparisons
with records outside the officer's area.

A relative's number is looked up in the whole registry, and so are the records a new person would
duplicate (docs/officers.md, "Forms DC01 and DC02"), on a DC01 or DC02 as on "Thêm công dân", a
correction and the API's citizens (registry/services.py, `_duplicates_checked`): the same values give
the same digest whichever of them compared them. The officer sees only verdicts, but a verdict says
something: `family.name_differs` whether a name is the holder's, `family.parent_too_young` on which side
of a date the holder was born, `citizen.possible_duplicate` whether someone of that name was born that
day. Typed again and again, such verdicts confirm the name and bisect the birth date of anyone in the
country. So:

- A record in the officer's area, which they may open anyway, is logged once a day per purpose, as
  before (`registry.selectors.records_checked_log`): the form is checked again at every change of a
  field, and a row for each would bury the reads that matter.
- A record outside it is logged once per *comparison*: per distinct set of typed values the verdict
  about it depended on (the relative's name, the person's name, birth date and sex, the number typed).
  The same values checked again as other fields change add nothing; another guess adds a row. The row's
  detail ends with a keyed digest of those values, `[3f9a…]`, so that the auditor sees how many
  different comparisons were made, and equal digests mean the same values, without the values.
- Those comparisons are counted per officer and day (Vietnam's day), and refused past a budget:
  `DANCU_OUTSIDE_CHECKS_PER_DAY` in all (200 by default), `DANCU_OUTSIDE_CHECKS_PER_RECORD` about one
  record (10). Past either, the check is refused whole with `check.daily_limit` or
  `check.record_limit`, and no verdict is given; the rows of the day are the count, so the budget holds
  across processes and servers. An officer collecting door to door names a few relatives outside the
  area on a form, and types each a few times.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Set
from datetime import datetime, time

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope
from dancu.audit.models import AccessLog
from dancu.audit.services import access_log_record
from dancu.lib.errors import DomainError, FieldError
from dancu.registry.models import Citizen
from dancu.registry.selectors import (
    DUPLICATE_CHECK_PURPOSE,
    RELATIVE_CHECK_PURPOSE,
    records_checked_log,
)

# What a form's rules compared with each record: record id -> the typed values each verdict depended on.
Compared = Mapping[int, Set[str]]

_DIGEST = re.compile(r"\[([0-9a-f]{12})\]$")
_PURPOSES = (RELATIVE_CHECK_PURPOSE, DUPLICATE_CHECK_PURPOSE)


def compared_values(*values: object) -> str:
    """One comparison's typed values as one text (what the digest is made of)."""
    return "\x1f".join("" if value is None else str(value) for value in values)


def _digest(purpose: str, citizen_id: int, values: Set[str]) -> str:
    # Keyed: a digest of a name guessed among a few thousand would otherwise be reversed by trying them.
    # The key's name is where the module first lived; changing it would make today's rows look new.
    text = "\x1e".join((purpose, str(citizen_id), *sorted(values)))
    return salted_hmac("dancu.collection.compared", text).hexdigest()[:12]


def _limit_error(code: str, limit: int, *, relatives: bool) -> DomainError:
    if code == "check.record_limit":
        vi = (
            f"Đã đối chiếu {limit} lần trong ngày với cùng một hồ sơ ngoài địa bàn: không đối chiếu thêm "
            "đến hết ngày. Kiểm tra lại số định danh, họ tên đã khai"
        )
        en = (
            f"{limit} comparisons with one record outside your area today: no more until tomorrow. Check "
            "the number and the name typed"
        )
    else:
        vi = (
            f"Đã đối chiếu {limit} lần trong ngày với hồ sơ ngoài địa bàn, mức tối đa mỗi ngày: không đối "
            "chiếu thêm đến hết ngày"
        )
        en = (
            f"{limit} comparisons with records outside your area today, the most a day allows: no more "
            "until tomorrow"
        )
        if relatives:
            # A form's relatives are the comparisons the officer may leave out; a new person's duplicate
            # check is not.
            vi += ". Lưu phiếu không cần đối chiếu thì để trống số định danh người thân"
            en += ". To save the form without them, leave the relatives' numbers blank"
    return DomainError(FieldError("form", code, vi, en))


def compared_records_log(
    user: User,
    *,
    relatives: Compared,
    duplicates: Compared,
    channel: AccessLog.Channel,
    detail: str,
) -> None:
    """Log what the rules compared with each record for `user`, or refuse the whole check (a DomainError,
    before any verdict is shown) when the comparisons outside the area go past the day's budget."""
    by_purpose = {RELATIVE_CHECK_PURPOSE: relatives, DUPLICATE_CHECK_PURPOSE: duplicates}
    ids = {pk for compared in by_purpose.values() for pk in compared}
    if not ids:
        return
    inside = set(Citizen.objects.filter(citizen_scope(user), pk__in=ids).values_list("pk", flat=True))
    for purpose, compared in by_purpose.items():
        records_checked_log(
            actor=user,
            citizen_ids=[pk for pk in compared if pk in inside],
            channel=channel,
            purpose=purpose,
            detail=detail,
        )
    wanted = {
        (purpose, pk, _digest(purpose, pk, values))
        for purpose, compared in by_purpose.items()
        for pk, values in compared.items()
        if pk not in inside
    }
    if not wanted:
        return
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    today = (
        AccessLog.objects.filter(
            actor=user, action=AccessLog.Action.VERIFY, purpose__in=_PURPOSES, accessed_at__gte=midnight
        )
        # The rows of records outside the area now (the area follows the citizen, as the auditors' does).
        # Only an officer with an area gets here: for the ministry every record is inside.
        .exclude(citizen_scope(user))
        .values_list("purpose", "citizen_id", "detail")
    )
    logged: set[tuple[str, int, str]] = set()
    per_record: Counter[int] = Counter()
    for purpose, citizen_id, row_detail in today:
        per_record[citizen_id] += 1
        match = _DIGEST.search(row_detail)
        if match:
            logged.add((purpose, citizen_id, match.group(1)))
    new = sorted(wanted - logged)
    if not new:
        return
    day_limit = settings.DANCU_OUTSIDE_CHECKS_PER_DAY
    record_limit = settings.DANCU_OUTSIDE_CHECKS_PER_RECORD
    if per_record.total() + len(new) > day_limit:
        raise _limit_error("check.daily_limit", day_limit, relatives=bool(relatives))
    added = Counter(pk for _purpose, pk, _digest_text in new)
    if any(per_record[pk] + count > record_limit for pk, count in added.items()):
        raise _limit_error("check.record_limit", record_limit, relatives=bool(relatives))
    for purpose, pk, digest in new:
        prefix = detail[: 200 - len(digest) - 3]
        access_log_record(
            actor=user,
            citizen_ids=[pk],
            action=AccessLog.Action.VERIFY,
            channel=channel,
            purpose=purpose,
            detail=f"{prefix} [{digest}]".lstrip(),
        )
