"""The rules a person record must satisfy ("đúng, đủ, sạch"), in one catalogue shared by forms, the API,
services and imports.

Each rule has a stable code that reports count by, a severity and a message in Vietnamese and English:

- ERROR blocks: the record cannot reach the registry until it is corrected.
- WARNING needs a reviewer's acknowledgement: the record is plausible but unusual (a mother aged 14, a
  birth registered outside the province of birth) and a person must look at it.
- REPAIR is not a problem: normalization changed the value to its canonical form (NFC, title case, the
  canonical tone placement, text damaged by a legacy encoding) and says so, so that nothing changes
  silently. Repairs are made by `registry.normalize`.
- NOTICE is not a problem either: it says why a record waits, where no rule explains it (an imported row
  that broke no rule waits for an officer because automatic approval is off), for the reviewer and for the
  report that counts by rule.

A check returns `Issue`s: the field, the rule code and the values the message needs. `check_person` runs
every rule on one record; `check_household` the rules about a group of records. Nothing here queries the
database per record: what needs the database (identifiers already issued, administrative units) comes in
through `RuleContext`, loaded once per batch.
"""

from __future__ import annotations

import dataclasses
import enum
import string
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dancu.lib import pin as pin_codec
from dancu.lib.errors import FieldError
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import name_errors
from dancu.registry.reference import BLOOD_TYPES

# The day the two-level structure of administrative units took effect (NQ 202/2025/QH15): 2025 communes
# exist from this day on, the legacy communes, districts and provinces until the day before.
UNITS_REFORM_DATE = date(2025, 7, 1)

# Plausible ages of a parent at the birth of a child: under 12 is taken as impossible (a data error); under
# 15 and over 60 happen so rarely that a reviewer should confirm them against the source document.
PARENT_MIN_AGE = 12
PARENT_YOUNG_AGE = 15
PARENT_OLD_AGE = 60
# Luật Hôn nhân và gia đình 2014 art. 8: a man marries from 20 full years, a woman from 18.
MARRIAGE_AGE = {"M": 20, "F": 18}
# Bộ luật Dân sự 2015 art. 20: an adult, who may represent another, is 18 full years old.
ADULT_AGE = 18
# No one alive has been documented older than this; an older living person is a wrong birth year or a
# death that never reached the registry ("sống").
MAX_PLAUSIBLE_AGE = 120


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    REPAIR = "repair"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule. The messages are templates: `{label}` is the field's name in the message's language,
    other `{names}` are the issue's params."""

    code: str
    severity: Severity
    message_vi: str
    message_en: str


# Field names as people read them, for `{label}` in messages.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "full_name": ("Họ, chữ đệm và tên", "Full name"),
    "other_names": ("Tên gọi khác", "Other names"),
    "father_name": ("Họ tên cha", "Father's name"),
    "mother_name": ("Họ tên mẹ", "Mother's name"),
    "father_pin": ("Số định danh của cha", "Father's identification number"),
    "mother_pin": ("Số định danh của mẹ", "Mother's identification number"),
    "spouse_name": ("Họ tên vợ/chồng", "Spouse's name"),
    "spouse_pin": ("Số định danh của vợ/chồng", "Spouse's identification number"),
    "representative_name": ("Họ tên người đại diện hợp pháp", "Legal representative's name"),
    "representative_pin": (
        "Số định danh của người đại diện hợp pháp",
        "Legal representative's identification number",
    ),
    "relative_name": ("Họ tên người thân", "Relative's name"),
    "sex": ("Giới tính", "Sex"),
    "gender": ("Giới tính", "Sex"),
    "birth_date": ("Ngày sinh", "Date of birth"),
    "father_birth_date": ("Ngày sinh của cha", "Father's date of birth"),
    "mother_birth_date": ("Ngày sinh của mẹ", "Mother's date of birth"),
    "date_of_death": ("Ngày mất", "Date of death"),
    "missing_declared_on": ("Ngày tuyên bố mất tích", "Date declared missing"),
    # A declared absence (tạm vắng), as its correction is shown in the record's history.
    "starts_on": ("Tạm vắng từ ngày", "Away from"),
    "ends_on": ("Tạm vắng đến ngày", "Away until"),
    "destination": ("Nơi đến", "Destination"),
    "absence_reason": ("Lý do tạm vắng", "Reason for the absence"),
    "registered_on": ("Ngày đăng ký", "Registration date"),
    # The dates of the registry's pages that the services name in their refusals ("… không được ở tương lai").
    "returned_on": ("Ngày trở về", "Date of return"),
    "ended_on": ("Ngày chấm dứt", "End date"),
    "changed_on": ("Ngày thay đổi", "Date of the change"),
    "split_on": ("Ngày tách hộ", "Date of the split"),
    "birth_place": ("Nơi sinh", "Place of birth"),
    "birth_registration_place": ("Nơi đăng ký khai sinh", "Place of birth registration"),
    "native_place": ("Quê quán", "Native place"),
    "id_number": ("Số định danh cá nhân", "Personal identification number"),
    "pin": ("Số định danh cá nhân", "Personal identification number"),
    "citizen_pin": ("Số định danh của công dân", "The citizen's personal identification number"),
    "old_id_number": ("Số CMND", "Old ID card (CMND) number"),
    "address": ("Địa chỉ", "Address"),
    "address_detail": ("Địa chỉ chi tiết", "Address detail"),
    "commune": ("Xã/phường", "Commune"),
    "legacy_commune": ("Xã/phường cũ", "Legacy commune"),
    "blood_type": ("Nhóm máu", "Blood type"),
    "blood_type_source": ("Nguồn xác định nhóm máu", "Source of the blood type"),
    "relation_to_head": ("Quan hệ với chủ hộ", "Relation to the household head"),
    "household": ("Hộ", "Household"),
    "ethnicity": ("Dân tộc", "Ethnic group"),
    "religion": ("Tôn giáo", "Religion"),
    "nationality": ("Quốc tịch", "Nationality"),
    "marital_status": ("Tình trạng hôn nhân", "Marital status"),
    "phone": ("Số điện thoại", "Phone number"),
    "email": ("Thư điện tử", "E-mail"),
    "reason": ("Lý do", "Reason"),
    "source_document": ("Văn bản làm căn cứ", "Source document"),
    # The fields of the DC01/DC02 forms (collection) that the registry's records name differently.
    "residence_kind": ("Loại cư trú", "Kind of residence"),
    "commune_code": ("Mã xã/phường", "Commune code"),
    "expires_on": ("Thời hạn tạm trú", "End of the temporary residence"),
    "household_number": ("Số hồ sơ cư trú của hộ", "Household residence file number"),
    "document": ("Giấy tờ làm căn cứ", "Supporting document"),
    "changes": ("Thông tin cần thay đổi", "Fields to change"),
    "citizen": ("Công dân", "Citizen"),
}


def led_by_label(field: str, message: str, *, language: str) -> str:
    """A message shown away from its field (on top of a form), led by the field as people read it
    ("Thông tin cần thay đổi: …", not "changes: …") unless the message names it already. A field without
    a label keeps its name, which is better than nothing."""
    if not field:
        return message
    labels = FIELD_LABELS.get(field)
    label = labels[1 if language.startswith("en") else 0] if labels is not None else field
    return message if label.lower() in message.lower() else f"{label}: {message}"


E, W, R, N = Severity.ERROR, Severity.WARNING, Severity.REPAIR, Severity.NOTICE

