"""Every read of the registry: scoped to the actor's jurisdiction and written to the access log.

A record outside the actor's area and a record that does not exist give the same NotFoundError, so a
guessed id or PIN tells an officer nothing about other communes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope, household_scope, stay_scope
from dancu.audit.models import AccessLog
from dancu.audit.services import access_log_record
from dancu.geo.models import AdminUnit
from dancu.lib.chunks import batched, in_chunks
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.lib.partial_date import PartialDate, PartialDateError
from dancu.lib.pin import ungrouped
from dancu.lib.vntext import fold, fold_name, text_errors
from dancu.registry.models import (
    AbsenceDeclaration,
    Citizen,
    CitizenMerge,
    FamilyLink,
    Household,
    HouseholdMember,
    IdentityCardRecord,
    MaritalStatus,
    PinRecord,
    RecordVersion,
    Residence,
)
from dancu.registry.record import citizen_record
from dancu.registry.validation import error, old_id_holder

PIN_RE = re.compile(r"^[0-9]{12}$")
OLD_ID_RE = re.compile(r"^[0-9]{9}$")
MAX_PAGE_SIZE = 100
MAX_QUERY_LENGTH = 100


def _visible_citizens(actor: User) -> QuerySet[Citizen]:
    # A record merged into another is read through the record it was merged into (see citizen_get).
    return Citizen.objects.filter(citizen_scope(actor), merged_into__isnull=True)


def _merged_into(lookup: dict[str, Any]) -> int | None:
    """The record that a merged record (by pk or PIN) now lives in, following later merges too (A into
    B, then B into C leads to C), whatever the chain's length, as `services.citizen_final_record` does
    for writes: a lookup that stopped earlier would call a record that still holds the person not found.
    Merges are rare and chains rarer, so a query per step costs little."""
    target = Citizen.objects.filter(**lookup).values_list("merged_into_id", flat=True).first()
    seen: set[int] = set()
    # The merge service never closes a loop (a merged record takes no merge); the guard only keeps a
    # damaged row from hanging the lookup.
    while target is not None and target not in seen:
        seen.add(target)
        further = Citizen.objects.filter(pk=target).values_list("merged_into_id", flat=True).first()
        if further is None:
            return target
        target = further
    return None


def citizen_current_id(*, actor: User, pk: int) -> int:
    """The id a record is read under: `pk` itself, or for a record merged away the record it now lives
    in (as `citizen_get` follows it), when the actor may see that one; NotFoundError otherwise. Nothing is
    read of the record here, so nothing is logged: the read that follows logs."""
    if _visible_citizens(actor).filter(pk=pk).exists():
        return pk
    kept = _merged_into({"pk": pk})
    if kept is not None and _visible_citizens(actor).filter(pk=kept).exists():
        return kept
    raise NotFoundError("citizen")


# What the family rules compare of a relative's record (collection.workflow._check_family).
_RELATIVE_FIELDS = ("pin", "full_name", "name_key", "sex", "birth_date", "date_of_death")


def relative_for_link(pin: str) -> Citizen | None:
    """The record a relative's PIN leads to, wherever the relative lives, for a form that links them to
    the person it collects or corrects; a PIN of a merged record leads to the kept one, as everywhere.

    Not scoped: parents and spouses live anywhere, and nothing of the record reaches the officer but the
    rules' verdicts (a PIN nobody holds, another name, a parent too young). Only the fields those rules
    compare are read. The caller that shows the verdicts logs the read (`relatives_checked_log`); the
    link, when written, is an audit event naming the record.
    """
    if not PIN_RE.match(pin):
        return None
    citizen = Citizen.objects.filter(pin=pin, merged_into__isnull=True).only(*_RELATIVE_FIELDS).first()
    if citizen is None and (kept := _merged_into({"pin": pin})) is not None:
        citizen = Citizen.objects.filter(pk=kept, merged_into__isnull=True).only(*_RELATIVE_FIELDS).first()
    return citizen


def relative_married_elsewhere(spouse: Citizen, *, record: int | None, name: str) -> bool:
    """Whether the record of a spouse a form names (found by `relative_for_link`) names a spouse other
    than the person of the form, who has `record` (a DC02) or none yet (a DC01) and is called `name`: a
    link to another record, or a name that is not theirs (the spouse's record may name the person by name
    only, from before the person was registered). Read for the same verdict, and logged with it."""
    links = spouse.family_links.filter(kind=FamilyLink.Kind.SPOUSE)
    if record is not None:
        links = links.exclude(relative_id=record)
    return any(
        other is not None or fold_name(other_name) != fold_name(name)
        for other, other_name in links.values_list("relative_id", "relative_name")
    )


def spouses_left_married(record_ids: Collection[int]) -> list[int]:
    """Which of these records, the spouses a DC02 removes or replaces, still say "married" and are alive:
    the form ends the link on both records, but not the other record's status, which a DC02 of its own
    must correct. Read for the form's verdict, and logged with it."""
    alive = Citizen.objects.filter(
        pk__in=record_ids,
        date_of_death__isnull=True,
        merged_into__isnull=True,
        marital_status=MaritalStatus.MARRIED,
    )
    return sorted(alive.values_list("pk", flat=True))


