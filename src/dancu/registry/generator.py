"""A synthetic, realistic Vietnamese population for demos, tests and benchmarks (no real person in it).

Pure Python: nothing here touches the database. `generate_population` streams households one at a time
(constant memory, so a million people cost no more RAM than a hundred) and is fully deterministic: one
`random.Random(seed)` drives every draw and "today" is a parameter, so the same arguments always give
the same people, byte for byte. `registry.bulk` loads the stream into the database; `write_person_records_csv`
writes it as the person-records CSV of DESIGN.md.

What makes it realistic, in order of how much other code relies on it:
- Internal consistency ("đúng"): PINs agree with sex, birth year and birth registration province;
  parents are 18-45 years older than their children; spouses are married to each other; one head per
  household; cards follow the 14/25/40/60 renewal rule; the deceased have left their household.
- Frequencies: surnames (Nguyễn ~38 %), middle and given names by sex and generation, household sizes
  (mean ~3.5), Vietnam's age pyramid, ethnic groups and religions with a regional flavour.
- Legacy records: some older people know only their birth year (or year and month); households can be
  placed in the pre-2025 three-level units with their old address text kept.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from dancu.lib import pin as pin_codec
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import fold
from dancu.registry.models import FamilyLink, IdentityCardRecord, MaritalStatus, Relation, Sex
from dancu.registry.normalize import COLUMNS

# The date the population is "as of" when the caller names none: fixed, so that library users and tests
# get reproducible output. The `generate` command passes the real date unless told otherwise.
REFERENCE_DATE = date(2025, 7, 1)

# The oldest person the builders make: a widow of 95 living alone whose late husband was 15 years older
# (`_Builder.single` with `marry`'s largest age gap). Everyone else is younger.
OLDEST_AGE = 110
# The days a population may be "as of". Every person has a PIN, whose century digit encodes births from
# 1900 to 2399 only (lib/pin.py): the oldest person of a population as of 2011 was born in 1900 at the
# earliest, and nobody is born after the day the population is as of.
EARLIEST_TODAY = date(pin_codec.FIRST_BIRTH_YEAR + OLDEST_AGE + 1, 1, 1)
LATEST_TODAY = date(pin_codec.LAST_BIRTH_YEAR, 12, 31)

# Share of people born before 1975 whose birth date is known only to the year or to the month, as in
# the paper household books transcribed into the legacy systems.
DEFAULT_PARTIAL_BIRTH_SHARE = 0.15

# The day the chip CCCD became the "thẻ căn cước" (Luật Căn cước 2023 in force).
CAN_CUOC_SINCE = date(2024, 7, 1)
# The first 12-digit CCCD cards were issued in 2016; chip cards in a national campaign in 2021-2022.
CCCD_SINCE = date(2016, 1, 1)
CHIP_CAMPAIGN = (date(2021, 1, 1), date(2022, 12, 31))
# The last 9-digit CMND cards were issued in mid-2021; a CMND is valid for 15 years.
CMND_UNTIL = date(2021, 6, 30)
CMND_VALID_YEARS = 15
CARD_RENEWAL_AGES = (14, 25, 40, 60)
# From 1-7-2025 births are registered in the 34 new provinces, whose codes are a subset of the old ones.
MERGER_DATE = date(2025, 7, 1)

# Plain strings, not the model enums: the records go to COPY and CSV writers that want str values.
MALE: str = Sex.MALE.value
FEMALE: str = Sex.FEMALE.value

_FATHER: str = FamilyLink.Kind.FATHER.value
_MOTHER: str = FamilyLink.Kind.MOTHER.value
_CHILD: str = FamilyLink.Kind.CHILD.value
_SPOUSE: str = FamilyLink.Kind.SPOUSE.value

CCCD_ISSUER = "Cục Cảnh sát quản lý hành chính về trật tự xã hội"
CAN_CUOC_ISSUER = "Bộ Công an"


# Records ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommuneChoice:
    """A place where generated households live.

    `commune_id`/`province_id` are the 2025 AdminUnit primary keys the records point at. When
    `legacy_commune_id` is set the household is placed "legacy-only": its address was declared in the
    old units (that commune, its district and province, named in `origin_*`) and `commune_id` is the
    commune's default 2025 successor. For a 2025 placement the `origin_*` names, when known, are those of
    a legacy commune that became this one, and give native places (quê quán) their old-style text.
    """

    commune_id: int
    province_id: int
    # The 2025 commune's GSO code ("00097"): residence file numbers start with it.
    code: str
    name: str
    province_name: str
    # The 2025 province code ("01"); births since the mergers are registered under it.
    province_code: str
    # The pre-2025 province (3 digits, "036") where births of local people were registered: the prefix
    # of their PINs. It also sets the regional flavour: ethnic groups, surnames, hamlet names.
    birth_province_code: str
    legacy_commune_id: int | None = None
    origin_commune_name: str = ""
    origin_district_name: str = ""
    origin_province_name: str = ""

    @property
    def is_legacy(self) -> bool:
        return self.legacy_commune_id is not None

    @property
    def origin_text(self) -> str:
        """The three-level old name of the place, or the 2025 two-level one when the old is unknown."""
        if self.origin_commune_name:
            return f"{self.origin_commune_name}, {self.origin_district_name}, {self.origin_province_name}"
        return f"{self.name}, {self.province_name}"


@dataclass(slots=True)
class CardRecord:
    """An identity card the person holds or held; its number is the CMND or the PIN, set at load time."""

    kind: str
    issued_on: date
    expires_on: date | None
    issued_by: str


@dataclass(slots=True)
class TemporaryResidenceRecord:
    """Tạm trú: a stay of 30+ days elsewhere, granted for at most two years."""

    commune: CommuneChoice
    address_detail: str
    registered_on: date
    expires_on: date


@dataclass(slots=True)
class FamilyLinkRecord:
    """One direction of a family relation; `relative_key` is None for a relative known by name only."""

    citizen_key: int
    kind: str
    relative_key: int | None
    relative_name: str
    until: date | None = None


@dataclass(slots=True)
class PersonRecord:
    """One generated citizen. `key` numbers people 0.. in generation order, unique within a run."""

    key: int
    full_name: str
    sex: str
    birth_date: PartialDate
    # The true date of birth, even when the record knows only the year: it keeps ages consistent.
    true_birth: date
    birth_place: str
    birth_registration_place: str
    native_place: str
    ethnicity: str
    religion: str
    pin: str
    relation_to_head: str
    joined_on: date
    marital_status: str = MaritalStatus.SINGLE.value
    old_id_number: str | None = None
    date_of_death: date | None = None
    phone: str = ""
    email: str = ""
    father_key: int | None = None
    father_name: str = ""
    mother_key: int | None = None
    mother_name: str = ""
    spouse_key: int | None = None
    temporary: TemporaryResidenceRecord | None = None
    cards: list[CardRecord] = field(default_factory=list)

    @property
    def is_deceased(self) -> bool:
        return self.date_of_death is not None


@dataclass(slots=True)
class HouseholdRecord:
    """Hộ: the head first, then the other members; the deceased stay listed with their end date."""

    key: int
    commune: CommuneChoice
    address_detail: str
    address_original: str
    registered_on: date
    members: list[PersonRecord]

    @property
    def head(self) -> PersonRecord:
        return self.members[0]

    @property
    def address_text(self) -> str:
        """The full address as a person would write it: the old text for a legacy placement."""
        if self.address_original:
            return self.address_original
        return f"{self.address_detail}, {self.commune.name}, {self.commune.province_name}"

    def family_links(self) -> list[FamilyLinkRecord]:
        """Both directions of every parent, child and spouse relation among the members, plus the parents
        who are not in the registry, by name only (the registry keeps their names, art. 9)."""
        by_key = {person.key: person for person in self.members}
        links: list[FamilyLinkRecord] = []
        for person in self.members:
            for kind, relative_key, relative_name in (
                (_FATHER, person.father_key, person.father_name),
                (_MOTHER, person.mother_key, person.mother_name),
            ):
                if relative_key is not None:
                    parent = by_key[relative_key]
                    links.append(FamilyLinkRecord(person.key, kind, parent.key, parent.full_name))
                    links.append(FamilyLinkRecord(parent.key, _CHILD, person.key, person.full_name))
                elif relative_name:
                    links.append(FamilyLinkRecord(person.key, kind, None, relative_name))
            if person.spouse_key is not None:
                spouse = by_key[person.spouse_key]
                # A marriage ends with the death of either spouse.
                ended = person.date_of_death or spouse.date_of_death
                links.append(FamilyLinkRecord(person.key, _SPOUSE, spouse.key, spouse.full_name, ended))
        return links


_T = TypeVar("_T")


# random.Random's randint/choice/randrange go through several Python-level calls each; scaling one
# random() draw is several times cheaper, and the generator makes millions of draws. (The tiny bias of a
# float scaled to an integer is irrelevant for synthetic data.)
def _randint(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _randrange(rng: random.Random, *bounds: int) -> int:
    low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
    return low + int(rng.random() * (high - low))


def _choice(rng: random.Random, items: Sequence[_T]) -> _T:
    return items[int(rng.random() * len(items))]


def _names(text: str) -> tuple[str, ...]:
    """A name table written as one comma-separated string: compact, and names may contain spaces."""
    return tuple(name.strip() for name in text.split(","))


def _weights(text: str) -> tuple[tuple[str, float], ...]:
    """A weighted table written as "name weight, name weight"."""
    pairs = (item.strip().rsplit(" ", 1) for item in text.split(","))
    return tuple((name, float(weight)) for name, weight in pairs)


# Names ------------------------------------------------------------------------------------------------

# Surname shares in percent (Lê Trung Hoa's survey and later studies agree on the head of the list).
# Hoàng/Huỳnh and Vũ/Võ are the northern and southern pronunciations of one name: _surname_table shifts
# weight between them by region.
_SURNAMES_HEAD = _weights(
    "Nguyễn 38, Trần 11, Lê 9.5, Phạm 7, Hoàng 2.5, Huỳnh 2.5, Phan 4.5, Vũ 2, Võ 1.9, Đặng 2.1, Bùi 2, "
    "Đỗ 1.4, Hồ 1.3, Ngô 1.3, Dương 1, Lý 0.5"
)
# The long tail shares the remaining ~11.5 % with Zipf-like weights, in rough order of frequency.
_SURNAMES_TAIL = _names(
    "Đào, Đoàn, Trương, Trịnh, Đinh, Lâm, Mai, Cao, Hà, Lương, Tạ, Phùng, Vương, Tô, Lưu, Quách, Chu, "
    "Kiều, Thái, Tăng, Triệu, Văn, Châu, Đồng, Khúc, Nghiêm, Âu, Mạc, Thân, Giáp, La, Doãn, Kim, Tôn, "
    "Lại, Khổng, Từ, Bạch, Hứa, Lạc, Quan, Tống, Ninh, Đàm, Nông, Diệp, Ông, Phí, Mạnh, Viên, Cù, Lã, "
    "Trình, Hầu, Khương, Lục, Ma, Ứng, Thạch"
)

_MALE_MIDDLE_OLD = _weights(
    "Văn 70, Hữu 6, Đức 5, Đình 5, Công 4, Xuân 3, Minh 3, Quang 2, Ngọc 2, Thanh 2, Bá 1, Trọng 1"
)
_MALE_MIDDLE_MID = _weights(
    "Văn 40, Minh 8, Đức 7, Quang 6, Hữu 5, Công 5, Thanh 4, Ngọc 3, Xuân 3, Đình 3, Quốc 3, Tuấn 2, "
    "Mạnh 2, Trung 2, Thành 2, Anh 2, Hoàng 2, Việt 1"
)
_MALE_MIDDLE_YOUNG = _weights(
    "Văn 14, Minh 12, Gia 9, Đức 8, Quang 6, Hoàng 6, Anh 5, Bảo 6, Đăng 5, Tuấn 4, Quốc 4, Nhật 4, "
    "Thành 3, Hữu 3, Duy 3, Khánh 3, Trung 2, Hải 2, Phúc 2, Thiên 2"
)
_FEMALE_MIDDLE_OLD = _weights("Thị 88, Ngọc 3, Thanh 2, Kim 2, Thu 2, Xuân 1, Hồng 1, Bích 1")
_FEMALE_MIDDLE_MID = _weights(
    "Thị 60, Ngọc 6, Thu 5, Thanh 5, Kim 4, Phương 3, Hồng 3, Minh 2, Bích 2, Thúy 2, Hải 2, Mỹ 2, "
    "Diệu 1, Hoài 1, Quỳnh 1, Lan 1"
)
_FEMALE_MIDDLE_YOUNG = _weights(
    "Thị 25, Ngọc 10, Bảo 8, Khánh 7, Minh 7, Phương 6, Thảo 4, Gia 5, Hà 4, Thu 4, Thanh 4, Mai 3, "
    "Quỳnh 3, Diệu 3, Tường 2, Hoài 2, Tú 2, Kim 2"
)

_MALE_GIVEN_OLD = _names(
    "Bảy, Bình, Cẩn, Chiến, Chín, Công, Cường, Dần, Dũng, Đạo, Điền, Định, Đông, Được, Hải, Hiền, Hòa, "
    "Hợi, Hùng, Kha, Khải, Lâm, Lập, Lộc, Lợi, Lực, Mão, Minh, Nam, Năm, Nghĩa, Ngọ, Phụng, Phúc, Quang, "
    "Quế, Sáu, Sơn, Sửu, Tám, Tân, Thắng, Thành, Thìn, Thọ, Thông, Tý, Tiến, Toàn, Tuất, Tư, Tường, Vinh, "
    "Xuân, Hưởng, Khoát, Quý, Thiệu, Ngạn, Bổng, Chức, Khôi, Thuận, Trọng, Hợp"
)
_MALE_GIVEN_MID = _names(
    "An, Anh, Bình, Cảnh, Chiến, Công, Cường, Dũng, Duy, Dương, Đạt, Đại, Điệp, Định, Đông, Đức, Giang, "
    "Hà, Hải, Hào, Hậu, Hiếu, Hiển, Hiệp, Hòa, Hoàng, Hùng, Huy, Hưng, Khánh, Khoa, Kiên, Lâm, Linh, "
    "Long, Luân, Mạnh, Minh, Nam, Nghĩa, Nguyên, Nhân, Phong, Phúc, Phương, Quân, Quang, Quý, Quyết, "
    "Sang, Sơn, Tài, Tâm, Tân, Thắng, Thành, Thanh, Thiện, Thịnh, Thuận, Tiến, Toàn, Trí, Trung, Trường, "
    "Tú, Tuấn, Tùng, Văn, Việt, Vinh, Vũ, Lộc, Phát, Tiệp, Hoan"
)
_MALE_GIVEN_YOUNG = _names(
    "An, Anh, Bách, Bảo, Bình, Dũng, Duy, Dương, Đạt, Đăng, Đức, Hải, Hiếu, Hoàng, Huy, Hùng, Hưng, "
    "Khang, Khánh, Khải, Khoa, Khôi, Kiên, Lâm, Long, Lộc, Minh, Nam, Nguyên, Nhật, Phát, Phong, Phúc, "
    "Quân, Quang, Sơn, Tài, Thành, Thiện, Thịnh, Tín, Toàn, Trí, Trung, Tuấn, Tùng, Vinh, Vũ, Hào, Kiệt, "
    "Luân, Nhân, Phú, Sang, Tâm, Thắng, Tiến, Triết, Việt, Anh Tú, Gia Bảo, Hoàng Nam, Minh Anh"
)
_FEMALE_GIVEN_OLD = _names(
    "Bích, Bưởi, Cúc, Dung, Đào, Gấm, Hạnh, Hằng, Hiền, Hoa, Hồng, Huệ, Hương, Hường, Lài, Lan, Liên, "
    "Liễu, Loan, Lụa, Lý, Mai, Mận, Mơ, Mười, Nga, Ngát, Nhàn, Nhung, Nụ, Oanh, Phượng, Sen, Sương, Tâm, "
    "Thắm, Thoa, Thơm, Thu, Thủy, Tuyết, Tươi, Vân, Xuân, Yến, Hảo, Hợi, Huyền, Ngọc, Quế, Tám, Tư"
)
_FEMALE_GIVEN_MID = _names(
    "Anh, Ánh, Bích, Châu, Chi, Diệp, Diệu, Dung, Duyên, Giang, Hà, Hạnh, Hằng, Hiền, Hoa, Hồng, Huệ, "
    "Hương, Huyền, Lan, Liên, Linh, Loan, Ly, Mai, My, Nga, Ngân, Ngọc, Nguyệt, Nhung, Oanh, Phương, "
    "Phượng, Quyên, Quỳnh, Tâm, Thảo, Thắm, Thanh, Thơ, Thu, Thủy, Thúy, Thư, Trang, Trâm, Trinh, Tuyết, "
    "Uyên, Vân, Xuân, Yến, Hậu, Lệ, Lựu, Nhàn, Trà, Vi, Hoài, Hải, Kiều, Mỹ"
)
_FEMALE_GIVEN_YOUNG = _names(
    "An, Anh, Ánh, Châu, Chi, Di, Diệp, Giang, Giao, Hà, Hân, Hiền, Hương, Khuê, Lam, Linh, Ly, Mai, My, "
    "Ngân, Ngọc, Nhi, Như, Nhung, Phương, Quyên, Quỳnh, Tâm, Thảo, Thư, Trâm, Trang, Uyên, Vy, Yến, Hằng, "
    "Huyền, Loan, Thy, Tiên, Trinh, Vân, Xuân, Lan, Hạnh, Bảo Anh, Khánh Linh, Minh Châu, Ngọc Hân, "
    "Thùy Dương"
)

# Naming customs of some ethnic groups, where they differ from the Kinh pattern "surname middle given".
_TAY_NUNG_SURNAMES = _names("Hoàng, Nông, Lương, Hà, Ma, Triệu, Lý, Đàm, Bế, Lục, Vi, Lăng, Mã")
_MUONG_SURNAMES = _names("Bùi, Đinh, Quách, Hà, Xa, Cao, Trương, Bạch")
_THAI_SURNAMES = _names("Lò, Lường, Cầm, Quàng, Vi, Hà, Lừ, Tòng, Lê, Sầm")
_HOA_SURNAMES = _names("Lý, Trần, Lâm, Quách, Hứa, Huỳnh, Lưu, Mạc, Tăng, Trương, Dương, Châu")
_DAO_SURNAMES = _names("Triệu, Bàn, Đặng, Lý, Chảo, Phùng, Tẩn, Chu")
_HMONG_SURNAMES = _names("Giàng, Sùng, Thào, Vàng, Lầu, Mùa, Hạng, Ly, Lý, Má, Tráng, Cứ")
_HMONG_MALE = _names("Pháo, Chứ, Dình, Tủa, Lử, Chính, Páo, Súa, Pà, Sính, Dê, Chu, Của, Nhè")
_HMONG_FEMALE = _names("Mỷ, Dế, Dua, Mai, Sùng, Chá, Mỉ, Pàng, Xúa, Dính, Máy, Lan, Sua")
_KHMER_SURNAMES = _names("Thạch, Danh, Sơn, Kim, Lâm, Chau, Lý, Huỳnh, Trần, Triệu")
_KHMER_MALE = _names("Sóc, Phên, Sa Rum, Ry, Kha, Sà Rết, Thươl, Sô Phên, Nô, Chanh, Sa Ra, Phol")
_KHMER_FEMALE = _names("Sa Ry, Thươl, Sà Phone, Mây, Sóc Kha, Ni, Chanh Thu, Sa Rươl, Srây, Phương")
_EDE_SURNAMES = _names("Niê, Mlô, Êban, Ktla, Byă, Ayun, Buôn Yă, Adrơng, Hwing, Knul, Êya")
_EDE_GIVEN = _names("Biêr, Moan, Hen, Bli, Ngơn, Zuăn, Khuê, Jôn, Krông, Thu, Lim, Nhi, Wơn")
_JRAI_SURNAMES = _names("Ksor, Rơ Mah, Siu, Rơ Châm, Nay, Kpă, Rah Lan, Puih, Rơ Lan")
_JRAI_GIVEN = _names("Phước, Blơi, Hnil, Thuyên, Hin, Thu, Yơn, Luyn, Đoan, Dũng, Kim, Bơ")
_CHAM_SURNAMES = _names("Đạt, Thành, Thiên, Trượng, Quảng, Lộ, Bá, Châu, Từ, Kiều")


def _cumulative(weights: Iterable[float]) -> list[float]:
    return list(itertools.accumulate(weights))


class _Weighted:
    """Weighted choice with the cumulative table built once (random.choices rebuilds it every call)."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Iterable[tuple[str, float]]) -> None:
        items, weights = zip(*pairs, strict=True)
        self.items: tuple[str, ...] = items
        self.cum = _cumulative(weights)
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