_CATALOGUE: tuple[Rule, ...] = (
    # Personal identification number (số định danh cá nhân) ------------------------------------------------
    Rule("pin.format", E, "{label} phải gồm đúng 12 chữ số.", "{label} must be exactly 12 digits."),
    Rule(
        "pin.place",
        E,
        "Mã nơi đăng ký khai sinh {place_code} trong số định danh cá nhân không phải mã tỉnh (001–096) hay "
        "mã quốc gia (100–999).",
        "The birth registration code {place_code} in the personal identification number is neither a "
        "province code (001-096) nor a country code (100-999).",
    ),
    Rule(
        "pin.serial",
        E,
        "Sáu chữ số cuối của số định danh cá nhân không được là 000000.",
        "The last six digits of the personal identification number must not be 000000.",
    ),
    Rule(
        "pin.sex_mismatch",
        E,
        "Chữ số thứ 4 của số định danh cá nhân (thế kỷ sinh và giới tính) không khớp giới tính trong hồ sơ.",
        "The fourth digit of the personal identification number (century and sex) does not match the sex "
        "on the record.",
    ),
    Rule(
        "pin.year_mismatch",
        E,
        "Số định danh cá nhân ứng với năm sinh {pin_birth_year}, khác năm sinh {record_birth_year} trong "
        "hồ sơ.",
        "The personal identification number encodes the birth year {pin_birth_year}, not the birth year "
        "{record_birth_year} on the record.",
    ),
    Rule(
        "pin.place_mismatch",
        E,
        "Số định danh cá nhân ghi nơi đăng ký khai sinh {pin_place_code}, khác nơi đăng ký khai sinh "
        "{record_place_code} trong hồ sơ.",
        "The personal identification number gives the birth registration place {pin_place_code}, not "
        "{record_place_code} as on the record.",
    ),
    Rule(
        "pin.birth_place_mismatch",
        W,
        "Số định danh cá nhân ghi nơi đăng ký khai sinh {pin_place_code}, khác tỉnh nơi sinh "
        "{birth_place_code}; hãy đối chiếu giấy khai sinh.",
        "The personal identification number gives the birth registration place {pin_place_code}, not the "
        "province of birth {birth_place_code}; check the birth certificate.",
    ),
    Rule(
        "pin.birth_year_range",
        E,
        "Không cấp được số định danh cá nhân cho năm sinh ngoài khoảng 1900–2399.",
        "No personal identification number can be allocated for a birth year outside 1900-2399.",
    ),
    Rule(
        "pin.duplicate",
        E,
        # Not "issued to someone else": most often it is the same person, filed again from another book.
        "Số định danh cá nhân này đã có ở một hồ sơ khác trong CSDL: nếu là cùng một người, cập nhật hồ sơ "
        "đó (DC02) thay vì tạo hồ sơ mới.",
        "This personal identification number is already on another record in the registry: if it is the "
        "same person, update that record (DC02) instead of making a new one.",
    ),
    Rule(
        "pin.duplicate_in_batch",
        E,
        "Số định danh cá nhân này đã có ở bản ghi {first_record} của cùng đợt nhập.",
        "This personal identification number already appears in record {first_record} of the same batch.",
    ),
    Rule(
        "pin.waiting_in_import",
        W,
        "Số định danh cá nhân này đang chờ cán bộ xem xét ở dòng {row} của lần nhập #{run} ({source}): hãy "
        "đối chiếu để không nhập một người hai lần.",
        "This personal identification number is waiting for an officer's review on row {row} of import "
        "#{run} ({source}): compare the two so that no one is imported twice.",
    ),
    Rule(
        "pin.exhausted",
        E,
        "Không cấp được số định danh cá nhân mới, hãy thử lại.",
        "Could not allocate a new personal identification number; try again.",
    ),
    # Old ID card (chứng minh nhân dân, CMND) ---------------------------------------------------------------
    Rule("cmnd.format", E, "Số CMND phải gồm đúng 9 chữ số.", "The CMND number must be exactly 9 digits."),
    Rule(
        "cmnd.duplicate",
        E,
        "Số CMND này đã có ở một hồ sơ khác trong CSDL: nếu là cùng một người, cập nhật hồ sơ đó (DC02) "
        "thay vì tạo hồ sơ mới.",
        "This CMND number is already on another record in the registry: if it is the same person, update "
        "that record (DC02) instead of making a new one.",
    ),
    Rule(
        "cmnd.duplicate_in_batch",
        E,
        "Số CMND này đã có ở bản ghi {first_record} của cùng đợt nhập.",
        "This CMND number already appears in record {first_record} of the same batch.",
    ),
    Rule(
        "cmnd.waiting_in_import",
        W,
        "Số CMND này đang chờ cán bộ xem xét ở dòng {row} của lần nhập #{run} ({source}): hãy đối chiếu để "
        "không nhập một người hai lần.",
        "This CMND number is waiting for an officer's review on row {row} of import #{run} ({source}): "
        "compare the two so that no one is imported twice.",
    ),
    # Dates --------------------------------------------------------------------------------------------------
    Rule(
        "date.format",
        E,
        "{label}: không đọc được ngày; các dạng được chấp nhận: {formats}.",
        "{label}: cannot read the date; accepted formats: {formats}.",
    ),
    Rule("date.invalid", E, "{label}: ngày không hợp lệ.", "{label}: the date is not valid."),
    Rule(
        "date.year_range",
        E,
        "{label}: năm nằm ngoài khoảng cho phép 1800–2399.",
        "{label}: the year is outside the accepted range 1800-2399.",
    ),
    Rule("date.month_range", E, "{label}: tháng phải từ 1 đến 12.", "{label}: months run from 1 to 12."),
    Rule(
        "date.day_range",
        E,
        "{label}: ngày không có trong tháng đó.",
        "{label}: the day does not exist in that month.",
    ),
    Rule(
        "date.day_without_month",
        E,
        "{label}: không thể ghi ngày khi chưa biết tháng.",
        "{label}: a day cannot be given without a month.",
    ),
    Rule(
        "date.storage_format",
        E,
        "{label}: giá trị lưu trữ không phải YYYY, YYYY-MM hay YYYY-MM-DD.",
        "{label}: the stored value is not YYYY, YYYY-MM or YYYY-MM-DD.",
    ),
    Rule("date.required", E, "Thiếu {label_lower}.", "{label} is required."),
    Rule("date.future", E, "{label} không được ở tương lai.", "{label} must not be in the future."),
    Rule(
        "date.death_before_birth",
        E,
        "Ngày mất không được trước ngày sinh.",
        "The date of death must not be before the date of birth.",
    ),
    Rule(
        "date.age_implausible",
        W,
        "Người sinh năm {birth_year} sẽ hơn {max_age} tuổi: kiểm tra năm sinh, hoặc người này đã mất.",
        "Someone born in {birth_year} would be over {max_age}: check the birth year, or whether the person "
        "has died.",
    ),
    # Parents and family -------------------------------------------------------------------------------------
    Rule(
        "family.parent_too_young",
        E,
        "{label}: cha/mẹ phải lớn hơn con ít nhất {min_age} tuổi.",
        "{label}: a parent must be at least {min_age} years older than the child.",
    ),
    Rule(
        "family.parent_young",
        W,
        "{label}: cha/mẹ chưa đủ {age} tuổi khi sinh con; hãy đối chiếu giấy tờ.",
        "{label}: the parent was under {age} at the child's birth; check the documents.",
    ),
    Rule(
        "family.parent_old",
        W,
        "{label}: cha/mẹ đã quá {age} tuổi khi sinh con; hãy đối chiếu giấy tờ.",
        "{label}: the parent was over {age} at the child's birth; check the documents.",
    ),
    Rule("family.parent_exists", E, "Đã có thông tin cha/mẹ này.", "This parent is already recorded."),
    Rule(
        "family.parent_sex",
        E,
        "{label}: giới tính (chữ số thứ 4) không khớp với cha/mẹ.",
        "{label}: the sex it carries (its fourth digit) is not the parent's.",
    ),
    Rule("family.self", E, "Không thể là quan hệ với chính mình.", "A person cannot be their own relative."),
    Rule("family.kind_invalid", E, "Quan hệ gia đình không hợp lệ.", "Invalid family relation."),
    Rule(
        "family.relative_unknown",
        W,
        "{label}: không có công dân nào mang số này trong CSDL; hãy đối chiếu giấy tờ.",
        "{label}: no citizen of the registry holds this number; check the documents.",
    ),
    Rule(
        "family.name_differs",
        W,
        "{label} khác họ tên của công dân mang số định danh đã ghi; hãy đối chiếu giấy tờ.",
        "{label} differs from the name of the citizen holding the number given; check the documents.",
    ),
    Rule(
        "family.two_roles",
        E,
        "{label}: người này đã được ghi ở một quan hệ khác trên phiếu "
        "(cha, mẹ, vợ/chồng là ba người khác nhau).",
        "{label}: this person is already named in another relation on the form "
        "(father, mother and spouse are three different people).",
    ),
    Rule(
        "family.spouse_married_elsewhere",
        W,
        "{label}: hồ sơ của người này đang ghi một vợ/chồng khác; "
        "hãy đối chiếu giấy tờ (ly hôn, đăng ký kết hôn).",
        "{label}: this person's record names another spouse; check the documents (divorce, marriage "
        "registration).",
    ),
    Rule(
        "family.spouse_young",
        W,
        "{label}: chưa đủ tuổi kết hôn (nam {male_age}, nữ {female_age}); hãy đối chiếu giấy tờ.",
        "{label}: under the age of marriage (men {male_age}, women {female_age}); check the documents.",
    ),
    Rule(
        "family.representative_minor",
        W,
        "{label}: người đại diện chưa đủ {age} tuổi; hãy đối chiếu giấy tờ.",
        "{label}: the representative is under {age}; check the documents.",
    ),
    Rule(
        "family.relative_dead",
        W,
        "{label}: hồ sơ của người này ghi đã mất; hãy đối chiếu giấy tờ.",
        "{label}: this person's record says they have died; check the documents.",
    ),
    Rule(
        "family.spouse_not_married",
        W,
        "Có ghi vợ/chồng nhưng tình trạng hôn nhân không phải “Đã kết hôn”: cập nhật tình trạng hôn nhân, "
        "hoặc bỏ thông tin vợ/chồng (ly hôn, goá).",
        "A spouse is named but the marital status is not “married”: correct the status, or remove the "
        "spouse (divorced, widowed).",
    ),
    Rule(
        "family.spouse_removed_married",
        W,
        "Bỏ thông tin vợ/chồng nhưng tình trạng hôn nhân vẫn là “Đã kết hôn”: cập nhật tình trạng hôn nhân "
        "nếu đã ly hôn hoặc goá.",
        "The spouse is removed but the marital status is still “married”: correct it if divorced or widowed.",
    ),
    Rule(
        "family.former_spouse_married",
        W,
        "Hồ sơ của vợ/chồng cũ vẫn ghi “Đã kết hôn”: nếu đã ly hôn, hồ sơ đó cũng cần một phiếu DC02 "
        "(do công an nơi người đó cư trú lập).",
        "The former spouse's record still says “married”: if they divorced, that record needs a DC02 too "
        "(made by the police where they live).",
    ),
    # Names --------------------------------------------------------------------------------------------------
    Rule("name.required", E, "{label} không được để trống.", "{label} must not be blank."),
    Rule(
        "name.too_long",
        E,
        "{label} dài tối đa {max_length} ký tự (hiện có {length}).",
        "{label} may be at most {max_length} characters long (it has {length}).",
    ),
    Rule(
        "name.control_chars",
        E,
        "{label} chứa ký tự điều khiển hoặc ký tự ẩn ({characters}).",
        "{label} contains control or invisible characters ({characters}).",
    ),
    Rule("name.digits", E, "{label} không được chứa chữ số.", "{label} must not contain digits."),
    Rule(
        "name.letters",
        E,
        "{label} chỉ được gồm chữ cái tiếng Việt, khoảng trắng, dấu nháy (') và gạch nối (-); không chấp "
        "nhận: {characters}",
        "{label} may contain only Vietnamese letters, spaces, apostrophes (') and hyphens (-); not "
        "allowed: {characters}",
    ),
    Rule(
        "name.single_word",
        W,
        "{label} chỉ có một từ; họ tên đầy đủ thường gồm họ và tên.",
        "{label} is a single word; a full name usually has a family name and a given name.",
    ),
    # Sex and places -----------------------------------------------------------------------------------------
    Rule("sex.required", E, "Thiếu giới tính.", "The sex is required."),
    Rule(
        "sex.invalid",
        E,
        "Giới tính phải là Nam hoặc Nữ (không đọc được {value!r}).",
        "Sex must be Nam or Nữ (male or female); cannot read {value!r}.",
    ),
    Rule("sex.unchanged", E, "Giới tính mới phải khác giới tính hiện tại.", "The new sex must differ."),
    Rule(
        "place.unknown",
        E,
        "Nơi đăng ký khai sinh phải là mã tỉnh (001–096) hoặc mã quốc gia.",
        "The place of birth registration must be a province code (001-096) or a country code.",
    ),
    Rule(
        "birth_place.unknown",
        W,
        "Không nhận ra tỉnh nơi sinh {value!r}; hãy chọn tỉnh (theo danh mục trước 2025).",
        "Cannot tell which province the place of birth {value!r} is; choose one (pre-2025 list).",
    ),
    # Administrative units and addresses ---------------------------------------------------------------------
    Rule(
        "unit.unknown",
        E,
        "{label}: không có đơn vị hành chính mã {code}.",
        "{label}: no administrative unit has the code {code}.",
    ),
    Rule(
        "unit.not_valid_at_date",
        E,
        "{label}: đơn vị mã {code} không tồn tại vào ngày {on}; đơn vị theo cơ cấu từ 1-7-2025 chỉ dùng từ "
        "ngày đó, đơn vị cũ chỉ dùng cho thời gian trước đó (kèm đơn vị mới tương ứng).",
        "{label}: the unit with code {code} did not exist on {on}; units of the structure of 1 July 2025 "
        "apply from that day, legacy units only before it (with the new unit they became).",
    ),
    Rule(
        "unit.succession_mismatch",
        W,
        "Xã/phường cũ {legacy_code} không được sáp nhập vào xã/phường mới {code}; hãy kiểm tra địa chỉ.",
        "The legacy commune {legacy_code} did not become part of the 2025 commune {code}; check the address.",
    ),
    Rule(
        "unit.outside_jurisdiction",
        E,
        "Đơn vị này nằm ngoài địa bàn quản lý của bạn.",
        "This unit is outside your jurisdiction.",
    ),
    Rule(
        "unit.not_commune",
        E,
        "Đơn vị phải là xã/phường/đặc khu theo đơn vị hành chính hiện hành.",
        "The unit must be a current (2025) commune, ward or special zone.",
    ),
    Rule(
        "unit.not_legacy_commune",
        E,
        "Đơn vị cũ phải là xã/phường trước năm 2025.",
        "The legacy unit must be a pre-2025 commune.",
    ),
    # Rows of an imported file that cannot be read as a record (the reader's own messages say more) ----------
    Rule("row.too_long", E, "Dòng quá dài, không đọc được.", "The line is too long to be read."),
    Rule("row.encoding", E, "Dòng có byte không phải UTF-8.", "The line contains bytes that are not UTF-8."),
    Rule("row.malformed", E, "Dòng CSV hỏng.", "Malformed CSV line."),
    Rule("row.nul", E, "Dòng có ký tự NUL (U+0000).", "The line contains NUL characters (U+0000)."),
    Rule(
        "row.ragged",
        E,
        "Số ô của dòng khác số cột của tiêu đề.",
        "The line has a different number of cells than the header has columns.",
    ),
    Rule(
        "import.no_commune",
        E,
        "Không xác định được xã/phường của địa chỉ nên không có cán bộ nào xem xét được bản ghi; sửa địa "
        "chỉ trong tệp rồi nhập lại.",
        "The address maps to no commune, so no officer can review the record; correct the address in the "
        "file and import it again.",
    ),
    # Only a run whose rows were never all read can be given up (`collection.services.import_discard`): the
    # rows of a run that finished reading are on their way into the registry and the review queues.
    Rule(
        "import.not_discardable",
        E,
        "Chỉ huỷ được lần nhập bị lỗi tệp hoặc bị ngắt khi đang đọc tệp, chưa bị huỷ; lần nhập này thì "
        "không.",
        "Only an import that failed or was interrupted while reading its file, and not discarded yet, can be "
        "discarded; this one cannot.",
    ),
    Rule(
        "import.discard_reason",
        E,
        "Ghi lý do huỷ lần nhập (1–500 ký tự), để người xem lại nhật ký biết vì sao.",
        "Give the reason for discarding the import (1–500 characters), so that whoever reads the trail "
        "knows why.",
    ),
    Rule(
        "import.not_interrupted",
        E,
        "Lần nhập này không bị ngắt: không có gì để tiếp tục.",
        "This import was not interrupted: there is nothing to continue.",
    ),
    # A run `dancu import` started on the server, stopped while reading its file: the file is the operator's,
    # never uploaded, so no worker of the page can read it (`selectors.import_server_resume`).
    Rule(
        "import.resume_on_server",
        E,
        "Lần nhập #{run} được chạy bằng lệnh dancu import trên máy chủ, không có tệp tải lên: để nhập tiếp "
        "sau dòng {row}, người vận hành chạy lại cùng lệnh trên máy chủ (cùng tệp, --source {source}).",
        "Import #{run} was started with dancu import on the server and has no uploaded file: to continue "
        "after row {row}, the operator runs the same command on the server again (the same file, "
        "--source {source}).",
    ),
    Rule(
        "import.rejected_by_officer",
        E,
        "Cán bộ đã từ chối bản ghi: {reason}",
        "An officer rejected the record: {reason}",
    ),
    Rule(
        "import.auto_approval_off",
        N,
        "Không vi phạm quy tắc nào: chờ cán bộ xem xét chỉ vì chế độ tự động duyệt đang tắt.",
        "Breaks no rule: waits for an officer only because automatic approval is off.",
    ),
    Rule(
        "import.duplicate",
        E,
        "Cán bộ đã xác định bản ghi là của cùng một người với một hồ sơ khác (cặp hồ sơ nghi trùng #{pair}): "
        "không tạo thêm hồ sơ.",
        "An officer found the record to be the same person as another record (candidate pair #{pair}): no "
        "second record is made.",
    ),
    Rule("address.required", E, "Thiếu {label_lower}.", "{label} is required."),
    Rule(
        "address.unresolved",
        W,
        "Không xác định được xã/phường của địa chỉ; hãy chọn đơn vị hành chính.",
        "Cannot tell which commune the address is in; choose the administrative unit.",
    ),
    # Households and residence -------------------------------------------------------------------------------
    Rule("household.no_head", E, "Hộ {household} chưa có chủ hộ.", "The household {household} has no head."),
    Rule(
        "household.second_head",
        E,
        "Hộ chỉ có một chủ hộ; hộ {household} đã có chủ hộ {first_head}.",
        "A household has one head; the household {household} already has the head {first_head}.",
    ),
    Rule(
        "household.already_member",
        E,
        "Người này đang là thành viên của một hộ khác.",
        "This person is already a member of another household.",
    ),
    Rule(
        "household.head_leaving",
        E,
        "Chủ hộ chuyển đi nơi khác: hãy thay đổi chủ hộ trước.",
        "The head of household is moving away: change the head first.",
    ),
    Rule(
        "household.not_member",
        E,
        "Chủ hộ mới phải là thành viên của hộ.",
        "The new head must be a member of the household.",
    ),
    Rule(
        "household.already_head",
        E,
        "Người này đang là chủ hộ.",
        "This person is already the head of the household.",
    ),
    Rule(
        "household.change_before_join",
        E,
        "Ngày thay đổi chủ hộ trước ngày người này nhập hộ.",
        "The date of the change is before the new head joined the household.",
    ),
    # Tách hộ (Luật Cư trú 2020 art. 25): members leave a household to form their own at the same address.
    Rule(
        "household.split_no_member",
        E,
        "Chọn những thành viên tách hộ.",
        "Choose the members who leave to form the new household.",
    ),
    Rule(
        "household.split_member_twice",
        E,
        "Một người được chọn tách hộ hai lần.",
        "A person is chosen twice among the members who leave.",
    ),
    Rule(
        "household.split_before_join",
        E,
        "Ngày tách hộ trước ngày một người tách hộ nhập hộ.",
        "The date of the split is before a member who leaves joined the household.",
    ),
    Rule(
        "household.split_no_head",
        E,
        "Chủ hộ mới phải là một trong những người tách hộ.",
        "The new head must be one of the members who leave.",
    ),
    Rule(
        "household.head_minor",
        E,
        "Chủ hộ mới phải đủ 18 tuổi vào ngày tách hộ.",
        "The new head must be 18 or older on the date of the split.",
    ),
    Rule(
        "household.split_all_members",
        E,
        "Tất cả thành viên đều tách đi: đó không phải là tách hộ.",
        "Every member would leave: that is no split.",
    ),
    Rule(
        "relation.invalid", E, "Quan hệ với chủ hộ không hợp lệ.", "Invalid relation to the household head."
    ),
    # Đăng ký thường trú cho người chuyển đến: the destination commune registers a person from elsewhere,
    # whose record it finds by the card's PIN, name and date of birth.
    Rule(
        "arrival.not_found",
        E,
        "Không có công dân với số định danh, họ tên và ngày sinh này: đối chiếu lại với thẻ căn cước.",
        "No citizen has this PIN, full name and date of birth: check them against the identity card.",
    ),
    Rule(
        "arrival.in_area",
        E,
        "Công dân đang ở trong địa bàn của bạn: đăng ký cư trú từ trang hồ sơ của công dân.",
        "The citizen already lives in your area: register the residence from the citizen's record page.",
    ),
    Rule(
        "arrival.household_or_address",
        E,
        "Ghi số hồ sơ hộ để nhập hộ có sẵn, hoặc địa chỉ để lập hộ mới, không ghi cả hai.",
        "Give a household's file number to join it, or an address to open a new household, not both.",
    ),
    Rule(
        "residence.required",
        E,
        "Cần khai báo nơi cư trú của công dân.",
        "The citizen's place of residence is required.",
    ),
    # The import's bulk write takes a permanent residence only; any other kind goes through
    # residence_register, so an officer never meets this refusal (registry.services.citizens_create_bulk).
    Rule(
        "residence.bulk_permanent_only",
        E,
        "Chỉ ghi hàng loạt được nơi thường trú.",
        "Only a permanent residence is written in bulk.",
    ),
    Rule(
        "residence.kind_invalid",
        E,
        "Loại cư trú phải là thường trú, tạm trú hoặc nơi ở hiện tại.",
        "Residence kind must be permanent, temporary or current.",
    ),
    Rule(
        "residence.expiry_required",
        E,
        "Tạm trú phải có thời hạn.",
        "A temporary residence needs an end date.",
    ),
    Rule(
        "residence.expiry_range",
        E,
        "Thời hạn tạm trú phải sau ngày đăng ký và tối đa 2 năm.",
        "A temporary residence ends after it starts and lasts at most 2 years.",
    ),
    Rule(
        "residence.expiry_not_allowed",
        E,
        "Chỉ tạm trú mới có thời hạn.",
        "Only a temporary residence has an end date.",
    ),
    Rule(
        "residence.unchanged",
        E,
        "Công dân đang cư trú tại đúng địa chỉ này; không có gì thay đổi.",
        "The citizen already lives at this very address; nothing changes.",
    ),
    Rule(
        "residence.already_expired",
        E,
        "Thời hạn tạm trú đã hết: không đăng ký nơi tạm trú đã hết hạn.",
        "The end date has passed: an expired temporary residence is not registered.",
    ),
    Rule(
        "residence.renew_not_temporary",
        E,
        "Chỉ gia hạn được nơi tạm trú.",
        "Only a temporary residence is renewed.",
    ),
    Rule(
        "residence.renew_not_later",
        E,
        "Thời hạn mới phải sau thời hạn tạm trú hiện tại và sau hôm nay.",
        "The new end date must be after the current one and after today.",
    ),
    Rule(
        "residence.overlap",
        E,
        "Nơi cư trú mới trùng thời gian với nơi cư trú hiện tại.",
        "The new residence overlaps the current one.",
    ),
    Rule(
        "residence.temporary_at_permanent",
        E,
        "Nơi tạm trú trùng nơi thường trú của công dân: tạm trú là nơi ở ngoài nơi thường trú.",
        "The temporary residence is the citizen's permanent one: a temporary residence is a place other "
        "than the permanent one.",
    ),
    Rule(
        "residence.before_birth",
        E,
        "Ngày đăng ký cư trú trước ngày sinh của công dân.",
        "The registration date is before the citizen's date of birth.",
    ),
    Rule("residence.already_ended", E, "Nơi cư trú đã chấm dứt.", "The residence has already ended."),
    Rule(
        "residence.end_before_start",
        E,
        "Ngày chấm dứt trước ngày đăng ký.",
        "The end date is before the registration date.",
    ),
    Rule(
        "residence.before_household",
        E,
        "Ngày đăng ký thường trú trước ngày công dân nhập hộ hiện tại.",
        "The registration date is before the citizen joined their current household.",
    ),
    Rule("citizen.deceased", E, "Công dân đã mất.", "The citizen is deceased."),
    # Khai báo tạm vắng (Luật Cư trú 2020, art. 31): a person away from their place of residence for a
    # declared period, to a declared destination, for a declared reason.
    Rule(
        "absence.no_residence",
        E,
        "Công dân không có nơi thường trú hoặc tạm trú hiện tại.",
        "The citizen has no current permanent or temporary residence.",
    ),
    Rule("absence.destination_required", E, "Thiếu nơi đến.", "The destination is required."),
    Rule("absence.reason_required", E, "Thiếu lý do tạm vắng.", "The reason for the absence is required."),
    Rule(
        "absence.end_before_start",
        E,
        "Ngày kết thúc tạm vắng phải sau ngày bắt đầu.",
        "The absence must end after it starts.",
    ),
    Rule(
        "absence.already_over",
        E,
        "Thời gian tạm vắng đã qua.",
        "The period of the absence is already over.",
    ),
    Rule(
        "absence.before_birth",
        E,
        "Ngày bắt đầu tạm vắng trước ngày sinh của công dân.",
        "The absence starts before the citizen's date of birth.",
    ),
    Rule(
        "absence.before_residence",
        E,
        "Ngày bắt đầu tạm vắng trước ngày đăng ký nơi cư trú.",
        "The absence starts before the residence was registered.",
    ),
    Rule(
        "absence.overlap",
        E,
        "Thời gian tạm vắng trùng với một khai báo tạm vắng khác.",
        "The absence overlaps another declared absence.",
    ),
    Rule(
        "absence.unchanged",
        E,
        "Khai báo tạm vắng không có gì thay đổi.",
        "Nothing in the declared absence changes.",
    ),
    Rule(
        "absence.already_returned",
        E,
        "Công dân đã trở về sau lần tạm vắng này.",
        "The citizen has already come back from this absence.",
    ),
    Rule(
        "absence.return_before_start",
        E,
        "Ngày trở về trước ngày bắt đầu tạm vắng.",
        "The return is before the absence started.",
    ),
    Rule(
        "absence.return_after_end",
        E,
        "Ngày trở về sau ngày kết thúc tạm vắng đã khai báo.",
        "The return is after the declared end of the absence.",
    ),
    # Huỷ khai báo tạm vắng: only a period not yet begun is withdrawn, and a withdrawn one takes no more.
    Rule(
        "absence.already_started",
        E,
        "Lần tạm vắng đã bắt đầu: không huỷ được khai báo.",
        "The absence has already begun: the declaration is not withdrawn.",
    ),
    Rule(
        "absence.withdrawn",
        E,
        "Khai báo tạm vắng đã được huỷ.",
        "The declaration of absence was withdrawn.",
    ),
    # A record merged into another takes no more writes: its data live in the kept record.
    Rule(
        "citizen.merged",
        E,
        "Hồ sơ đã được hợp nhất vào hồ sơ khác: hãy cập nhật hồ sơ được giữ.",
        "The record was merged into another: update the kept record instead.",
    ),
    # Other personal fields ----------------------------------------------------------------------------------
    Rule("blood_type.unknown", E, "Nhóm máu không hợp lệ.", "Unknown blood type."),
    Rule(
        "blood_type.no_source",
        E,
        "Chỉ ghi nhóm máu khi có kết quả xét nghiệm.",
        "A blood type is recorded only with a medical test result.",
    ),
    Rule("ethnicity.unknown", E, "Dân tộc không có trong danh mục.", "Unknown ethnic group."),
    Rule("religion.unknown", E, "Tôn giáo không có trong danh mục.", "Unknown religion."),
    Rule(
        "nationality.format",
        E,
        "Quốc tịch phải là mã quốc gia 2 chữ cái (VN).",
        "Nationality must be a 2-letter country code (VN).",
    ),
    Rule("marital_status.invalid", E, "Tình trạng hôn nhân không hợp lệ.", "Invalid marital status."),
    Rule(
        "phone.format",
        E,
        "Số điện thoại không hợp lệ (ví dụ 0912345678).",
        "Invalid phone number (for example 0912345678).",
    ),
    Rule("email.format", E, "Địa chỉ email không hợp lệ.", "Invalid e-mail address."),
    Rule(
        "text.too_long",
        E,
        "{label}: dài tối đa {max_length} ký tự (hiện có {length}).",
        "{label}: at most {max_length} characters allowed (it has {length}).",
    ),
    Rule(
        "text.control_chars",
        E,
        "{label}: chứa ký tự điều khiển, xuống dòng hoặc ký tự ẩn ({characters}).",
        "{label}: contains control, line-break or invisible characters ({characters}).",
    ),
    Rule(
        "text.characters",
        E,
        "{label}: có ký tự không dùng trong văn bản tiếng Việt ({characters}).",
        "{label}: contains characters not used in Vietnamese text ({characters}).",
    ),
    # Changes and who may make them --------------------------------------------------------------------------
    Rule("reason.required", E, "Cần ghi lý do thay đổi.", "A reason for the change is required."),
    Rule("document.required", E, "Cần văn bản làm căn cứ.", "The supporting document is required."),
    Rule(
        "field.not_updatable",
        E,
        "Trường này không sửa được bằng cập nhật thông thường.",
        "This field cannot be changed by an ordinary update.",
    ),
    Rule("role.not_allowed", E, "Vai trò của bạn không được làm việc này.", "Your role may not do this."),
    Rule(
        "history.before_record",
        E,
        "Hồ sơ chưa tồn tại vào ngày này.",
        "The record did not exist on that date.",
    ),
    Rule(
        "search.control_chars",
        E,
        "Từ khoá tìm kiếm chứa ký tự điều khiển hoặc ký tự ẩn.",
        "The search text contains control or invisible characters.",
    ),
    Rule("search.too_long", E, "Từ khoá tìm kiếm quá dài.", "The search text is too long."),
    Rule(
        "search.text",
        E,
        "Nhập số định danh (12 số), số CMND (9 số) hoặc họ tên.",
        "Enter a PIN (12 digits), an old CMND (9 digits) or a name.",
    ),
    # Collection forms (DC01 new person, DC02 update) -------------------------------------------------------
    Rule("field.required", E, "Chưa điền «{label}».", "{label} is required."),
    Rule(
        "household.number_required",
        E,
        "Ghi số hồ sơ cư trú của hộ khi khai quan hệ với chủ hộ.",
        "Give the household's residence file number with the relation to its head.",
    ),
    Rule(
        "household.unknown",
        E,
        "Không có hộ với số hồ sơ này trong địa bàn.",
        "No household with this file number in your jurisdiction.",
    ),
    Rule(
        "household.other_commune",
        E,
        "Hộ này ở xã/phường khác với nơi cư trú khai trong phiếu.",
        "This household is in another commune than the residence on the form.",
    ),
    Rule(
        "household.needs_permanent",
        E,
        "Nhập hộ là đăng ký thường trú: chọn loại cư trú «Thường trú».",
        "Joining a household registers a permanent residence: choose «Permanent residence».",
    ),
    Rule(
        "form.no_changes",
        E,
        "Phiếu DC02 chưa ghi thông tin nào cần thay đổi.",
        "The DC02 form names no field to change.",
    ),
    Rule(
        "citizen.no_area",
        E,
        "Hồ sơ chưa có nơi cư trú nên chưa thuộc xã/phường nào.",
        "The record has no residence and so belongs to no commune.",
    ),
    Rule(
        "date.partial",
        W,
        "{label} chỉ rõ năm hoặc tháng: đối chiếu với giấy tờ gốc.",
        "{label} is known only to the year or month: compare with the source document.",
    ),
    Rule(
        "citizen.possible_duplicate",
        W,
        "CSDL đã có người cùng họ tên và ngày sinh: kiểm tra có phải cùng một người không.",
        "The registry already holds a person with this name and date of birth: check it is not the same "
        "person.",
    ),
    Rule(
        "citizen.decided_same_person",
        W,
        "Hàng chờ trùng lặp đã xác định bản ghi này là cùng một người với hồ sơ đã có trong CSDL "
        "(cùng họ tên và ngày sinh): không lập hồ sơ thứ hai cho người này.",
        "The duplicates queue decided that this row is the same person as a record the registry holds "
        "(same name and date of birth): do not make this person a second record.",
    ),
    Rule(
        "change.identity",
        W,
        "Thay đổi {label_lower}: đối chiếu kỹ với giấy tờ làm căn cứ.",
        "A change of {label_lower}: compare it closely with the supporting document.",
    ),
    Rule(
        "change.death",
        W,
        "Ghi nhận công dân đã mất: cần giấy báo tử hoặc trích lục khai tử.",
        "Recording a death: a death certificate or extract is needed.",
    ),
    Rule(
        "change.same_value",
        W,
        "{label}: giá trị mới giống giá trị đang có trong CSDL.",
        "{label}: the new value is the same as the one in the registry.",
    ),
    # Stored records judged by the quality scorecard ("đúng, đủ, sạch, sống", collection.quality) ----------
    Rule(
        "household.none",
        E,
        "Công dân có nơi thường trú nhưng chưa thuộc hộ nào (thiếu quan hệ với chủ hộ).",
        "The citizen has a permanent residence but belongs to no household (no relation to a head).",
    ),
    Rule(
        "name.not_canonical",
        E,
        "{label} chưa ở dạng chuẩn; dạng chuẩn là {canonical!r} ({steps}).",
        "{label} is not in canonical form; the canonical form is {canonical!r} ({steps}).",
    ),
    Rule(
        "record.duplicate_pending",
        E,
        "Hồ sơ có thể trùng với một hồ sơ khác (cặp nghi trùng #{pair}); cần xem xét và hợp nhất.",
        "The record may be the same person as another record (candidate pair #{pair}); review and merge.",
    ),
    Rule(
        "record.duplicate_confirmed",
        E,
        "Hồ sơ đã được xác định trùng với một hồ sơ khác (cặp #{pair}) nhưng chưa hợp nhất.",
        "The record was confirmed to be the same person as another record (pair #{pair}) but is not "
        "merged yet.",
    ),
    Rule(
        "residence.expired",
        E,
        "Tạm trú đã hết hạn ngày {expires_on} nhưng chưa được gia hạn hay chấm dứt.",
        "The temporary residence expired on {expires_on} and was neither renewed nor ended.",
    ),
    Rule(
        "residence.after_death",
        E,
        "Công dân đã mất nhưng vẫn còn nơi cư trú chưa được xoá đăng ký (từ ngày {registered_on}).",
        "The citizen has died but a residence registered on {registered_on} was never ended.",
    ),
    # Placement of generated households (the synthetic population loader) ----------------------------------
    Rule(
        "placement.unknown_province", E, "Không có tỉnh, thành phố mã này.", "No 2025 province has this code."
    ),
    Rule("placement.unknown_commune", E, "Không có xã, phường mã này.", "No 2025 commune has this code."),
    Rule(
        "placement.unknown_legacy_province",
        E,
        "Không có tỉnh, thành phố (trước 1-7-2025) mã này.",
        "No pre-2025 province has this code.",
    ),
    Rule(
        "placement.empty",
        E,
        "Không có xã, phường nào để đặt hộ.",
        "There is no commune to place households in.",
    ),
    # Repairs made by normalization --------------------------------------------------------------------------
    Rule(
        "repair.encoding",
        R,
        "{label}: đã sửa chữ bị lỗi bảng mã ({encoding}).",
        "{label}: repaired text damaged by a legacy encoding ({encoding}).",
    ),
    Rule("repair.nfc", R, "{label}: đã chuẩn hoá Unicode (NFC).", "{label}: normalized to Unicode NFC."),
    Rule(
        "repair.invisible",
        R,
        "{label}: đã bỏ ký tự ẩn (khoảng trắng độ rộng 0, BOM, gạch nối mềm); ký tự ẩn ngăn cách hai từ "
        "được thay bằng dấu cách.",
        "{label}: removed invisible characters (zero-width spaces, byte order marks, soft hyphens); one that "
        "separated two words became a space.",
    ),
    Rule(
        "repair.whitespace",
        R,
        "{label}: đã bỏ khoảng trắng thừa.",
        "{label}: removed stray white space.",
    ),
    Rule(
        "repair.letters",
        R,
        "{label}: đã thay chữ Ð, ð (chữ eth, trông giống Đ) bằng chữ Đ, đ tiếng Việt.",
        "{label}: replaced the letters Ð, ð (the eth, a look-alike of Đ) by the Vietnamese Đ, đ.",
    ),
    Rule(
        "repair.punctuation",
        R,
        "{label}: đã bỏ hoặc chuẩn hoá dấu câu thừa.",
        "{label}: removed or normalized stray punctuation.",
    ),
    Rule(
        "repair.tone_placement",
        R,
        "{label}: đã đặt dấu thanh theo một quy ước (Hòa, Thúy, Khỏe).",
        "{label}: placed tone marks by the registry's convention (Hòa, Thúy, Khỏe).",
    ),
    Rule(
        "repair.case",
        R,
        "{label}: đã viết hoa chữ cái đầu mỗi tiếng.",
        "{label}: capitalized the first letter of each word.",
    ),
    Rule(
        "repair.date_format",
        R,
        "{label}: đã đọc ngày theo dạng cũ và ghi lại theo dạng chuẩn.",
        "{label}: read the date in a legacy format and wrote it in the standard one.",
    ),
    Rule(
        "repair.separators",
        R,
        "{label}: đã bỏ dấu cách, dấu chấm hoặc gạch nối giữa các chữ số.",
        "{label}: removed spaces, dots or hyphens between the digits.",
    ),
    # Merging duplicate records (docs/merging.md) ----------------------------------------------------------
    Rule("merge.same_record", E, "Hai hồ sơ là một.", "The two records are the same record."),
    Rule(
        "merge.sex_differs",
        E,
        "Hai hồ sơ khác giới tính: không thể là một người.",
        "The records differ in sex: they cannot be one person.",
    ),
    Rule(
        "merge.relatives",
        E,
        "Hai hồ sơ được ghi là người thân của nhau: không thể là một người.",
        "The records are recorded as each other's relatives: they cannot be one person.",
    ),
    Rule(
        "merge.pin_rule",
        E,
        "Phải giữ hồ sơ có số định danh theo quy tắc giữ số định danh.",
        "The record whose PIN the PIN rule keeps must be the kept record.",
    ),
    Rule(
        "merge.both_heads",
        E,
        "Cả hai hồ sơ là chủ hộ của hai hộ khác nhau.",
        "Both records head different households.",
    ),
    Rule(
        "merge.absorbed_is_head",
        E,
        "Hồ sơ bị hợp nhất là chủ hộ của hộ có hồ sơ được giữ.",
        "The absorbed record heads the household of the kept record.",
    ),
    Rule(
        "merge.choice_required",
        E,
        "Hai hồ sơ khác nhau ở điểm cần cán bộ chọn giữ bên nào.",
        "The records differ on a point where an officer must choose which to keep.",
    ),
    Rule(
        "merge.card_application_open",
        E,
        "Hồ sơ bị hợp nhất đang có hồ sơ cấp thẻ chưa xong.",
        "The absorbed record has a card application in progress.",
    ),
    Rule(
        "merge.active_card",
        E,
        "Hồ sơ bị hợp nhất có thẻ căn cước đang sử dụng.",
        "The absorbed record has an identity card in use.",
    ),
    Rule("merge.choice_invalid", E, "Lựa chọn hợp nhất không hợp lệ.", "Invalid merge choice."),
    Rule("merge.already_undone", E, "Hợp nhất này đã được huỷ.", "This merge was already undone."),
    Rule(
        "merge.kept_merged_since",
        E,
        "Hồ sơ được giữ đã được hợp nhất vào hồ sơ khác.",
        "The kept record was merged into another since.",
    ),
    Rule(
        "merge.changed_since",
        E,
        "Dữ liệu đã thay đổi sau khi hợp nhất: không thể huỷ.",
        "Data changed after the merge: it cannot be undone.",
    ),
    Rule(
        "merge.undo_conflict",
        E,
        "Dữ liệu ghi sau khi hợp nhất trùng với dữ liệu cần khôi phục.",
        "What was recorded since the merge clashes with what would be restored.",
    ),
    Rule(
        "repair.leading_zeros",
        R,
        "{label}: đã khôi phục các chữ số 0 ở đầu (bị bảng tính làm mất).",
        "{label}: restored the leading zeros a spreadsheet had dropped.",
    ),
    Rule(
        "repair.address_units",
        R,
        "{label}: đã chuyển đơn vị hành chính cũ sang đơn vị từ 1-7-2025, giữ nguyên văn bản gốc.",
        "{label}: mapped the legacy administrative units to those of 1 July 2025, keeping the original text.",
    ),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _CATALOGUE}