def pin_holder(pin: str) -> int | None:
    """The record that holds (or held, before a merge) this PIN, country-wide: a DC01 may not give a
    number already given. A verdict about someone's record, logged by whoever is shown it."""
    return PinRecord.objects.filter(pin=pin).values_list("citizen_id", flat=True).first()


def arrival_candidate(pin: str) -> Citizen | None:
    """The record the PIN on a card leads to, wherever the person lives, for the officer of the commune they
    move to (residence_arrival_register); the PIN of a merged record leads to the kept one, as everywhere.

    Not scoped: a person moving in lives, until the move is registered, outside the officer's area. The
    officer is shown nothing of the record but one verdict, whether the name and date of birth typed from
    the card are the record's; the caller logs the read (`records_checked_log`, ARRIVAL_CHECK_PURPOSE)
    whether or not they were."""
    if not PIN_RE.match(pin):
        return None
    citizen = Citizen.objects.filter(pin=pin, merged_into__isnull=True).first()
    if citizen is None and (kept := _merged_into({"pin": pin})) is not None:
        citizen = Citizen.objects.filter(pk=kept, merged_into__isnull=True).first()
    return citizen


# A name and a date of birth shared by more records than this is a common name, not a duplicate to look at:
# the form is warned all the same, and the log names the first records found.
POSSIBLE_DUPLICATES_READ = 20


def possible_duplicates(name_key: str, birth: PartialDate) -> list[int]:
    """The records, country-wide, with this folded name and date of birth: most often the same person
    collected twice. A verdict about their records, logged by whoever is shown it."""
    found = Citizen.objects.filter(name_key=name_key, birth_date=birth).order_by("pk")
    return list(found.values_list("pk", flat=True)[:POSSIBLE_DUPLICATES_READ])


# Values per IN list: within SQLite's limit on the parameters of one statement.
_LOOKUP_BATCH = 500