def _surname_table(*, south: bool) -> _Weighted:
    pairs = dict(_SURNAMES_HEAD)
    # "Huỳnh" and "Võ" are how the south says "Hoàng" and "Vũ" (a 19th-century naming taboo); keep the
    # national totals but give each region its own spelling.
    if south:
        pairs["Hoàng"], pairs["Huỳnh"] = 1.0, 4.0
        pairs["Vũ"], pairs["Võ"] = 0.6, 3.3
    else:
        pairs["Hoàng"], pairs["Huỳnh"] = 4.5, 0.5
        pairs["Vũ"], pairs["Võ"] = 3.0, 0.9
    # A flattened Zipf law (weight 1/(rank+5)) gives the first of the tail just under 1 % and the last
    # under 0.1 %, about what the surveys find for Đào and for Ứng.
    tail_share = 100.0 - sum(pairs.values())
    harmonic = sum(1 / (rank + 5) for rank in range(len(_SURNAMES_TAIL)))
    tail = [(name, tail_share / (rank + 5) / harmonic) for rank, name in enumerate(_SURNAMES_TAIL)]
    return _Weighted([*pairs.items(), *tail])


_SURNAMES_NORTH = _surname_table(south=False)
_SURNAMES_SOUTH = _surname_table(south=True)
_MIDDLE = {
    (MALE, 0): _Weighted(_MALE_MIDDLE_OLD),
    (MALE, 1): _Weighted(_MALE_MIDDLE_MID),
    (MALE, 2): _Weighted(_MALE_MIDDLE_YOUNG),
    (FEMALE, 0): _Weighted(_FEMALE_MIDDLE_OLD),
    (FEMALE, 1): _Weighted(_FEMALE_MIDDLE_MID),
    (FEMALE, 2): _Weighted(_FEMALE_MIDDLE_YOUNG),
}
_GIVEN = {
    (MALE, 0): _MALE_GIVEN_OLD,
    (MALE, 1): _MALE_GIVEN_MID,
    (MALE, 2): _MALE_GIVEN_YOUNG,
    (FEMALE, 0): _FEMALE_GIVEN_OLD,
    (FEMALE, 1): _FEMALE_GIVEN_MID,
    (FEMALE, 2): _FEMALE_GIVEN_YOUNG,
}