class _Params(dict[str, Any]):
    # A template naming a param the issue lacks shows the placeholder instead of failing: a message with a
    # gap is better than an error report that crashes.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _Summary(string.Formatter):
    """A rule's template said of no record in particular: its field in a word (`label`, or the field's own
    label when the count is of one field), every other value as "…", whatever conversion or format the
    template asks of it."""

    def __init__(self, language: str, label: str = "") -> None:
        super().__init__()
        label = label or ("The value" if language.startswith("en") else "Thông tin")
        self.values = {"label": label, "label_lower": label[:1].lower() + label[1:]}

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return self.values.get(str(key), "…")

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value

    def format_field(self, value: Any, format_spec: str) -> str:
        return str(value)


_LED_BY_LABEL = "{label}: "
# How a message names its field within the sentence ("Chưa điền «Quê quán»."), rather than leading with it.
_NAMED_LABEL = "«{label}»"


def names_its_field(code: str) -> bool:
    """Whether the rule's message is about its field and nothing else ("Chưa điền «{label}»."): said without
    the field it says nothing, so a report that counts it counts it field by field."""
    rule = RULES.get(code)
    if rule is None:
        return False
    if _NAMED_LABEL in rule.message_vi:
        return True
    # A missing value said without its field ("Thiếu {label_lower}." read as "Thiếu thông tin.") tells the
    # officer nothing about what to fill in, whatever words the rule uses for it.
    values = {name for _text, name, _spec, _conversion in string.Formatter().parse(rule.message_vi) if name}
    return code.endswith(".required") and bool(values) and values <= {"label", "label_lower"}