class RecordLookups:
    """The answers of pin_holder, old_id_holder and possible_duplicates for many forms judged one after the
    other (a chunk of an import's rows), read for all of them in three queries instead of three per form.

    Give it what the forms will ask; a question it was not given goes to the database as usual, so a key
    read from the rows a little differently from the check's own only costs that query. The answers are
    the registry's at the moment they were read: a caller that writes records between two forms has the
    answers about the numbers and names of those records read again (`reread`) before it judges the next
    form. Another transaction's write in between is what the per-form queries could miss as well, a
    moment later; the unique indexes settle those races."""

    def __init__(
        self,
        *,
        pins: Collection[str] = (),
        old_ids: Collection[str] = (),
        names: Collection[tuple[str, PartialDate]] = (),
    ) -> None:
        self._pins_asked = {pin for pin in pins if PIN_RE.match(pin)}
        self._old_ids_asked = {number for number in old_ids if OLD_ID_RE.match(number)}
        self._names_asked = set(names)
        self._pin_holders: dict[str, int] = {}
        self._old_id_holders: dict[str, int] = {}
        self._same: dict[tuple[str, PartialDate], list[int]] = {}
        self._read(self._pins_asked, self._old_ids_asked, self._names_asked)

    def _read(
        self, pins: Collection[str], old_ids: Collection[str], names: Collection[tuple[str, PartialDate]]
    ) -> None:
        for batch in batched(sorted(pins), _LOOKUP_BATCH):
            self._pin_holders.update(PinRecord.objects.filter(pin__in=batch).values_list("pin", "citizen_id"))
        for batch in batched(sorted(old_ids), _LOOKUP_BATCH):
            holders = Citizen.objects.filter(old_id_number__in=batch).order_by("-pk")
            # Newest first, so that the oldest holder, which old_id_holder gives, is the one kept.
            for number, pk in holders.values_list("old_id_number", "pk"):
                if number is not None:
                    self._old_id_holders[number] = pk
        # Both IN lists at once: the pairs asked for and a few of their cross products, sorted out below.
        keys = sorted({key for key, _birth in names})
        births = sorted({birth for _key, birth in names})
        for key_batch in batched(keys, _LOOKUP_BATCH // 2):
            for birth_batch in batched(births, _LOOKUP_BATCH // 2):
                found = Citizen.objects.filter(name_key__in=key_batch, birth_date__in=birth_batch)
                for key, birth, pk in found.order_by("pk").values_list("name_key", "birth_date", "pk"):
                    same = self._same.setdefault((key, birth), []) if birth is not None else []
                    if len(same) < POSSIBLE_DUPLICATES_READ:
                        same.append(pk)

    def reread(
        self, *, pins: Collection[str] = (), old_ids: Collection[str] = (), name_keys: Collection[str] = ()
    ) -> None:
        """Read again what was asked about these numbers and names (of any date of birth): the caller
        wrote records that hold them."""
        pins = self._pins_asked.intersection(pins)
        old_ids = self._old_ids_asked.intersection(old_ids)
        keys = set(name_keys)
        names = {(key, birth) for key, birth in self._names_asked if key in keys}
        for pin in pins:
            self._pin_holders.pop(pin, None)
        for number in old_ids:
            self._old_id_holders.pop(number, None)
        for pair in names:
            self._same.pop(pair, None)
        self._read(pins, old_ids, names)

    def pin_holder(self, pin: str) -> int | None:
        if pin in self._pins_asked:
            return self._pin_holders.get(pin)
        return pin_holder(pin)

    def old_id_holder(self, old_id: str | None) -> int | None:
        if old_id in self._old_ids_asked:
            return self._old_id_holders.get(old_id)
        return old_id_holder(old_id)

    def possible_duplicates(self, name_key: str, birth: PartialDate) -> list[int]:
        if (name_key, birth) in self._names_asked:
            return list(self._same.get((name_key, birth), []))
        return possible_duplicates(name_key, birth)


# Marked for extraction, not translated here: the log keeps them as written, and pages show them translated.
RELATIVE_CHECK_PURPOSE = gettext_noop("Đối chiếu người thân khai trên phiếu thu thập")
DUPLICATE_CHECK_PURPOSE = gettext_noop("Kiểm tra trùng lặp khi thu thập")
ARRIVAL_CHECK_PURPOSE = gettext_noop("Đối chiếu thẻ khi đăng ký thường trú nơi chuyển đến")
STAY_CHECK_PURPOSE = gettext_noop("Đối chiếu thẻ khi đăng ký tạm trú")


def records_checked_log(
    *, actor: User, citizen_ids: Collection[int], channel: AccessLog.Channel, purpose: str, detail: str = ""
) -> int:
    """Log that the rules compared what `actor` typed on a form with these records, for `purpose`: the
    relatives a form names (found by `relative_for_link`), or the records that already hold its number or
    its name and date of birth. The officer saw only the verdicts, but a verdict still says something of
    the record (whether a name is the holder's, whether someone born that day is registered), and a
    citizen may ask who learnt it. One row per reader, record, purpose and day: the form is checked again
    at every change of a field, and a thousand rows for one form would hide the reads that matter in the
    log. Returns the rows written.
    """
    ids = set(citizen_ids)
    if not ids:
        return 0
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    logged = AccessLog.objects.filter(
        citizen_id__in=ids,
        actor=actor,
        action=AccessLog.Action.VERIFY,
        purpose=purpose,
        accessed_at__gte=midnight,
    ).values_list("citizen_id", flat=True)
    return access_log_record(
        actor=actor,
        citizen_ids=sorted(ids.difference(logged)),
        action=AccessLog.Action.VERIFY,
        channel=channel,
        purpose=purpose,
        detail=detail,
    )


def _citizen_with_links(actor: User, lookup: dict[str, Any]) -> Citizen | None:
    if connection.vendor == "postgresql":
        # One round trip instead of six queries (see registry/record.py); SQLite, in-process, has no
        # round trips to save and reads through the ORM.
        return citizen_record(scope=citizen_scope(actor) & Q(merged_into__isnull=True), **lookup)
    return _citizen_with_record(actor, **lookup)


def _citizen_with_record(actor: User, *, pk: int | None = None, pin: str | None = None) -> Citizen | None:
    """The record through the ORM: what registry/record.py reads in one query on PostgreSQL."""
    lookup = {"pk": pk} if pk is not None else {"pin": pin}
    return (
        _visible_citizens(actor)
        .filter(**lookup)
        # What the record shows, in one query: the commune with its province for the heading.
        .select_related("area_commune__parent")
        .prefetch_related(
            Prefetch(
                "residences",
                queryset=Residence.objects.select_related(
                    "commune__parent",
                    "legacy_commune__parent__parent",
                    # Current ones first on every database (SQLite sorts NULL first, PostgreSQL last).
                ).order_by(F("ended_on").asc(nulls_first=True), "kind", "-registered_on"),
            ),
            Prefetch(
                "household_memberships",
                queryset=HouseholdMember.objects.select_related("household").order_by(
                    F("left_on").asc(nulls_first=True), "-joined_on"
                ),
            ),
            Prefetch("family_links", queryset=FamilyLink.objects.order_by("kind", "pk")),
            # In the order they were written, as registry/record.py reads them on PostgreSQL.
            Prefetch("card_records", queryset=IdentityCardRecord.objects.order_by("pk")),
            Prefetch("pin_records", queryset=PinRecord.objects.order_by("pk")),
            # The newest declaration first, as registry/record.py reads them on PostgreSQL.
            Prefetch("absences", queryset=AbsenceDeclaration.objects.order_by("-starts_on", "-pk")),
        )
        .first()
    )


def citizen_get(
    *,
    actor: User,
    pk: int | None = None,
    pin: str | None = None,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> Citizen:
    """One citizen the actor may see, with household, residences and family loaded; the read is logged."""
    if (pk is None) == (pin is None):
        raise ValueError("give exactly one of pk and pin")
    if pin is not None and not PIN_RE.match(pin):
        # No record has such a PIN; asking the database could only fail (PostgreSQL refuses a NUL).
        raise NotFoundError("citizen")
    lookup: dict[str, Any] = {"pk": pk} if pk is not None else {"pin": pin}
    citizen = _citizen_with_links(actor, lookup)
    if citizen is None:
        # The PIN of a merged record was cancelled but still names the person: it leads to the record
        # that was kept, if the actor may see that one.
        kept = _merged_into(lookup)
        if kept is not None:
            citizen = _citizen_with_links(actor, {"pk": kept})
    if citizen is None:
        raise NotFoundError("citizen")
    access_log_record(
        actor=actor, citizen_ids=[citizen.pk], action=AccessLog.Action.VIEW, channel=channel, purpose=purpose
    )
    return citizen


@dataclass(frozen=True)
class CitizenQuery:
    """What an officer searches by. `text` is a PIN, an old CMND or a name, with or without tone marks."""

    text: str = ""
    birth: str = ""  # a date, a month or a year, in any accepted format
    # A commune is one unit: the code of a 2025 commune, or of a pre-2025 (legacy) one in its own field.
    # Almost every 2025 commune code is also the code of some legacy commune elsewhere, so one code read
    # in both structures would list people of two unrelated places as if they lived in one.
    commune_code: str = ""
    legacy_commune_code: str = ""
    address: str = ""
    include_deceased: bool = True

    def is_empty(self) -> bool:
        return not (
            self.text.strip()
            or self.birth.strip()
            or self.commune_code.strip()
            or self.legacy_commune_code.strip()
            or self.address.strip()
        )


@dataclass
class CitizenPage:
    results: list[Citizen]
    page: int
    page_size: int
    has_next: bool
    query: CitizenQuery = field(default_factory=CitizenQuery)
    # The ids of the people on the page who are away today under a declared absence (tạm vắng).
    away: frozenset[int] = frozenset()
    # The one record whose own PIN or CMND is the number searched, when the search found it and no other:
    # the officer who types a full number asks for that person's record, not for a list of one. None for
    # a name, for several records, and for a record reached through a merge (the number typed is not its
    # own, and the list shows the PIN it holds now beside it).
    exact: Citizen | None = None

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _birth_in_future() -> FieldError:
    return error(
        "birth",
        "date.future",
        "Ngày sinh không được ở tương lai",
        "The date of birth must not be in the future",
    )


_YEAR = re.compile(r"[0-9]{4}")


def _birth_filter_error(exc: PartialDateError, text: str) -> FieldError:
    """The rule a birth-date filter breaks, named: an unreadable text is a wrong format, but 31/02/1973 is
    a day February does not have, and 9999 a year still to come, written the right way."""
    if exc.code == "date.format":
        return error(
            "birth",
            "date.format",
            "Ngày sinh: dùng dạng DD/MM/YYYY, MM/YYYY hoặc YYYY",
            "Date of birth: use DD/MM/YYYY, MM/YYYY or YYYY",
        )
    year = _YEAR.search(text)
    if exc.code == "date.year_range" and year is not None and int(year.group()) > timezone.localdate().year:
        return _birth_in_future()
    return error("birth", exc.code, f"Ngày sinh: {exc.message_vi}", f"Date of birth: {exc.message_en}")


# What separates the words of an address as typed: spaces and commas. A hyphen or a slash stays inside
# its word, as in the house numbers "12-14" and "149/2".
_ADDRESS_WORD_BREAK = re.compile(r"[\s,;.]+")


def _number_searched(text: str) -> str | None:
    """The PIN (12 digits) or old CMND (9 digits) the search text is, or None for any other text.

    A number read out at the counter or copied from a receipt comes in groups ("001 090 123 456",
    "001.090.123.456", "012-345-678"): its separators are dropped as the card queue drops them
    (lib.pin.ungrouped), so that the two searches find a person by the same number typed the same way.
    """
    compact = ungrouped(text)
    return compact if PIN_RE.match(compact) or OLD_ID_RE.match(compact) else None


def _search_filter(query: CitizenQuery) -> Q:
    errors = []
    condition = Q()
    # Control and invisible characters belong to no name, address or code; PostgreSQL would moreover
    # refuse a NUL in a query parameter, turning a typo into a server error.
    if any(
        error.code == "text.control_chars"
        for value in (query.text, query.birth, query.commune_code, query.legacy_commune_code, query.address)
        for error in text_errors(value, field="q", max_length=len(value))
    ):
        raise DomainError(
            error(
                "q",
                "search.control_chars",
                "Từ khoá tìm kiếm chứa ký tự điều khiển hoặc ký tự ẩn",
                "The search text contains control or invisible characters",
            )
        )
    text = query.text.strip()
    if len(text) > MAX_QUERY_LENGTH or len(query.address) > MAX_QUERY_LENGTH:
        errors.append(
            error("q", "search.too_long", "Từ khoá tìm kiếm quá dài", "The search text is too long")
        )
    elif (number := _number_searched(text)) is not None:
        # The officer may hold papers with the number of a record merged since (its PIN was cancelled, its
        # CMND may have stayed on it): the number leads to the record the person now lives in, as it does
        # for citizen_get, and that record is listed (and logged) if it is in the actor's area.
        lookup = {"pin": number} if PIN_RE.match(number) else {"old_id_number": number}
        by_number = Q(**lookup)
        kept = _merged_into(lookup)
        if kept is not None:
            by_number |= Q(pk=kept)
        condition &= by_number
    elif text:
        key = fold_name(text)
        if not key or any(ch.isdigit() for ch in key):
            errors.append(
                error(
                    "q",
                    "search.text",
                    "Nhập số định danh (12 số), số CMND (9 số) hoặc họ tên",
                    "Enter a PIN (12 digits), an old CMND (9 digits) or a name",
                )
            )
        else:
            # The folded name starts with the text typed: "nguyen van h" finds Nguyễn Văn Hùng and the
            # index on name_key serves it. A single word also matches a given name ("hung").
            name_q = Q(name_key__startswith=key)
            if " " not in key:
                name_q |= Q(name_key__endswith=f" {key}")
            condition &= name_q
    birth = query.birth.strip()
    if birth:
        partial = None
        try:
            partial = PartialDate.parse(birth)
        except PartialDateError as exc:
            errors.append(_birth_filter_error(exc, birth))
        if partial is not None and partial.earliest() > timezone.localdate():
            errors.append(_birth_in_future())
        elif partial is not None:
            # A record known only to the year matches a search for a full date in that year, and
            # vice versa: partial dates never claim more precision than they have.
            storage = partial.to_storage()
            condition &= (
                Q(birth_date__startswith=storage)
                | Q(birth_date=str(partial.year))
                | Q(birth_date=storage[:7] if partial.month else str(partial.year))
            )
    commune_code = query.commune_code.strip()
    if commune_code:
        condition &= Q(area_commune__code=commune_code)
    legacy_commune_code = query.legacy_commune_code.strip()
    if legacy_commune_code:
        condition &= Q(area_legacy_commune__code=legacy_commune_code)
    # People say their address in words of their own ("149 Ngô Quyền", "Hàng Trống số 1") where the
    # record writes "Số 149, phố Ngô Quyền": each word typed must be in the address, in any order, so that
    # the words the record adds (số, phố, a comma) do not hide it.
    address = fold(query.address)
    # Punctuation alone is no word, but still what was asked for: it is looked for as typed.
    words = [word for word in _ADDRESS_WORD_BREAK.split(address) if word] or ([address] if address else [])
    if words:
        at_address = Q()
        for word in words:
            at_address &= Q(address_key__contains=word)
        condition &= Q(
            pk__in=Residence.objects.filter(at_address, ended_on__isnull=True).values("citizen_id")
        )
    if not query.include_deceased:
        condition &= Q(date_of_death__isnull=True)
    if errors:
        raise DomainError(errors)
    return condition


def _search_detail(query: CitizenQuery, page: int) -> str:
    """What the access log keeps of a search: every criterion given, each cut to a length the row holds
    (200 characters in all, labels and a page of six digits included), and the page, so that a citizen
    and an auditor can tell why this search showed this record ("ngày sinh: 1968; địa chỉ: ly thuong
    kiet; trang 2"). Written in Vietnamese, the language the auditors read the log in."""
    criteria = (
        ("từ khoá", query.text, 50),
        ("ngày sinh", query.birth, 10),
        ("đơn vị", query.commune_code, 10),
        ("đơn vị cũ", query.legacy_commune_code, 10),
        ("địa chỉ", query.address, 50),
    )
    given = [
        f"{name}: {' '.join(value.split())[:length]}" for name, value, length in criteria if value.strip()
    ]
    return "; ".join([*given, f"trang {page}"])


def citizens_away(citizen_ids: Collection[int], *, on: date | None = None) -> set[int]:
    """Which of these citizens are away on `on` (today) under a declared absence they have not come back
    from nor withdrawn. For a page of records the caller has already read and logged. A person who has
    died is away from nowhere, whatever a declaration made in their life says."""
    on = on or timezone.localdate()
    return set(
        AbsenceDeclaration.objects.filter(
            citizen_id__in=citizen_ids, starts_on__lte=on, ends_on__gte=on, withdrawn_on__isnull=True
        )
        .filter(citizen__date_of_death__isnull=True)
        .filter(Q(returned_on__isnull=True) | Q(returned_on__gt=on))
        .values_list("citizen_id", flat=True)
    )


def citizen_search(
    *,
    actor: User,
    query: CitizenQuery,
    page: int = 1,
    page_size: int = 20,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> CitizenPage:
    """Search within the actor's area; every citizen shown on the page is logged as read."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    if query.is_empty():
        return CitizenPage(results=[], page=page, page_size=page_size, has_next=False, query=query)
    condition = _search_filter(query)
    offset = (page - 1) * page_size
    rows = list(
        _visible_citizens(actor)
        .filter(condition)
        # The commune's name is shown with its province: both come with the row, not one query each.
        .select_related("area_commune__parent")
        .order_by("name_key", "pk")[offset : offset + page_size + 1]
    )
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    # Who on this page is away today: one lookup of at most a page of ids on the declarations' citizen
    # index, after the search, so the search's own statement (and its plan) is the same as without it.
    away = frozenset(citizens_away([c.pk for c in rows])) if rows else frozenset()
    access_log_record(
        actor=actor,
        citizen_ids=[c.pk for c in rows],
        action=AccessLog.Action.SEARCH,
        channel=channel,
        purpose=purpose,
        detail=_search_detail(query, page),
    )
    return CitizenPage(
        results=rows,
        page=page,
        page_size=page_size,
        has_next=has_next,
        query=query,
        away=away,
        exact=_exact_match(query, rows, page=page, has_next=has_next),
    )


def _exact_match(query: CitizenQuery, rows: list[Citizen], *, page: int, has_next: bool) -> Citizen | None:
    """The record the search names by its own identifier alone (CitizenPage.exact), or None."""
    number = _number_searched(query.text)
    if page != 1 or has_next or len(rows) != 1 or number is None:
        return None
    found = rows[0]
    return found if number in (found.pin, found.old_id_number) else None


@dataclass
class ComparedRecords:
    """The records a form was compared with that the reader may see, and how many others there are."""

    shown: list[Citizen]
    outside: int


def citizens_compared(
    *,
    actor: User,
    citizen_ids: Collection[int],
    detail: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> ComparedRecords:
    """The records a form's rules found holding its PIN or CMND, or of its name and date of birth, for the
    officer who judges the warning: those of their area, logged as read for the duplicate check, and only
    the number of the others, as the verdict already told them that much."""
    ids = set(citizen_ids)
    shown = list(
        _visible_citizens(actor).filter(pk__in=ids).select_related("area_commune__parent").order_by("pk")
    )
    access_log_record(
        actor=actor,
        citizen_ids=[citizen.pk for citizen in shown],
        action=AccessLog.Action.SEARCH,
        channel=channel,
        purpose=DUPLICATE_CHECK_PURPOSE,
        detail=detail,
    )
    return ComparedRecords(shown=shown, outside=len(ids) - len(shown))


def _log_history_read(
    *, actor: User, citizen_id: int, purpose: str, channel: AccessLog.Channel, detail: str = ""
) -> None:
    """A read of a record's history: only of a citizen the actor may see, and logged."""
    if not _visible_citizens(actor).filter(pk=citizen_id).exists():
        raise NotFoundError("citizen")
    access_log_record(
        actor=actor,
        citizen_ids=[citizen_id],
        action=AccessLog.Action.HISTORY,
        channel=channel,
        purpose=purpose,
        detail=detail,
    )


def citizen_history(
    *, actor: User, citizen_id: int, purpose: str, channel: AccessLog.Channel = AccessLog.Channel.WEB
) -> list[RecordVersion]:
    """Every version of the record, newest first."""
    _log_history_read(actor=actor, citizen_id=citizen_id, purpose=purpose, channel=channel)
    return list(
        RecordVersion.objects.filter(entity=RecordVersion.Entity.CITIZEN, entity_id=citizen_id)
        .select_related("event")
        .order_by("-version")
    )


def citizen_state_on(
    *,
    actor: User,
    citizen_id: int,
    when: date | datetime,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> RecordVersion | None:
    """The record as it stood at the end of `when` (a day) or at that instant; None before it existed."""
    if isinstance(when, datetime):
        moment = when
    else:
        moment = timezone.make_aware(datetime.combine(when, datetime.max.time()))
    _log_history_read(
        actor=actor,
        citizen_id=citizen_id,
        purpose=purpose,
        channel=channel,
        detail=f"hồ sơ tại thời điểm {moment.isoformat()}",
    )
    return (
        RecordVersion.objects.filter(
            entity=RecordVersion.Entity.CITIZEN, entity_id=citizen_id, recorded_at__lte=moment
        )
        .order_by("-version")
        .first()
    )


# --- Temporary residents (người tạm trú) of the actor's area ----------------------------------------------


@dataclass
class StayPage:
    """A page of the current temporary residences of the actor's area, the ones past their end date first:
    those are the commune's to renew or end."""

    results: list[Residence]
    page: int
    page_size: int
    has_next: bool
    text: str = ""
    expired_only: bool = False
    today: date = field(default_factory=timezone.localdate)

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _stays(actor: User) -> QuerySet[Residence]:
    # A record merged away has no residences left (the merge moves them), so every stay found here is the
    # stay of a record in use; the filter keeps that true should a merge ever leave one behind.
    return Residence.objects.filter(stay_scope(actor), citizen__merged_into__isnull=True)


def _stay_text_filter(text: str) -> Q:
    """A person in the list of stays, found as the record search finds them (`_search_filter`): by a PIN
    typed in groups as it is read off a card ("079 090 413 733"), by the start of the full name, or by a
    single word as the given name people use at the door ("tuấn" finds Trần Minh Tuấn)."""
    number = ungrouped(text.strip())
    if PIN_RE.match(number):
        return Q(citizen__pin=number)
    key = fold_name(text)
    by_name = Q(citizen__name_key__startswith=key)
    if key and " " not in key:
        by_name |= Q(citizen__name_key__endswith=f" {key}")
    return by_name


def stay_home(stay: Residence) -> Residence | None:
    """The current permanent residence of a stay's citizen, as `_with_home` read it with the stay."""
    homes: list[Residence] = getattr(stay.citizen, "homes", [])
    return homes[0] if homes else None


def _stays_asked(actor: User, *, text: str, expired_only: bool, today: date) -> QuerySet[Residence]:
    problems = text_errors(text, field="q", max_length=MAX_QUERY_LENGTH)
    if problems:
        raise DomainError(problems)
    stays = _stays(actor)
    if text:
        stays = stays.filter(_stay_text_filter(text))
    if expired_only:
        stays = stays.filter(expires_on__lt=today)
    # By end date alone (then registration order), which the stays' partial indexes keep in order: a page
    # is read from an index without sorting the area's stays or reading their citizens.
    return stays.order_by("expires_on", "pk")


def _with_home(stays: QuerySet[Residence]) -> QuerySet[Residence]:
    """The stay, its citizen, the citizen's current permanent residence (shown as where they come from)
    and their declarations not closed (`stay_open_absences`), in four queries whatever the page's length."""
    return stays.select_related(
        "citizen", "commune__parent", "legacy_commune__parent__parent"
    ).prefetch_related(
        Prefetch(
            "citizen__residences",
            queryset=Residence.objects.filter(
                kind=Residence.Kind.PERMANENT, ended_on__isnull=True
            ).select_related("commune__parent"),
            to_attr="homes",
        ),
        Prefetch(
            "citizen__absences",
            queryset=AbsenceDeclaration.objects.filter(
                returned_on__isnull=True, withdrawn_on__isnull=True, ended_by_move=False
            ).order_by("-starts_on", "-pk"),
            to_attr="unclosed_absences",
        ),
    )


def stay_open_absences(stay: Residence) -> list[AbsenceDeclaration]:
    """The declarations of a stay's citizen that are not over (sắp đi, đang tạm vắng), newest first, as
    `_with_home` read them with the stay: those the police of the place of residence, the stay's commune
    among them, record returns to, correct and withdraw (Luật Cư trú 2020, art. 31)."""
    unclosed: list[AbsenceDeclaration] = getattr(stay.citizen, "unclosed_absences", [])
    return [
        a
        for a in unclosed
        if a.status in (AbsenceDeclaration.Status.UPCOMING, AbsenceDeclaration.Status.CURRENT)
    ]


def stays_list(
    *,
    actor: User,
    text: str = "",
    expired_only: bool = False,
    page: int = 1,
    page_size: int = 20,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    today: date | None = None,
) -> StayPage:
    """Người tạm trú trong địa bàn: the current temporary residences of the actor's area, optionally of one
    PIN or of names starting with `text` (tone marks optional). Every citizen shown is logged as read."""
    today = today or timezone.localdate()
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    text = text.strip()
    stays = _stays_asked(actor, text=text, expired_only=expired_only, today=today)
    offset = (page - 1) * page_size
    rows = list(_with_home(stays)[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    access_log_record(
        actor=actor,
        citizen_ids=[r.citizen_id for r in rows],
        action=AccessLog.Action.SEARCH,
        channel=channel,
        purpose=purpose,
        detail=f"người tạm trú trong địa bàn, trang {page}",
    )
    return StayPage(
        results=rows,
        page=page,
        page_size=page_size,
        has_next=has_next,
        text=text,
        expired_only=expired_only,
        today=today,
    )


STAYS_EXPORT_CHUNK = 2_000


def stays_export(
    *,
    actor: User,
    text: str = "",
    expired_only: bool = False,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    today: date | None = None,
    chunk_size: int = STAYS_EXPORT_CHUNK,
) -> Iterator[Residence]:
    """Every stay `stays_list` finds, in its order, for a file: read in chunks so that a province's stays
    never sit in memory, each chunk written to the access log (action "export") before it is handed on.
    The filter is checked before the first row, so that a refused one answers before any file begins."""
    today = today or timezone.localdate()
    stays = _with_home(_stays_asked(actor, text=text.strip(), expired_only=expired_only, today=today))
    return _stays_logged(
        in_chunks(stays, chunk_size),
        actor=actor,
        purpose=purpose,
        channel=channel,
    )


def _stays_logged(
    chunks: Iterator[list[Residence]], *, actor: User, purpose: str, channel: AccessLog.Channel
) -> Iterator[Residence]:
    for chunk in chunks:
        access_log_record(
            actor=actor,
            citizen_ids=[r.citizen_id for r in chunk],
            action=AccessLog.Action.EXPORT,
            channel=channel,
            purpose=purpose,
            detail="xuất danh sách người tạm trú trong địa bàn",
        )
        yield from chunk


def stay_get(
    *,
    actor: User,
    pk: int | None = None,
    citizen_id: int | None = None,
    pin: str | None = None,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> Residence:
    """One current temporary residence of the actor's area, with its citizen (of that id or PIN, when
    given: a path that names both must name a matching pair); the read is logged. What the police of the
    place a person stays at see of the record: who stays, where from, and the stay itself.

    Without `pk`, the stay in the area of the person of that id or PIN: a person holds one temporary
    residence at a time (registry.services.residence_register ends the other)."""
    if pk is None and citizen_id is None and pin is None:
        raise NotFoundError("residence")
    stays = _stays(actor)
    if pk is not None:
        stays = stays.filter(pk=pk)
    if citizen_id is not None:
        stays = stays.filter(citizen_id=citizen_id)
    if pin is not None:
        if not PIN_RE.match(pin):
            raise NotFoundError("residence")
        stays = stays.filter(citizen__pin=pin)
    stay = _with_home(stays).first()
    if stay is None:
        raise NotFoundError("residence")
    access_log_record(
        actor=actor,
        citizen_ids=[stay.citizen_id],
        action=AccessLog.Action.VIEW,
        channel=channel,
        purpose=purpose,
        detail="tạm trú trong địa bàn",
    )
    return stay


@dataclass(frozen=True)
class Reached:
    """A citizen as an officer reaches them to write: through the record (`stay` None), for a citizen of
    the officer's area, or through their stay in the area, for a person staying there whose record lies
    elsewhere. The police of the place a person stays at renew and end the stay (Luật Cư trú 2020, art.
    28-29) and take the person's absence declarations (art. 31: at the place of residence, a temporary
    one included), so the pages and calls of those writes reach the person both ways."""

    citizen: Citizen
    stay: Residence | None


def citizen_or_stay_get(
    *,
    actor: User,
    pk: int | None = None,
    pin: str | None = None,
    stay_id: int | None = None,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> Reached:
    """The citizen of that id or PIN through their record (citizen_get), or else through their current
    stay in the actor's area (stay_get; the stay `stay_id`, when the path names one); the read is logged
    either way. NotFoundError when the actor answers for neither."""
    try:
        return Reached(citizen_get(actor=actor, pk=pk, pin=pin, purpose=purpose, channel=channel), None)
    except NotFoundError:
        stay = stay_get(actor=actor, pk=stay_id, citizen_id=pk, pin=pin, purpose=purpose, channel=channel)
        return Reached(stay.citizen, stay)


def household_get(
    *, actor: User, pk: int, purpose: str, channel: AccessLog.Channel = AccessLog.Channel.WEB
) -> tuple[Household, list[HouseholdMember]]:
    """A household in the actor's area with its current members; each member shown is logged."""
    household = (
        Household.objects.filter(household_scope(actor))
        .filter(pk=pk)
        .select_related("commune__parent", "legacy_commune__parent__parent")
        .first()
    )
    if household is None:
        raise NotFoundError("household")
    members = list(
        household.memberships.filter(left_on__isnull=True)
        .select_related("citizen")
        .order_by("joined_on", "pk")
    )
    # Head first, then the others in the order they joined.
    members.sort(key=lambda m: m.relation_to_head != "head")
    access_log_record(
        actor=actor,
        citizen_ids=[m.citizen_id for m in members],
        action=AccessLog.Action.VIEW,
        channel=channel,
        purpose=purpose,
        detail=f"hộ {household.number}",
    )
    return household, members


def household_history(*, actor: User, pk: int) -> list[RecordVersion]:
    if not Household.objects.filter(household_scope(actor)).filter(pk=pk).exists():
        raise NotFoundError("household")
    return list(
        RecordVersion.objects.filter(entity=RecordVersion.Entity.HOUSEHOLD, entity_id=pk).order_by("-version")
    )


def units_by_id(ids: set[int]) -> dict[int, AdminUnit]:
    """Names for the unit ids that appear in history snapshots."""
    return {u.pk: u for u in AdminUnit.objects.filter(pk__in=ids).select_related("parent")}


def snapshot_unit_ids(snapshot: dict[str, Any]) -> set[int]:
    ids: set[int] = set()
    for residence in snapshot.get("residences", []):
        for key in ("commune_id", "legacy_commune_id"):
            if residence.get(key):
                ids.add(residence[key])
    return ids


@dataclass(frozen=True)
class AreaSummary:
    """Counts for the officer's home page; aggregate figures, not personal data, so not logged."""

    citizens: int
    deceased: int
    households: int


def area_summary(*, actor: User) -> AreaSummary:
    citizens = _visible_citizens(actor)
    return AreaSummary(
        citizens=citizens.count(),
        deceased=citizens.filter(date_of_death__isnull=False).count(),
        # A household every member has left stays in the registry with its history, but no longer
        # counts: nobody lives in it (services.residence_register).
        households=Household.objects.filter(household_scope(actor))
        .filter(Exists(HouseholdMember.objects.filter(household=OuterRef("pk"), left_on__isnull=True)))
        .count(),
    )


def citizen_merged_history(
    *, actor: User, citizen_id: int, purpose: str, channel: AccessLog.Channel = AccessLog.Channel.WEB
) -> list[tuple[CitizenMerge, list[RecordVersion]]]:
    """The merges into a record the actor may see, each with the absorbed record's own history, newest
    first: the history of every record that became this one stays readable from it."""
    if not _visible_citizens(actor).filter(pk=citizen_id).exists():
        raise NotFoundError("citizen")
    merges = list(
        CitizenMerge.objects.filter(kept_id=citizen_id).select_related("absorbed").order_by("-merged_at")
    )
    if not merges:
        return []
    access_log_record(
        actor=actor,
        citizen_ids=[citizen_id, *{m.absorbed_id for m in merges}],
        action=AccessLog.Action.HISTORY,
        channel=channel,
        purpose=purpose,
        detail="lịch sử các hồ sơ đã hợp nhất",
    )
    versions: dict[int, list[RecordVersion]] = {}
    for version in RecordVersion.objects.filter(
        entity=RecordVersion.Entity.CITIZEN, entity_id__in=[m.absorbed_id for m in merges]
    ).order_by("-version"):
        versions.setdefault(version.entity_id, []).append(version)
    return [(m, versions.get(m.absorbed_id, [])) for m in merges]
