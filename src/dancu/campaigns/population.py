"""Eligible populations counted from the registry: the denominators of campaign figures.

Each rule is a filter on living citizens; a population metric names one (`Metric.population_rule`) and
`services.population_count` stores its count per 2025 commune. The age test reads the partial birth date
strictly: a citizen counts as 14 or older only when every date their record allows is at least 14 years
back (born "2011" is not yet certainly 14 on 2-12-2025).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from dancu.accounts.models import User
from dancu.audit.models import EventType
from dancu.cards.models import Card, unexpired_on
from dancu.eid.models import EidAccount
from dancu.registry.models import Citizen, IdentityCardRecord

FULL_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
YEAR_MONTH = r"^[0-9]{4}-[0-9]{2}$"
CARD_AGE = 14


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def born_on_or_before(cutoff: date) -> Q:
    """Citizens whose birth date, at whatever precision it is known, lies entirely on or before `cutoff`."""
    year = f"{cutoff.year:04d}"
    return (
        Q(birth_date__lt=year)
        | Q(birth_date__regex=FULL_DATE, birth_date__gte=f"{year}-01-01", birth_date__lte=cutoff.isoformat())
        | Q(
            birth_date__regex=YEAR_MONTH,
            birth_date__gte=f"{year}-01",
            birth_date__lt=f"{year}-{cutoff.month:02d}",
        )
    )


def _living() -> QuerySet[Citizen]:
    """Living people with an area, one record each.

    A record merged into another (`merged_into` set) is the same person as the record it was merged
    into; it keeps the area of its last residence and loses its cards to the kept record, so counting it
    would count the person twice, and count them again as "due for a card".
    """
    return Citizen.objects.filter(
        date_of_death__isnull=True, merged_into__isnull=True, area_commune__isnull=False
    )


def residents(as_of: date) -> QuerySet[Citizen]:
    return _living()


def due_for_card(as_of: date) -> QuerySet[Citizen]:
    """Citizens aged 14 or more with no chip card valid on `as_of` (an old CMND does not count).

    A citizen declared missing is left out: card intake refuses them (`citizen.missing`), so no commune
    can bring them in, and counting them would hold every commune's percentage below what it can reach.
    """
    valid_card = IdentityCardRecord.objects.filter(
        citizen=OuterRef("pk"),
        kind__in=(IdentityCardRecord.Kind.CCCD, IdentityCardRecord.Kind.CAN_CUOC),
        issued_on__lte=as_of,
    ).filter(unexpired_on(as_of))
    return (
        _living()
        .filter(missing_declared_on__isnull=True)
        .filter(born_on_or_before(_years_before(as_of, CARD_AGE)))
        .filter(~Exists(valid_card))
    )


def due_for_eid(as_of: date) -> QuerySet[Citizen]:
    """Citizens aged 14 or more who could have a level-2 e-ID account registered on `as_of` and have none.

    The test is the one `eid.services.eid_account_register` applies, so that every citizen counted can be
    brought in at the desk: a record neither merged nor of a dead person, holding a card this platform
    issued that is active, not past its expiry date and carrying the citizen's PIN (`has_valid_card`: a
    card that still shows a PIN cancelled since does not open an account). A card known only from the
    registry (`IdentityCardRecord`, an older chip card) does not count, as registration would refuse it.
    The card must also have been issued by `as_of`, so that a count for an earlier day leaves out a card
    handed over later.

    Any account at all leaves the citizen out. A pending account is registered (the officer's work is
    done; the citizen's activation is theirs), and an active one needs nothing. A locked account is opened
    again at the desk (`eid_account_register` reopens it, event `eid.account.reopened`), but that is the
    same account, not a registration `eid_registered` counts: were its holder counted here, the commune
    would owe a registration it can never be credited with. A PIN already taken as another user's name,
    which registration refuses, leaves the citizen out for the same reason.

    A registration takes the citizen out at once (`LEFT_BY`), so a campaign does not measure its
    registrations against this count alone: `figures` adds back those registered since the campaign's
    first day.

    A citizen declared missing is left out: registration refuses them (`citizen.missing`, as card intake
    does) until the court's cancellation of the declaration is recorded, so no commune can bring them in.
    """
    valid_card = Card.objects.valid_on(as_of).filter(
        citizen=OuterRef("pk"), number=OuterRef("pin"), issued_on__lte=as_of
    )
    account = EidAccount.objects.filter(citizen=OuterRef("pk"))
    name_taken = User.objects.filter(username=OuterRef("pin"))
    return (
        _living()
        .filter(missing_declared_on__isnull=True)
        .filter(born_on_or_before(_years_before(as_of, CARD_AGE)))
        .filter(Exists(valid_card))
        .filter(~Exists(account), ~Exists(name_taken))
    )


# The events that take a citizen out of a population the moment they are recorded: the work a campaign
# counts against that population. A level-2 registration gives the citizen an account, and any account
# leaves `due_for_eid`. A card application does not leave `due_for_card` (the citizen is due until the card
# is issued, days later), nor does a form leave `residents`, so those populations have no entry.
LEFT_BY: dict[str, frozenset[str]] = {"due_for_eid": frozenset({EventType.EID_ACCOUNT_REGISTERED.value})}

RULES: dict[str, tuple[Callable[[date], QuerySet[Citizen]], Promise]] = {
    "residents": (residents, _("Dân số đang sinh sống")),
    "due_for_card": (due_for_card, _("Công dân từ 14 tuổi chưa có thẻ căn cước còn hạn")),
    "due_for_eid": (
        due_for_eid,
        _("Công dân từ 14 tuổi có thẻ căn cước còn giá trị, chưa có tài khoản định danh điện tử"),
    ),
}