def rule_summary(code: str, *, language: str = "vi", field: str = "") -> str:
    """What a rule says, for a table that counts its issues over many records (an import's report by
    rule), where each issue had its own field and values: the message without the field where it leads
    with it ("{label}: …"), with a word for it elsewhere, and "…" for every other value. Empty for a code
    the catalogue does not know (a refusal of the registry's services). Given the `field` the count is of,
    a rule that `names_its_field` names it ("Chưa điền «Quê quán»."); any other rule reads as without it."""
    rule = RULES.get(code)
    if rule is None:
        return ""
    english = language.startswith("en")
    template = rule.message_en if english else rule.message_vi
    label = ""
    if field and names_its_field(code):
        labels = FIELD_LABELS.get(field, (field, field))
        label = labels[1] if english else labels[0]
    else:
        # A field named in quotes («{label}») is a gap like any other value.
        template = template.replace(_NAMED_LABEL, "«…»")
    if template.startswith(_LED_BY_LABEL) and not label:
        text = _Summary(language).format(template.removeprefix(_LED_BY_LABEL))
        text = text[:1].upper() + text[1:]
    else:
        text = _Summary(language, label).format(template)
    # A value that ended its sentence leaves the gap's dots and the full stop: one is enough.
    return text.replace("….", "…")