def _generation(birth_year: int) -> int:
    """Naming fashions by generation: born before 1965, 1965-1994, from 1995."""
    if birth_year < 1965:
        return 0
    if birth_year < 1995:
        return 1
    return 2


def _kinh_name(rng: random.Random, surname: str, sex: str, birth_year: int) -> str:
    generation = _generation(birth_year)
    middle_table = _MIDDLE[(sex, generation)]
    roll = rng.random()
    if roll < 0.03:
        middles: list[str] = []  # "Lê Hoa", "Trần Tâm": no middle name at all.
    elif roll < 0.09:
        # Two middle names: "Nguyễn Thị Thu Hà", "Phạm Văn Minh Tuấn".
        first = middle_table.pick(rng)
        second = middle_table.pick(rng)
        middles = [first] if second == first else [first, second]
    else:
        middles = [middle_table.pick(rng)]
    given = _choice(rng, _GIVEN[(sex, generation)])
    if given in middles:
        middles.remove(given)
    return " ".join([surname, *middles, given])


# Regions, ethnic groups and religions -------------------------------------------------------------------

# Pre-2025 province codes by region; the household's birth registration province picks the region.
_NORTHERN_MOUNTAINS = frozenset(
    {"002", "004", "006", "008", "010", "011", "012", "014", "015", "019", "020", "024", "025"}
)
_HOA_BINH = "017"
_THANH_NGHE = frozenset({"038", "040"})
_CENTRAL_HIGHLANDS = frozenset({"062", "064", "066", "067", "068"})
_CHAM_COAST = frozenset({"058", "060"})
_KHMER_HEARTLAND = frozenset({"084", "094"})
_MEKONG = frozenset({"080", "082", "083", "086", "087", "089", "091", "092", "093", "095", "096"})
_SOUTH_EAST = frozenset({"070", "072", "074", "075", "077", "079"})
_CATHOLIC_DELTA = frozenset({"036", "037"})

# Ethnic codes from reference.ETHNICITIES.
KINH, TAY, THAI, HOA, KHMER, MUONG, NUNG, HMONG, DAO, JRAI = (
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "07",
    "08",
    "09",
    "10",
)
EDE, BANA, XODANG, CHAM, COHO, MNONG, RAGLAI, KHMU = "12", "13", "14", "17", "16", "20", "21", "29"