@dataclass(frozen=True, slots=True)
class Issue:
    """One broken rule (or one repair) on one field of a record."""

    field: str
    rule_code: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_code]

    @property
    def severity(self) -> Severity:
        return RULES[self.rule_code].severity

    def message(self, language: str = "vi") -> str:
        english = language.startswith("en")
        rule = RULES[self.rule_code]
        label_vi, label_en = FIELD_LABELS.get(self.field, (self.field, self.field))
        label = label_en if english else label_vi
        values = _Params(self.params)
        values.setdefault("label", label)
        values.setdefault("label_lower", label[:1].lower() + label[1:])
        return (rule.message_en if english else rule.message_vi).format_map(values)

    def as_field_error(self) -> FieldError:
        return FieldError(
            self.field, self.rule_code, self.message("vi"), self.message("en"), dict(self.params)
        )

    @classmethod
    def from_field_error(cls, error: FieldError, *, field: str | None = None) -> Issue:
        """The issue of a FieldError raised by a lib check (PIN codec, names), optionally moved to another
        field (the PIN codec reports against "pin"; a CSV calls it "id_number")."""
        return cls(field or error.field, error.code, error.params)


def field_errors(issues: Iterable[Issue]) -> list[FieldError]:
    return [issue.as_field_error() for issue in issues]


# Context: what the rules need from outside the record -------------------------------------------------------


class IdentifierIndex:
    """PINs or CMND numbers already taken: in the registry, and earlier in the batch being checked.

    `registered` says what the registry holds: a set (an import fetches the identifiers of a chunk of rows
    in one query, see `registered_identifiers`), a callable (a form asks the database about one value), or
    None to skip the registry. Identifiers seen in the batch are remembered with the record that carried
    them first; records are told apart by their record_id, and records without one are all distinct.
    """

    __slots__ = ("_anonymous", "_registered", "_seen")

    def __init__(self, registered: Callable[[str], bool] | Collection[str] | None = None) -> None:
        if registered is None:
            self._registered: Callable[[str], bool] | None = None
        elif callable(registered):
            self._registered = registered
        else:
            self._registered = registered.__contains__
        self._seen: dict[str, str] = {}
        self._anonymous = 0

    def remember(self, value: str, *, record_id: str) -> None:
        """Note that `record_id` carried `value` before this batch (an import resumed, or split in
        chunks): a later record with the same value is then a duplicate within the batch."""
        self._seen.setdefault(value, record_id)

    def claim(self, value: str, *, record_id: str = "") -> tuple[bool, str | None]:
        """Record that `record_id` carries `value`; return (taken in the registry, the record that
        carried it earlier in the batch or None)."""
        if not record_id:
            self._anonymous += 1
            record_id = f"#{self._anonymous}"
        earlier = self._seen.setdefault(value, record_id)
        in_registry = self._registered is not None and self._registered(value)
        return in_registry, (None if earlier == record_id else earlier)