_ETHNIC_MIX: dict[str, _Weighted] = {
    "mountains": _Weighted([(KINH, 42), (TAY, 16), (THAI, 12), (HMONG, 11), (NUNG, 9), (DAO, 7), (MUONG, 3)]),
    "hoa_binh": _Weighted([(MUONG, 62), (KINH, 27), (THAI, 5), (TAY, 3), (DAO, 2), (HMONG, 1)]),
    "thanh_nghe": _Weighted([(KINH, 85), (THAI, 7), (MUONG, 6), (HMONG, 1), (KHMU, 1)]),
    "highlands": _Weighted(
        [(KINH, 64), (JRAI, 10), (EDE, 9), (BANA, 5), (XODANG, 4), (COHO, 4), (MNONG, 2), (TAY, 1), (NUNG, 1)]
    ),
    "cham_coast": _Weighted([(KINH, 86), (CHAM, 10), (RAGLAI, 4)]),
    "khmer": _Weighted([(KINH, 66), (KHMER, 31), (HOA, 3)]),
    "mekong": _Weighted([(KINH, 91), (KHMER, 6), (HOA, 2), (CHAM, 1)]),
    "south_east": _Weighted([(KINH, 93), (HOA, 5), (KHMER, 1), (NUNG, 1)]),
    "lowland": _Weighted([(KINH, 98.5), (MUONG, 0.5), (TAY, 0.4), (HOA, 0.3), (NUNG, 0.3)]),
}

# Religion codes from reference.RELIGIONS: 00 none, 01 Phật giáo, 02 Công giáo, 03 Tin lành, 04 Cao Đài,
# 05 Phật giáo Hòa Hảo, 06 Hồi giáo, 13 Bà-la-môn giáo. Shares follow the 2019 census by group and region.
_RELIGION_MIX: dict[str, _Weighted] = {
    "kinh_north": _Weighted([("00", 87), ("02", 7), ("01", 5), ("03", 1)]),
    "kinh_catholic": _Weighted([("00", 70), ("02", 25), ("01", 5)]),
    "kinh_south": _Weighted([("00", 74), ("01", 8), ("02", 8), ("04", 4), ("05", 5), ("03", 1)]),
    "khmer": _Weighted([("01", 92), ("00", 8)]),
    "hoa": _Weighted([("00", 52), ("01", 42), ("02", 6)]),
    "hmong": _Weighted([("00", 74), ("03", 21), ("02", 5)]),
    "highlands": _Weighted([("00", 45), ("03", 38), ("02", 17)]),
    "cham": _Weighted([("13", 55), ("06", 40), ("00", 5)]),
    "other": _Weighted([("00", 93), ("03", 4), ("02", 3)]),
}


def _region(birth_province_code: str) -> str:
    code = birth_province_code
    if code in _NORTHERN_MOUNTAINS:
        return "mountains"
    if code == _HOA_BINH:
        return "hoa_binh"
    if code in _THANH_NGHE:
        return "thanh_nghe"
    if code in _CENTRAL_HIGHLANDS:
        return "highlands"
    if code in _CHAM_COAST:
        return "cham_coast"
    if code in _KHMER_HEARTLAND:
        return "khmer"
    if code in _MEKONG:
        return "mekong"
    if code in _SOUTH_EAST:
        return "south_east"
    return "lowland"


def _southern_surnames(province_code: str) -> bool:
    """From Đà Nẵng southwards people say Huỳnh and Võ (GSO codes are numbered north to south)."""
    return province_code[-2:] >= "48"


def _is_south(province_code: str) -> bool:
    """The South-East and the Mekong delta, from Bình Phước on: hamlets are "ấp", and Cao Đài and Hòa
    Hảo are at home."""
    return province_code[-2:] >= "70"


_RELIGION_OF_GROUP = {
    KHMER: "khmer",
    HOA: "hoa",
    HMONG: "hmong",
    EDE: "highlands",
    JRAI: "highlands",
    BANA: "highlands",
    XODANG: "highlands",
    CHAM: "cham",
}
_GROUP_SURNAMES = {
    TAY: _TAY_NUNG_SURNAMES,
    NUNG: _TAY_NUNG_SURNAMES,
    MUONG: _MUONG_SURNAMES,
    THAI: _THAI_SURNAMES,
    HOA: _HOA_SURNAMES,
    DAO: _DAO_SURNAMES,
    HMONG: _HMONG_SURNAMES,
    KHMER: _KHMER_SURNAMES,
    EDE: _EDE_SURNAMES,
    JRAI: _JRAI_SURNAMES,
    CHAM: _CHAM_SURNAMES,
}


def _religion(rng: random.Random, ethnicity: str, province_code: str) -> str:
    if ethnicity == KINH:
        if province_code in _CATHOLIC_DELTA:
            return _RELIGION_MIX["kinh_catholic"].pick(rng)
        return _RELIGION_MIX["kinh_south" if _is_south(province_code) else "kinh_north"].pick(rng)
    return _RELIGION_MIX[_RELIGION_OF_GROUP.get(ethnicity, "other")].pick(rng)


def _family_surname(rng: random.Random, ethnicity: str, province_code: str) -> str:
    """The surname a family line carries, by the customs of its ethnic group."""
    pool = _GROUP_SURNAMES.get(ethnicity)
    # Many minority families carry common Kinh surnames too; a third of them draw from the national table.
    if pool is None or rng.random() < 0.3:
        return (_SURNAMES_SOUTH if _southern_surnames(province_code) else _SURNAMES_NORTH).pick(rng)
    return _choice(rng, pool)


def _person_name(rng: random.Random, surname: str, sex: str, birth_year: int, ethnicity: str) -> str:
    """A full name in the order and style of the person's group."""
    male = sex == MALE
    if ethnicity == HMONG and surname in _HMONG_SURNAMES:
        # "Giàng A Pháo", "Sùng Seo Chải", "Vàng Thị Dế".
        middle = _choice(rng, ("A", "Seo", "Văn")) if male else "Thị"
        return f"{surname} {middle} {_choice(rng, _HMONG_MALE if male else _HMONG_FEMALE)}"
    if ethnicity == THAI and surname in _THAI_SURNAMES:
        return f"{surname} {'Văn' if male else 'Thị'} {_choice(rng, _GIVEN[(sex, _generation(birth_year))])}"
    if ethnicity == KHMER and surname in _KHMER_SURNAMES:
        # "Thạch Sô Phên", "Sơn Thị Sa Rươl".
        given = _choice(rng, _KHMER_MALE if male else _KHMER_FEMALE)
        return f"{surname} {given}" if male else f"{surname} Thị {given}"
    if ethnicity == EDE and surname in _EDE_SURNAMES:
        # The Ê-đê name the person first and the clan last, with Y for men and H' for women: "Y Moan
        # Ênuôl", "H'Hen Niê".
        given = _choice(rng, _EDE_GIVEN)
        return f"Y {given} {surname}" if male else f"H'{given} {surname}"
    if ethnicity == JRAI and surname in _JRAI_SURNAMES:
        given = _choice(rng, _JRAI_GIVEN)
        return f"{surname} {given}" if male else f"{surname} H'{given}"
    return _kinh_name(rng, surname, sex, birth_year)


# Places and addresses -----------------------------------------------------------------------------------

_STREETS = _names(
    "Lê Lợi, Trần Hưng Đạo, Nguyễn Trãi, Hai Bà Trưng, Lý Thường Kiệt, Quang Trung, Lê Duẩn, Nguyễn Huệ, "
    "Hùng Vương, Phan Chu Trinh, Điện Biên Phủ, Lê Thánh Tông, Trần Phú, Ngô Quyền, Nguyễn Du, Bà Triệu, "
    "Phan Bội Châu, Lý Tự Trọng, Nguyễn Văn Cừ, Tôn Đức Thắng, Võ Thị Sáu, Nguyễn Thái Học, Lê Hồng, "
    "Phong, Hoàng Diệu, Nguyễn Chí Thanh, Trường Chinh, Cách Mạng Tháng Tám, Nguyễn Đình Chiểu, Pasteur, "
    "Lạc Long Quân, Âu Cơ, Kim Mã, Giải Phóng, Láng, Tây Sơn, Chu Văn An, Nguyễn Thị Minh Khai, Phạm Văn, "
    "Đồng, Võ Văn Kiệt, Mai Hắc Đế, Hàng Bạc, Đội Cấn"
)
_VILLAGE_WORDS = _names(
    "Đông, Tây, Nam, Bắc, Trung, Thượng, Hạ, Phú Mỹ, An Lạc, Tân Lập, Hòa Bình, Đoài, Yên Phú, Phúc Lộc, "
    "Cẩm Bào, Đồng Tâm, Văn Phú, Hưng Thịnh, Quyết Tiến, Thành Công"
)
_SOUTH_HAMLETS = _names(
    "Bình Thạnh, Tân Hòa, Long Hưng, Phước Lợi, Mỹ Thuận, An Bình, Thới An, Hòa Lợi, Tân Phú, Vĩnh Thạnh, "
    "Phú Hòa, Bình Đông, Hưng Lợi, Mỹ Hòa"
)
_HIGHLAND_VILLAGES = _names("Ea Tu, Kô Tam, Đăk Ring, Ia Băng, Kon Klor, Chư Pả, Ma Đoan, Tơ Vơn")
_MOUNTAIN_VILLAGES = _names("Nà Phặc, Nà Lừa, Pác Bó, Khau Vai, Nậm Pồ, Huổi Một, Co Mạ, Lũng Cú, Tả Van")


def _address_detail(rng: random.Random, commune: CommuneChoice) -> str:
    """The part of an address below the commune: house, lane and street in a town, village in the country."""
    urban = commune.name.startswith(("Phường", "Thị trấn"))
    south = _is_south(commune.birth_province_code)
    if urban:
        street = _choice(rng, _STREETS)
        number = _randint(rng, 1, 350)
        style = rng.random()
        if south:
            if style < 0.4:
                return f"{number}/{_randint(rng, 1, 60)} đường {street}, khu phố {_randint(rng, 1, 12)}"
            return f"Số {number}, đường {street}, khu phố {_randint(rng, 1, 12)}"
        if style < 0.45:
            return f"Số {_randint(rng, 1, 80)}, ngõ {_randint(rng, 1, 400)}, phố {street}"
        if style < 0.7:
            return f"Số {number}, phố {street}"
        return f"Số {number}, đường {street}, tổ dân phố {_randint(rng, 1, 30)}"
    house = f"Số {_randint(rng, 1, 200)}, " if rng.random() < 0.3 else ""
    if south:
        hamlet = _choice(rng, (f"Ấp {_randint(rng, 1, 9)}", f"Ấp {_choice(rng, _SOUTH_HAMLETS)}"))
        return f"{house}{hamlet}"
    region = _region(commune.birth_province_code)
    if region in {"mountains", "hoa_binh"} and rng.random() < 0.5:
        return f"{house}Bản {_choice(rng, _MOUNTAIN_VILLAGES)}"
    if region == "highlands" and rng.random() < 0.4:
        return f"{house}{_choice(rng, ('Buôn', 'Làng', 'Plei'))} {_choice(rng, _HIGHLAND_VILLAGES)}"
    village = _choice(
        rng,
        (
            f"Thôn {_choice(rng, _VILLAGE_WORDS)}",
            f"Xóm {_randint(rng, 1, 15)}",
            f"Thôn {_randint(rng, 1, 12)}",
        ),
    )
    return f"{house}{village}"


# Dates ------------------------------------------------------------------------------------------------


def _add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February in common years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _random_day(rng: random.Random, start: date, end: date) -> date:
    """A day in [start, end]; `start` itself when the range is empty."""
    span = (end - start).days
    return start if span <= 0 else start + timedelta(days=_randint(rng, 0, span))


# Vietnam's population by five-year age group (GSO 2024 estimates, percent): the share of heads and older
# generations is drawn to reproduce it once children are added by the household builders.
_AGE_PYRAMID = (7.0, 8.0, 8.0, 7.0, 6.9, 7.5, 8.1, 8.0, 7.5, 7.0, 6.0, 5.5, 4.7, 3.6, 2.4, 1.4, 0.9, 0.5, 0.3)
AGE_PYRAMID: tuple[float, ...] = tuple(share / sum(_AGE_PYRAMID) for share in _AGE_PYRAMID)


# Unique numbers ---------------------------------------------------------------------------------------


class _Permutation:
    """A keyed bijection of [0, side²): four Feistel rounds, so consecutive counters give scattered numbers.

    Drawing serials at random and remembering them would need memory proportional to the population;
    numbering people per prefix and scrambling the number needs a counter per prefix only.
    """

    __slots__ = ("keys", "side")

    def __init__(self, rng: random.Random, side: int) -> None:
        self.side = side
        self.keys = [
            (_randrange(rng, 1, side), _randrange(rng, side), _randrange(rng, side)) for _ in range(4)
        ]

    def __call__(self, value: int) -> int:
        side = self.side
        left, right = divmod(value, side)
        for a, b, c in self.keys:
            # Any round function gives a bijection in a Feistel network; this one mixes well enough.
            left, right = right, (left + (right * right * a + right * b + c)) % side
        return left * side + right