# What a deferred index answers for the record that carried a number earlier (`DeferredIdentifiers`).
DEFERRED = "\x00deferred"


class DeferredIdentifiers(IdentifierIndex):
    """An index that leaves duplicates to be decided later: for records checked apart from the records
    before them (an import's worker processes), whose numbers are looked up afterwards in file order
    (`duplicate_issues`, by the importing process).

    `claimed` says whether the rules asked about a number, which they do only for one of valid shape.
    Each answer is "taken earlier by `DEFERRED`", so the rules make a duplicate issue that marks where in
    the record's issues the real ones belong."""

    __slots__ = ("claimed",)

    def __init__(self) -> None:
        super().__init__()
        self.claimed = False

    def claim(self, value: str, *, record_id: str = "") -> tuple[bool, str | None]:
        self.claimed = True
        return False, DEFERRED


@dataclass(frozen=True)
class UnitIndex:
    """The commune codes of both structures and how legacy communes became 2025 ones, held in memory so
    that checking a unit costs a set look-up instead of a query.

    `legacy_communes` also holds the five legacy island districts that had no communes (an address there
    names the district), since they map to a 2025 special zone the way a commune maps to a commune.
    """

    communes: frozenset[str]
    legacy_communes: frozenset[str]
    successors: Mapping[str, frozenset[str]]

    @classmethod
    def load(cls) -> UnitIndex:
        """Read the units from the database: two queries, about 14,000 and 11,000 rows."""
        from dancu.geo.models import AdminUnit, UnitSuccession

        communes: set[str] = set()
        legacy: set[str] = set()
        for structure, code in AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE).values_list(
            "structure", "code"
        ):
            (communes if structure == AdminUnit.Structure.CURRENT else legacy).add(code)
        successors: dict[str, set[str]] = {}
        for legacy_code, legacy_level, successor_code in UnitSuccession.objects.filter(
            successor__level=AdminUnit.Level.COMMUNE
        ).values_list("legacy__code", "legacy__level", "successor__code"):
            successors.setdefault(legacy_code, set()).add(successor_code)
            if legacy_level == AdminUnit.Level.DISTRICT:
                legacy.add(legacy_code)
        return cls(
            communes=frozenset(communes),
            legacy_communes=frozenset(legacy),
            successors={code: frozenset(codes) for code, codes in successors.items()},
        )

    @classmethod
    def current(cls) -> UnitIndex:
        """The units as the database holds them now, kept by the process until they are reloaded.

        Their version (`geo.selectors.units_version`, three aggregate queries) is asked at each call, the
        25,000 rows read again only when it has moved: a scorecard pass, the reassessment after an
        officer's decision and an import each ask, and a worker that runs for days sees a reload of the
        units at its next task instead of judging rows against the units it started with."""
        global _unit_index_kept  # noqa: PLW0603 - one index per process, shared by its threads
        from dancu.geo.selectors import units_version

        version = units_version()
        kept = _unit_index_kept
        if kept is not None and kept[0] == version:
            return kept[1]
        index = cls.load()
        # One assignment of a new pair: two threads that load at once each keep a whole index.
        _unit_index_kept = (version, index)
        return index


_unit_index_kept: tuple[tuple[Any, ...], UnitIndex] | None = None


def registered_identifiers(*, pins: Iterable[str], cmnds: Iterable[str]) -> tuple[set[str], set[str]]:
    """Which of these PINs were ever issued and which CMND numbers belong to a citizen: one query each.

    An import calls this once per chunk of rows and passes the sets to `IdentifierIndex`. PINs are looked
    up in the ledger of every PIN ever issued, because a cancelled PIN is never given to anyone again. Only
    whether a number is taken is read, nothing about the person who holds it.
    """
    from dancu.registry.models import Citizen, PinRecord

    pin_values = {value for value in pins if value}
    cmnd_values = {value for value in cmnds if value}
    taken_pins = (
        set(PinRecord.objects.filter(pin__one_of=pin_values).values_list("pin", flat=True))
        if pin_values
        else set()
    )
    taken_cmnds: set[str] = (
        {
            value
            for value in Citizen.objects.filter(old_id_number__one_of=cmnd_values).values_list(
                "old_id_number", flat=True
            )
            if value is not None
        }
        if cmnd_values
        else set()
    )
    return taken_pins, taken_cmnds


@dataclass
class RuleContext:
    """What the rules need besides the record: the date, and (optional) what is already taken and which
    units exist. Use one context per batch: `pins` and `cmnds` remember the identifiers of the records
    checked so far, which is how duplicates within a batch are found."""

    today: date
    pins: IdentifierIndex | None = None
    cmnds: IdentifierIndex | None = None
    units: UnitIndex | None = None


# The record ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PersonInput:
    """The fields of a person-records row (DESIGN.md), already normalized (see `registry.normalize`).

    `sex` is "M", "F" or None; `birth_place` and `birth_registration_place` are 3-digit province or
    country codes; `commune_code` is the 2025 commune of the address and `legacy_commune_code` the
    pre-2025 one it was written in, as resolved from `address`; `address_date` is the date the address is
    declared for (None: today). The rest is optional information a source may carry.
    """

    full_name: str
    sex: str | None = None
    birth_date: PartialDate | None = None
    birth_place: str | None = None
    id_number: str | None = None
    old_id_number: str | None = None
    father_name: str = ""
    mother_name: str = ""
    address: str = ""
    commune_code: str | None = None
    legacy_commune_code: str | None = None
    address_date: date | None = None
    father_birth_date: PartialDate | None = None
    mother_birth_date: PartialDate | None = None
    date_of_death: PartialDate | None = None
    blood_type: str = ""
    blood_type_source: str = ""
    birth_registration_place: str | None = None
    record_id: str = ""


# Checks -----------------------------------------------------------------------------------------------------


def check_name(value: str, *, field: str, required: bool = True, max_length: int = 100) -> list[Issue]:
    """Letters only (Vietnamese and other Latin-script letters, spaces, apostrophes, hyphens), no digits,
    no control characters; `name.required` when `required` and blank."""
    if not required and not value.strip():
        return []
    return [
        Issue(field, error.code, error.params)
        for error in name_errors(value, field=field, max_length=max_length)
    ]


def check_full_name(value: str, *, field: str = "full_name") -> list[Issue]:
    issues = check_name(value, field=field)
    if not issues and " " not in value.strip():
        issues.append(Issue(field, "name.single_word"))
    return issues


def check_sex(value: str | None, *, field: str = "sex") -> list[Issue]:
    if value is None or value == "":
        return [Issue(field, "sex.required")]
    if value not in (pin_codec.SEX_MALE, pin_codec.SEX_FEMALE):
        return [Issue(field, "sex.invalid", {"value": value})]
    return []


def check_not_in_future(value: PartialDate | date | None, *, field: str, today: date) -> list[Issue]:
    """A date that may be partial: in the future only if every day it can mean is after today."""
    if value is None:
        return []
    earliest = value.earliest() if isinstance(value, PartialDate) else value
    return [Issue(field, "date.future")] if earliest > today else []


def check_death_after_birth(birth: PartialDate | None, death: PartialDate | None) -> list[Issue]:
    """Death before birth only when every day the death can mean precedes every day the birth can."""
    if birth is not None and death is not None and death.latest() < birth.earliest():
        return [Issue("date_of_death", "date.death_before_birth")]
    return []


def check_age_plausible(
    birth: PartialDate | None, death: PartialDate | None, *, today: date, field: str = "birth_date"
) -> list[Issue]:
    if birth is None or death is not None:
        return []
    if _full_years(birth.latest(), today) > MAX_PLAUSIBLE_AGE:
        return [
            Issue(field, "date.age_implausible", {"birth_year": birth.year, "max_age": MAX_PLAUSIBLE_AGE})
        ]
    return []


def _full_years(start: date, end: date) -> int:
    """Completed years from `start` to `end` (negative when `end` is earlier)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def check_parent_age(
    parent_birth: PartialDate | None, child_birth: PartialDate | None, *, field: str
) -> list[Issue]:
    """The parent must be at least 12 years older than the child (error); under 15 or over 60 at the birth
    is a warning. With partial dates the parent gets the benefit of the doubt: the error needs the
    parent to be too young on every day both dates can mean, the warnings likewise."""
    if parent_birth is None or child_birth is None:
        return []
    oldest_possible = _full_years(parent_birth.earliest(), child_birth.latest())
    if oldest_possible < PARENT_MIN_AGE:
        return [Issue(field, "family.parent_too_young", {"min_age": PARENT_MIN_AGE})]
    if oldest_possible < PARENT_YOUNG_AGE:
        return [Issue(field, "family.parent_young", {"age": PARENT_YOUNG_AGE})]
    if _full_years(parent_birth.latest(), child_birth.earliest()) > PARENT_OLD_AGE:
        return [Issue(field, "family.parent_old", {"age": PARENT_OLD_AGE})]
    return []


def _under(age: int, birth: PartialDate | None, today: date) -> bool:
    """Under `age` on every day the partial date of birth can mean: the benefit of the doubt."""
    return birth is not None and _full_years(birth.earliest(), today) < age


def check_spouse_age(birth: PartialDate | None, sex: str, today: date, *, field: str) -> list[Issue]:
    """A spouse younger than the age of marriage for their sex (a warning: a record's birth year may be
    wrong, a marriage abroad may follow other law)."""
    age = MARRIAGE_AGE.get(sex, min(MARRIAGE_AGE.values()))
    if _under(age, birth, today):
        return [
            Issue(
                field, "family.spouse_young", {"male_age": MARRIAGE_AGE["M"], "female_age": MARRIAGE_AGE["F"]}
            )
        ]
    return []


def check_representative_age(birth: PartialDate | None, today: date, *, field: str) -> list[Issue]:
    """A legal representative must be an adult (a warning, for the reviewer to look at the papers)."""
    return (
        [Issue(field, "family.representative_minor", {"age": ADULT_AGE})]
        if _under(ADULT_AGE, birth, today)
        else []
    )


def check_pin(
    pin: str,
    *,
    sex: str | None,
    birth: PartialDate | None,
    registration_place: str | None = None,
    birth_place: str | None = None,
    field: str = "pin",
) -> list[Issue]:
    """The PIN's structure, and its agreement with the record's sex, birth year and place of birth
    registration (an error when they differ). Without a registration place the province of birth is
    compared instead, as a warning: births are usually, not always, registered where they happen."""
    errors = pin_codec.consistency_errors(
        pin, sex=sex, birth_year=birth.year if birth is not None else None, place_code=registration_place
    )
    issues = [Issue(field, error.code, error.params) for error in errors]
    if registration_place is None and birth_place is not None and not issues:
        pin_place = pin.strip()[:3]
        if pin_place != birth_place and pin_codec.place_name(birth_place) is not None:
            issues.append(
                Issue(
                    field,
                    "pin.birth_place_mismatch",
                    {"pin_place_code": pin_place, "birth_place_code": birth_place},
                )
            )
    return issues


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def check_cmnd(value: str | None, *, field: str = "old_id_number") -> list[Issue]:
    if value and not _is_digits(value, 9):
        return [Issue(field, "cmnd.format")]
    return []


def check_blood_type(blood_type: str, source: str) -> list[Issue]:
    if not blood_type:
        return []
    issues = []
    if blood_type not in BLOOD_TYPES:
        issues.append(Issue("blood_type", "blood_type.unknown"))
    if not source.strip():
        issues.append(Issue("blood_type_source", "blood_type.no_source"))
    return issues


def check_units(
    *, commune_code: str | None, legacy_commune_code: str | None, on: date, units: UnitIndex
) -> list[Issue]:
    """Unit codes must exist and be valid on the date the address is declared for: a 2025 commune from
    1 July 2025, a legacy commune before it. A legacy address comes with the 2025 commune it became, and
    the two must agree with the official succession table (a warning: a split commune may have gone
    either way at the street level)."""
    issues = []
    commune_known = commune_code is not None and commune_code in units.communes
    legacy_known = legacy_commune_code is not None and legacy_commune_code in units.legacy_communes
    if commune_code is not None and not commune_known:
        issues.append(Issue("commune", "unit.unknown", {"code": commune_code}))
    if legacy_commune_code is not None and not legacy_known:
        issues.append(Issue("legacy_commune", "unit.unknown", {"code": legacy_commune_code}))
    if on >= UNITS_REFORM_DATE:
        if legacy_known and commune_code is None:
            issues.append(
                Issue(
                    "legacy_commune",
                    "unit.not_valid_at_date",
                    {"code": legacy_commune_code, "on": on.isoformat()},
                )
            )
    elif commune_known and legacy_commune_code is None:
        issues.append(
            Issue("commune", "unit.not_valid_at_date", {"code": commune_code, "on": on.isoformat()})
        )
    if commune_known and legacy_known:
        assert legacy_commune_code is not None
        successors = units.successors.get(legacy_commune_code)
        if successors and commune_code not in successors:
            issues.append(
                Issue(
                    "commune",
                    "unit.succession_mismatch",
                    {"code": commune_code, "legacy_code": legacy_commune_code},
                )
            )
    return issues


def duplicate_issues(
    value: str | None, index: IdentifierIndex | None, *, field: str, kind: str, record_id: str
) -> list[Issue]:
    """Whether `value` is taken in the registry or earlier in the batch (`kind` "pin" or "cmnd"); `index`
    remembers that `record_id` carries it."""
    if not value or index is None:
        return []
    in_registry, earlier = index.claim(value, record_id=record_id)
    issues = []
    if in_registry:
        issues.append(Issue(field, f"{kind}.duplicate"))
    if earlier is not None:
        issues.append(Issue(field, f"{kind}.duplicate_in_batch", {"first_record": earlier}))
    return issues


def check_person(record: PersonInput, *, context: RuleContext) -> list[Issue]:
    """Every rule about one person record; an empty list when it is clean.

    Costs no database query: duplicates and units are checked against what `context` holds.
    """
    today = context.today
    birth = record.birth_date
    issues = check_full_name(record.full_name)
    issues += check_name(record.father_name, field="father_name", required=False)
    issues += check_name(record.mother_name, field="mother_name", required=False)
    issues += check_sex(record.sex)
    if birth is None:
        issues.append(Issue("birth_date", "date.required"))
    else:
        issues += check_not_in_future(birth, field="birth_date", today=today)
        issues += check_age_plausible(birth, record.date_of_death, today=today)
    if record.date_of_death is not None:
        issues += check_not_in_future(record.date_of_death, field="date_of_death", today=today)
        issues += check_death_after_birth(birth, record.date_of_death)
    for parent_field, parent_birth in (
        ("father_birth_date", record.father_birth_date),
        ("mother_birth_date", record.mother_birth_date),
    ):
        if parent_birth is not None:
            issues += check_not_in_future(parent_birth, field=parent_field, today=today)
            issues += check_parent_age(parent_birth, birth, field=parent_field)
    if record.birth_place is not None and pin_codec.place_name(record.birth_place) is None:
        issues.append(Issue("birth_place", "birth_place.unknown", {"value": record.birth_place}))
    if record.id_number:
        pin_issues = check_pin(
            record.id_number,
            sex=record.sex if record.sex in (pin_codec.SEX_MALE, pin_codec.SEX_FEMALE) else None,
            birth=birth,
            registration_place=record.birth_registration_place,
            birth_place=record.birth_place,
            field="id_number",
        )
        issues += pin_issues
        if not any(issue.rule_code in _PIN_STRUCTURE_CODES for issue in pin_issues):
            issues += duplicate_issues(
                record.id_number, context.pins, field="id_number", kind="pin", record_id=record.record_id
            )
    if record.old_id_number:
        cmnd_issues = check_cmnd(record.old_id_number)
        issues += cmnd_issues
        if not cmnd_issues:
            issues += duplicate_issues(
                record.old_id_number,
                context.cmnds,
                field="old_id_number",
                kind="cmnd",
                record_id=record.record_id,
            )
    issues += check_blood_type(record.blood_type, record.blood_type_source)
    if not record.address.strip() and record.commune_code is None and record.legacy_commune_code is None:
        issues.append(Issue("address", "address.required"))
    elif context.units is not None:
        issues += check_units(
            commune_code=record.commune_code,
            legacy_commune_code=record.legacy_commune_code,
            on=record.address_date or today,
            units=context.units,
        )
    return issues


_PIN_STRUCTURE_CODES = frozenset({"pin.format", "pin.place", "pin.serial"})


@dataclass(frozen=True, slots=True)
class MemberInput:
    """One record of a household group: its id and its relation to the head (registry Relation values)."""

    record_id: str
    relation_to_head: str


def check_household(members: Sequence[MemberInput], *, household: str = "") -> list[Issue]:
    """A household has exactly one head (chủ hộ) and every member a known relation to the head: one left
    blank is a field not filled in (`field.required`), one given that is no relation `relation.invalid`."""
    from dancu.registry.models import Relation

    issues = []
    heads = []
    for member in members:
        if not member.relation_to_head:
            issues.append(Issue("relation_to_head", "field.required", {"record_id": member.record_id}))
        elif member.relation_to_head not in Relation.values:
            issues.append(
                Issue(
                    "relation_to_head",
                    "relation.invalid",
                    {"record_id": member.record_id, "value": member.relation_to_head},
                )
            )
        elif member.relation_to_head == Relation.HEAD:
            heads.append(member.record_id)
    if not heads:
        issues.append(Issue("household", "household.no_head", {"household": household}))
    issues.extend(
        Issue(
            "relation_to_head",
            "household.second_head",
            {"household": household, "first_head": heads[0], "record_id": record_id},
        )
        for record_id in heads[1:]
    )
    return issues


# Severity helpers for callers that decide what happens to a record ----------------------------------------


def errors_of(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity is Severity.ERROR]


def warnings_of(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity is Severity.WARNING]