class _UniqueNumbers:
    """PIN serials unique per prefix, and CMND numbers unique per run, with bounded memory."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._serials = _Permutation(rng, 1000)
        self._cmnd = _Permutation(rng, 10_000)
        self._offset = _randrange(rng, 1_000_000)
        self._pin_counters: dict[str, int] = {}
        self._cmnd_counters: dict[str, int] = {}

    def pin(self, *, place_code: str, sex: str, birth_year: int) -> str:
        prefix = pin_codec.prefix(place_code=place_code, sex=sex, birth_year=birth_year)
        while True:
            count = self._pin_counters.get(prefix, 0)
            if count >= 999_999:
                raise ValueError(f"more than 999,999 people with PIN prefix {prefix}")
            self._pin_counters[prefix] = count + 1
            # Each prefix starts its walk through the permutation at a different point (7919 is just a
            # prime that spreads neighbouring prefixes apart); the walk never repeats within a prefix.
            serial = self._serials((count + int(prefix) * 7919 + self._offset) % 1_000_000)
            if serial != 0:  # 000000 is not a valid serial.
                return f"{prefix}{serial:06d}"

    def cmnd(self, birth_province_code: str) -> str:
        # A CMND began with a code of the issuing province; only the broad pattern is kept here: 0-1 in
        # the north, 1-2 in the centre, 2-3 in the south. Numbers are unique per first digit.
        number = int(birth_province_code)
        lead = "01" if number < 44 else "12" if number < 70 else "23"
        first = lead[0] if self._rng.random() < 0.5 else lead[1]
        count = self._cmnd_counters.get(first, 0)
        self._cmnd_counters[first] = count + 1
        return f"{first}{self._cmnd((count + int(first) * 7_777_777) % 100_000_000):08d}"


# Households ---------------------------------------------------------------------------------------------

# Household types with their shares (2019 census: mean size 3.5; one person 11 %, two 20 %).
_HOUSEHOLD_KINDS = _Weighted(
    [("single", 10), ("couple", 15), ("nuclear", 45), ("single_parent", 6), ("three_generations", 24)]
)
# Children per couple still living at home.
_CHILDREN = _Weighted([("1", 28), ("2", 50), ("3", 17), ("4", 5)])
_MIGRANT_SHARE = 0.18  # adults whose birth was registered in another province
# Mobile network prefixes in use since the 2018 renumbering (0[35789]x).
_PHONE_PREFIXES = _names(
    "032, 033, 034, 035, 036, 037, 038, 039, 052, 056, 058, 059, 070, 076, 077, 078, 079, 081, 082, 083, "
    "084, 085, 086, 088, 089, 090, 091, 093, 094, 096, 097, 098, 099"
)
_PROVINCE_LIST = tuple(pin_codec.PROVINCE_CODES)


@dataclass(slots=True, eq=False)
class _Draft:
    """A person while their household is being built; `PersonRecord` is made once everything is known."""

    sex: str
    birth: date
    surname: str
    ethnicity: str
    relation: str = Relation.OTHER.value
    father: _Draft | None = None
    mother: _Draft | None = None
    spouse: _Draft | None = None
    marital: str = MaritalStatus.SINGLE.value
    deceased: bool = False
    migrant: bool = False
    # A child of a single mother whose birth record names no father.
    father_unknown: bool = False
    name: str = ""


class _Builder:
    """All the state of one generation run: the RNG, the unique-number pools and the key counters."""

    def __init__(
        self,
        *,
        seed: int,
        communes: Sequence[CommuneChoice],
        today: date,
        partial_birth_share: float,
        legacy_share: float | None,
    ) -> None:
        self.rng = random.Random(seed)
        self.communes = communes
        self.current = [commune for commune in communes if not commune.is_legacy]
        self.legacy = [commune for commune in communes if commune.is_legacy]
        self.legacy_share = legacy_share if self.current and self.legacy else None
        self.today = today
        self.partial_birth_share = partial_birth_share
        self.numbers = _UniqueNumbers(self.rng)
        self.person_keys = itertools.count()
        self.household_keys = itertools.count()

    # Drawing people -------------------------------------------------------------------------------------

    def age(self, person: _Draft) -> int:
        return _age_on(person.birth, self.today)

    def birth_for_age(self, age: int) -> date:
        """A birth date for someone `age` full years old today."""
        latest = _add_years(self.today, -age)
        earliest = _add_years(self.today, -age - 1) + timedelta(days=1)
        return _random_day(self.rng, earliest, latest)

    def adult(self, *, sex: str, age: int, ethnicity: str, region_code: str) -> _Draft:
        surname = _family_surname(self.rng, ethnicity, region_code)
        return _Draft(sex=sex, birth=self.birth_for_age(age), surname=surname, ethnicity=ethnicity)

    def marry(self, person: _Draft, *, region_code: str, age_gap: int | None = None) -> _Draft:
        """A new spouse of the other sex; husbands are on average three years older (2019 census).

        `age_gap` is the husband's age minus the wife's; drawn when not given.
        """
        rng = self.rng
        gap = age_gap if age_gap is not None else max(-5, min(15, round(rng.gauss(3, 3))))
        if person.sex == MALE:
            age, sex = max(18, self.age(person) - gap), FEMALE
        else:
            age, sex = max(20, self.age(person) + gap), MALE
        # Most marry within their own group; mixed marriages are mostly with Kinh partners.
        ethnicity = person.ethnicity if rng.random() < 0.92 else KINH
        spouse = self.adult(sex=sex, age=age, ethnicity=ethnicity, region_code=region_code)
        # People often marry someone from another province.
        spouse.migrant = rng.random() < _MIGRANT_SHARE * 1.5
        person.spouse, spouse.spouse = spouse, person
        person.marital = spouse.marital = MaritalStatus.MARRIED.value
        return spouse

    def child_births(self, mother_birth: date, *, count: int, max_age: int = 28) -> list[date]:
        """Birth dates of up to `count` children, the mother aged 19-42 at each birth, none older than
        `max_age` (older children have usually left to found their own household)."""
        rng = self.rng
        mother_age = _age_on(mother_birth, self.today)
        births: list[date] = []
        earliest_start = max(19, mother_age - max_age)
        if earliest_start > min(32, mother_age):
            return births
        at = _randint(rng, earliest_start, min(32, mother_age))
        while len(births) < count and at <= 42:
            birth = _add_years(mother_birth, at) + timedelta(days=_randint(rng, 0, 364))
            if birth >= self.today:
                break
            # Grown children leave: fewer and fewer of those over 20 still live with their parents.
            if _age_on(birth, self.today) <= 20 or rng.random() < 0.5:
                births.append(birth)
            at += _randint(rng, 2, 6)
        return births

    def children(
        self, births: Sequence[date], *, father: _Draft | None, mother: _Draft | None
    ) -> list[_Draft]:
        """Children take their father's surname and group; a child of a single mother takes hers."""
        line = father or mother
        if line is None:
            raise ValueError("a child needs at least one parent in the household")
        children = []
        for birth in births:
            # The sex ratio at birth is about 1.12 boys per girl in Vietnam.
            sex = MALE if self.rng.random() < 0.512 else FEMALE
            child = _Draft(sex=sex, birth=birth, surname=line.surname, ethnicity=line.ethnicity)
            child.relation, child.father, child.mother = Relation.CHILD.value, father, mother
            children.append(child)
        return children

    def father_gap(self, mother_ages_at_births: Sequence[int]) -> int:
        """A husband-minus-wife age gap keeping the father 20-44 years older than each child."""
        gap = max(-4, min(12, round(self.rng.gauss(3, 3))))
        if mother_ages_at_births:
            gap = max(20 - min(mother_ages_at_births), min(gap, 44 - max(mother_ages_at_births)))
        return gap

    def old_age(self, low: int, high: int) -> int:
        """An age in [low, high] drawn from the pyramid, so that the very old are rare."""
        groups = list(range(low // 5, min(high // 5, len(AGE_PYRAMID) - 1) + 1))
        group = self.rng.choices(groups, weights=[AGE_PYRAMID[g] for g in groups])[0]
        return max(low, min(high, group * 5 + _randint(self.rng, 0, 4)))

    # Household kinds -------------------------------------------------------------------------------------

    def drafts(self, kind: str, region_code: str) -> list[_Draft]:
        """The members of one household, head first."""
        ethnicity = _ETHNIC_MIX[_region(region_code)].pick(self.rng)
        if kind == "single":
            return self.single(ethnicity, region_code)
        if kind == "couple":
            return self.couple(ethnicity, region_code)
        if kind == "nuclear":
            return self.nuclear(ethnicity, region_code)
        if kind == "single_parent":
            return self.single_parent(ethnicity, region_code)
        return self.three_generations(ethnicity, region_code)

    def single(self, ethnicity: str, region_code: str) -> list[_Draft]:
        rng = self.rng
        if rng.random() < 0.45:
            # Young people living alone, often away from the province they were born in; more men than
            # women move alone for work.
            sex = MALE if rng.random() < 0.56 else FEMALE
            head = self.adult(
                sex=sex, age=_randint(rng, 19, 40), ethnicity=ethnicity, region_code=region_code
            )
            head.migrant = rng.random() < 0.35
            if self.age(head) > 28 and rng.random() < 0.15:
                head.marital = MaritalStatus.DIVORCED.value
            head.relation = Relation.HEAD.value
            return [head]
        # Old people living alone are mostly widows: women outlive their (older) husbands.
        sex = FEMALE if rng.random() < 0.65 else MALE
        head = self.adult(sex=sex, age=self.old_age(60, 95), ethnicity=ethnicity, region_code=region_code)
        head.relation = Relation.HEAD.value
        if rng.random() < 0.2:
            head.marital = MaritalStatus.DIVORCED.value
            return [head]
        head.marital = MaritalStatus.WIDOWED.value
        if rng.random() < 0.45:
            # The late spouse stays in the registry, with a date of death and an ended membership.
            spouse = self.marry(head, region_code=region_code)
            head.marital = MaritalStatus.WIDOWED.value
            spouse.deceased = True
            spouse.relation = Relation.SPOUSE.value
            return [head, spouse]
        return [head]

    def couple(self, ethnicity: str, region_code: str) -> list[_Draft]:
        rng = self.rng
        age = _randint(rng, 21, 34) if rng.random() < 0.4 else self.old_age(50, 88)
        husband = self.adult(sex=MALE, age=age, ethnicity=ethnicity, region_code=region_code)
        wife = self.marry(husband, region_code=region_code)
        # The wife is the registered head in about one household in ten.
        head, spouse = (wife, husband) if rng.random() < 0.1 else (husband, wife)
        head.relation, spouse.relation = Relation.HEAD.value, Relation.SPOUSE.value
        return [head, spouse]

    def nuclear(self, ethnicity: str, region_code: str) -> list[_Draft]:
        rng = self.rng
        # Mothers of families with children at home are mostly in their thirties and forties.
        age = round(rng.triangular(22, 58, 40))
        mother = self.adult(sex=FEMALE, age=age, ethnicity=ethnicity, region_code=region_code)
        births = self.child_births(mother.birth, count=int(_CHILDREN.pick(rng)))
        gap = self.father_gap([_age_on(mother.birth, birth) for birth in births])
        father = self.marry(mother, region_code=region_code, age_gap=gap)
        father.migrant = rng.random() < _MIGRANT_SHARE
        children = self.children(births, father=father, mother=mother)
        head, spouse = (father, mother) if rng.random() < 0.85 else (mother, father)
        head.relation, spouse.relation = Relation.HEAD.value, Relation.SPOUSE.value
        members = [head, spouse, *children]
        if rng.random() < 0.04:
            # An unmarried brother or sister of the head lives with the family.
            age = max(18, self.age(head) + _randint(rng, -8, 8))
            sex = _choice(rng, (MALE, FEMALE))
            sibling = self.adult(sex=sex, age=age, ethnicity=head.ethnicity, region_code=region_code)
            sibling.surname = head.surname
            sibling.relation = Relation.SIBLING.value
            members.append(sibling)
        return members

    def single_parent(self, ethnicity: str, region_code: str) -> list[_Draft]:
        rng = self.rng
        sex = FEMALE if rng.random() < 0.75 else MALE
        parent = self.adult(sex=sex, age=_randint(rng, 26, 58), ethnicity=ethnicity, region_code=region_code)
        parent.relation = Relation.HEAD.value
        parent.marital = (MaritalStatus.DIVORCED if rng.random() < 0.6 else MaritalStatus.WIDOWED).value
        if sex == FEMALE:
            births = self.child_births(parent.birth, count=int(_CHILDREN.pick(rng)))
            children = self.children(births, father=None, mother=parent)
            for child in children:
                child.father_unknown = rng.random() < 0.3
            return [parent, *children]
        # A father alone: the children's ages are drawn against a mother three years younger than him.
        births = self.child_births(_add_years(parent.birth, 3), count=int(_CHILDREN.pick(rng)))
        return [parent, *self.children(births, father=parent, mother=None)]

    def three_generations(self, ethnicity: str, region_code: str) -> list[_Draft]:
        rng = self.rng
        today = self.today
        grandmother = self.adult(
            sex=FEMALE, age=self.old_age(52, 92), ethnicity=ethnicity, region_code=region_code
        )
        # The middle generation: a son (or a daughter) born when the grandmother was 20-40.
        at = _randint(rng, 20, max(20, min(40, self.age(grandmother) - 22)))
        middle_birth = min(
            _add_years(grandmother.birth, at) + timedelta(days=_randint(rng, 0, 364)),
            _add_years(today, -20) - timedelta(days=1),
        )
        # The older generation is a couple, a widow whose husband's record shows his death, or a widow
        # whose husband died before the registry existed.
        roll = rng.random()
        grandfather: _Draft | None = None
        if roll < 0.65:
            gap = self.father_gap([_age_on(grandmother.birth, middle_birth)])
            grandfather = self.marry(grandmother, region_code=region_code, age_gap=gap)
            grandfather.migrant = False
            if roll >= 0.5:
                grandfather.deceased = True
                grandmother.marital = MaritalStatus.WIDOWED.value
        else:
            grandmother.marital = MaritalStatus.WIDOWED.value
        surname = grandfather.surname if grandfather else _family_surname(rng, ethnicity, region_code)
        # Sons usually stay with their parents; a daughter stays in about one family in seven.
        middle_sex = MALE if rng.random() < 0.85 else FEMALE
        line_ethnicity = grandfather.ethnicity if grandfather else ethnicity
        middle = _Draft(sex=middle_sex, birth=middle_birth, surname=surname, ethnicity=line_ethnicity)
        middle.father, middle.mother = grandfather, grandmother
        in_law: _Draft | None = None
        children: list[_Draft] = []
        if rng.random() < 0.85:
            if middle.sex == MALE:
                wife_age = max(19, self.age(middle) - max(0, round(rng.gauss(3, 2.5))))
                in_law = self.adult(
                    sex=FEMALE, age=wife_age, ethnicity=middle.ethnicity, region_code=region_code
                )
                middle.spouse, in_law.spouse = in_law, middle
                middle.marital = in_law.marital = MaritalStatus.MARRIED.value
                births = self.child_births(in_law.birth, count=int(_CHILDREN.pick(rng)), max_age=24)
                births = [b for b in births if 20 <= _age_on(middle.birth, b) <= 44]
                children = self.children(births, father=middle, mother=in_law)
            else:
                births = self.child_births(middle.birth, count=int(_CHILDREN.pick(rng)), max_age=24)
                gap = self.father_gap([_age_on(middle.birth, birth) for birth in births])
                in_law = self.marry(middle, region_code=region_code, age_gap=gap)
                children = self.children(births, father=in_law, mother=middle)
            in_law.migrant = rng.random() < _MIGRANT_SHARE * 1.5
        elders = [grandmother] if grandfather is None else [grandfather, grandmother]
        middles = [middle] if in_law is None else [middle, in_law]
        # A grandparent under 70 usually still heads the household; older ones have handed over.
        elder = next(e for e in elders if not e.deceased)
        if self.age(elder) < 70 and rng.random() < 0.65:
            elder.relation = Relation.HEAD.value
            for other in elders:
                if other is not elder:
                    other.relation = Relation.SPOUSE.value
            middle.relation = Relation.CHILD.value
            if in_law is not None:
                in_law.relation = Relation.CHILD_IN_LAW.value
            for child in children:
                child.relation = Relation.GRANDCHILD.value
            return [elder, *(e for e in elders if e is not elder), *middles, *children]
        middle.relation = Relation.HEAD.value
        if in_law is not None:
            in_law.relation = Relation.SPOUSE.value
        for other in elders:
            other.relation = (Relation.FATHER if other.sex == MALE else Relation.MOTHER).value
        return [*middles, *elders, *children]

    # Finishing records --------------------------------------------------------------------------------------

    def household(self, remaining: int) -> HouseholdRecord:
        """One household of at most `remaining` people (the last households of a run are kept small)."""
        rng = self.rng
        today = self.today
        if self.legacy_share is None:
            commune = _choice(rng, self.communes)
        else:
            commune = _choice(rng, self.legacy if rng.random() < self.legacy_share else self.current)
        while True:
            drafts = self.drafts(_HOUSEHOLD_KINDS.pick(rng), commune.birth_province_code)
            if len(drafts) <= remaining:
                break
        head = drafts[0]
        # Registered at this address once the head was an adult, and not before the computerized records
        # of the 1990s that the registry was built from.
        last = today - timedelta(days=30)
        registered_on = _random_day(rng, min(max(_add_years(head.birth, 18), date(1992, 1, 1)), last), last)
        address_detail = _address_detail(rng, commune)
        address_original = f"{address_detail}, {commune.origin_text}" if commune.is_legacy else ""
        keys = {id(draft): next(self.person_keys) for draft in drafts}
        given_names: set[str] = set()
        for draft in drafts:
            # Parents do not give two children the same name; a few redraws find another.
            for _ in range(4):
                draft.name = _person_name(rng, draft.surname, draft.sex, draft.birth.year, draft.ethnicity)
                given = draft.name.rsplit(" ", 1)[-1]
                if given not in given_names:
                    break
            given_names.add(given)
        religion = _religion(rng, head.ethnicity, commune.birth_province_code)
        natives: dict[int, str] = {}
        members = [
            self.person(
                draft,
                keys=keys,
                natives=natives,
                commune=commune,
                registered_on=registered_on,
                religion=religion,
            )
            for draft in drafts
        ]
        return HouseholdRecord(
            key=next(self.household_keys),
            commune=commune,
            address_detail=address_detail,
            address_original=address_original,
            registered_on=registered_on,
            members=members,
        )

    def birth_registration(self, draft: _Draft, commune: CommuneChoice) -> tuple[str, str]:
        """(province code, place of birth): here for locals, elsewhere for adults who moved in, and the new
        merged province for births since 1-7-2025."""
        if draft.migrant:
            code = _choice(self.rng, _PROVINCE_LIST)
            return code, pin_codec.PROVINCE_CODES[code]
        if draft.birth >= MERGER_DATE:
            return commune.province_code.zfill(3), commune.province_name
        return commune.birth_province_code, pin_codec.PROVINCE_CODES[commune.birth_province_code]

    def native_place(self, draft: _Draft, natives: dict[int, str], commune: CommuneChoice) -> str:
        """Quê quán: the father's native place when he is known, else where the person comes from."""
        cached = natives.get(id(draft))
        if cached is not None:
            return cached
        if draft.father is not None:
            place = self.native_place(draft.father, natives, commune)
        elif draft.migrant:
            place = pin_codec.PROVINCE_CODES[_choice(self.rng, _PROVINCE_LIST)]
        else:
            place = commune.origin_text
        natives[id(draft)] = place
        return place

    def person(
        self,
        draft: _Draft,
        *,
        keys: dict[int, int],
        natives: dict[int, str],
        commune: CommuneChoice,
        registered_on: date,
        religion: str,
    ) -> PersonRecord:
        rng = self.rng
        today = self.today
        birth = draft.birth
        place_code, birth_place = self.birth_registration(draft, commune)
        joined_on = max(registered_on, birth)
        if draft.relation == Relation.CHILD_IN_LAW:
            # A daughter- or son-in-law moved in on marrying, at twenty or later (a month ago at the latest).
            joined_on = max(joined_on, min(_add_years(birth, 20), today - timedelta(days=30)))
        record = PersonRecord(
            key=keys[id(draft)],
            full_name=draft.name,
            sex=draft.sex,
            birth_date=self.partial_birth(birth),
            birth_place=birth_place,
            birth_registration_place=place_code,
            native_place=self.native_place(draft, natives, commune),
            ethnicity=draft.ethnicity,
            # A household shares its religion, with the odd member who does not.
            religion=religion if rng.random() < 0.95 else "00",
            pin=self.numbers.pin(place_code=place_code, sex=draft.sex, birth_year=birth.year),
            relation_to_head=draft.relation,
            joined_on=joined_on,
            marital_status=draft.marital,
            true_birth=birth,
        )
        if draft.deceased:
            # Died within the last twenty years, after joining the household, and (the deceased being
            # spouses and parents of older people) at 45 or later; a younger spouse died just recently.
            lower = max(joined_on + timedelta(days=1), _add_years(birth, 45), _add_years(today, -20))
            record.date_of_death = _random_day(
                rng, min(lower, today - timedelta(days=1)), today - timedelta(days=1)
            )
        self.parents(record, draft, keys, commune)
        age = _age_on(birth, today)
        alive = not draft.deceased
        if alive and 16 <= age <= 80 and rng.random() < (0.85 if age < 65 else 0.5):
            record.phone = f"{_choice(rng, _PHONE_PREFIXES)}{_randrange(rng, 10_000_000):07d}"
        if alive and 18 <= age <= 45 and rng.random() < 0.2:
            handle = fold(draft.name).replace(" ", "").replace("'", "")
            # example.vn-style reserved names keep generated addresses from reaching a real mailbox.
            record.email = f"{handle}{_randint(rng, 1, 999)}@example.vn"
        if birth.year <= 2004 and rng.random() < (0.88 if birth.year <= 2000 else 0.4):
            self.cmnd(record, commune)
        if alive and age >= 14:
            self.current_card(record)
        if alive and 18 <= age <= 45 and rng.random() < 0.07:
            self.temporary(record, commune)
        return record

    def partial_birth(self, birth: date) -> PartialDate:
        """The birth date as the record knows it: legacy books often kept only the year (or the month)."""
        if birth.year < 1975 and self.rng.random() < self.partial_birth_share:
            if self.rng.random() < 0.6:
                return PartialDate(birth.year)
            return PartialDate(birth.year, birth.month)
        return PartialDate(birth.year, birth.month, birth.day)

    def parents(
        self, record: PersonRecord, draft: _Draft, keys: dict[int, int], commune: CommuneChoice
    ) -> None:
        """Link parents and spouse who are members by key; name the parents who are not in the registry."""
        rng = self.rng
        if draft.spouse is not None:
            record.spouse_key = keys.get(id(draft.spouse))
        if draft.father is not None:
            record.father_key, record.father_name = keys[id(draft.father)], draft.father.name
        elif not draft.father_unknown:
            year = max(1880, draft.birth.year - _randint(rng, 22, 38))
            record.father_name = _person_name(rng, draft.surname, MALE, year, draft.ethnicity)
        if draft.mother is not None:
            record.mother_key, record.mother_name = keys[id(draft.mother)], draft.mother.name
        else:
            year = max(1880, draft.birth.year - _randint(rng, 19, 35))
            surname = _family_surname(rng, draft.ethnicity, commune.birth_province_code)
            record.mother_name = _person_name(rng, surname, FEMALE, year, draft.ethnicity)

    def cmnd(self, record: PersonRecord, commune: CommuneChoice) -> None:
        """The old 9-digit ID card: the last one, issued between age 14 and mid-2021, valid 15 years."""
        start = max(_add_years(record.true_birth, 14), date(1995, 1, 1))
        end = min(CMND_UNTIL, self.today, record.date_of_death or self.today)
        if start > end:
            return
        issued = _random_day(self.rng, start, end)
        record.old_id_number = self.numbers.cmnd(record.birth_registration_place)
        province = pin_codec.PROVINCE_CODES.get(record.birth_registration_place, commune.province_name)
        record.cards.append(
            CardRecord(
                kind=IdentityCardRecord.Kind.CMND.value,
                issued_on=issued,
                expires_on=_add_years(issued, CMND_VALID_YEARS),
                issued_by=f"Công an tỉnh, thành phố {province}",
            )
        )

    def current_card(self, record: PersonRecord) -> None:
        """The 12-digit card valid today, issued after the last renewal age (or up to two years before it)."""
        rng = self.rng
        today = self.today
        if today < CCCD_SINCE or rng.random() > 0.92:
            return
        birth = record.true_birth
        milestone = max(m for m in CARD_RENEWAL_AGES if m <= _age_on(birth, today))
        # A card issued within two years before a renewal age stays valid until the next one.
        start = _add_years(birth, milestone) - timedelta(days=0 if milestone == 14 else 730)
        start = max(start, CCCD_SINCE, _add_years(birth, 14))
        if start > today:
            return
        campaign_start, campaign_end = max(start, CHIP_CAMPAIGN[0]), min(today, CHIP_CAMPAIGN[1])
        if campaign_start <= campaign_end and rng.random() < 0.6:
            issued = _random_day(rng, campaign_start, campaign_end)
        else:
            issued = _random_day(rng, start, today)
        can_cuoc = issued >= CAN_CUOC_SINCE
        record.cards.append(
            CardRecord(
                kind=(IdentityCardRecord.Kind.CAN_CUOC if can_cuoc else IdentityCardRecord.Kind.CCCD).value,
                issued_on=issued,
                expires_on=card_expiry(birth, issued),
                issued_by=CAN_CUOC_ISSUER if can_cuoc else CCCD_ISSUER,
            )
        )

    def temporary(self, record: PersonRecord, home: CommuneChoice) -> None:
        """Tạm trú elsewhere for work or study: registered within the last two years and running today."""
        rng = self.rng
        commune = _choice(rng, self.communes)
        for _ in range(3):  # elsewhere when the run has other communes
            if commune.commune_id != home.commune_id:
                break
            commune = _choice(rng, self.communes)
        registered_on = max(self.today - timedelta(days=_randint(rng, 30, 700)), record.joined_on)
        if registered_on >= self.today:
            return
        # One or two years (at most two: Luật Cư trú art. 27), and not yet run out.
        term = 365 if registered_on + timedelta(days=365) > self.today and rng.random() < 0.4 else 730
        record.temporary = TemporaryResidenceRecord(
            commune=commune,
            address_detail=_address_detail(rng, commune),
            registered_on=registered_on,
            expires_on=registered_on + timedelta(days=term),
        )


def card_expiry(birth: date, issued_on: date) -> date | None:
    """When a 12-digit card issued on `issued_on` expires: at the next renewal age (25, 40, 60), skipping
    one reached within two years of issue; cards issued from 58 on never expire (Luật Căn cước art. 21)."""
    for age in CARD_RENEWAL_AGES[1:]:
        milestone = _add_years(birth, age)
        if milestone <= issued_on:
            continue
        if _add_years(milestone, -2) <= issued_on:
            continue  # issued within two years before this age: valid until the next one
        return milestone
    return None


# Entry points -------------------------------------------------------------------------------------------


def generate_population(
    *,
    people: int,
    seed: int,
    communes: Sequence[CommuneChoice],
    today: date = REFERENCE_DATE,
    partial_birth_share: float = DEFAULT_PARTIAL_BIRTH_SHARE,
    legacy_share: float | None = None,
) -> Iterator[HouseholdRecord]:
    """Stream households until exactly `people` citizens (the deceased included) have been generated.

    Each household lives at one of `communes`; a legacy `CommuneChoice` gives a legacy-only placement.
    Communes are drawn uniformly, unless `legacy_share` is given and `communes` mixes both kinds: then
    that share of households goes to the legacy ones. The same arguments always give the same households.
    """
    if people <= 0:
        raise ValueError("people must be a positive number")
    if not communes:
        raise ValueError("at least one commune is needed to place households")
    if not 0.0 <= partial_birth_share <= 1.0:
        raise ValueError("partial_birth_share must be between 0 and 1")
    if legacy_share is not None and not 0.0 <= legacy_share <= 1.0:
        raise ValueError("legacy_share must be between 0 and 1")
    if not EARLIEST_TODAY <= today <= LATEST_TODAY:
        raise ValueError(f"today must be from {EARLIEST_TODAY} to {LATEST_TODAY}, not {today}")
    builder = _Builder(
        seed=seed,
        communes=communes,
        today=today,
        partial_birth_share=partial_birth_share,
        legacy_share=legacy_share,
    )
    remaining = people
    while remaining > 0:
        household = builder.household(remaining)
        remaining -= len(household.members)
        yield household


def person_csv_rows(households: Iterable[HouseholdRecord], *, source: str) -> Iterator[dict[str, str]]:
    """Person-records CSV rows (DESIGN.md), one per person, in generation order."""
    for household in households:
        address = household.address_text
        for person in household.members:
            yield {
                "record_id": f"P{person.key + 1:09d}",
                "source": source,
                "full_name": person.full_name,
                "gender": "Nam" if person.sex == MALE else "Nữ",
                "birth_date": person.birth_date.to_storage(),
                "birth_place": person.birth_place,
                "id_number": person.pin,
                "old_id_number": person.old_id_number or "",
                "father_name": person.father_name,
                "mother_name": person.mother_name,
                "address": address,
            }


def write_person_records_csv(
    households: Iterable[HouseholdRecord], path: str | Path, *, source: str = "dancu-generate"
) -> int:
    """Write the population as a person-records CSV (UTF-8, header first); returns the number of rows."""
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in person_csv_rows(households, source=source):
            writer.writerow(row)
            count += 1
    return count
