"""Reference tables of the registry: ethnic groups, religions, blood types and relations.

Ethnic groups follow the official list of the 54 groups of Vietnam (Quyết định 121-TCTK/PPCĐ, codes
01-54); religions follow the religions recognised by the Government Committee for Religious Affairs.
Codes are what the database stores; names are shown to people.
"""

from __future__ import annotations

from django.utils.translation import pgettext_lazy
from django_stubs_ext import StrOrPromise

ETHNICITIES: dict[str, str] = {
    "01": "Kinh", "02": "Tày", "03": "Thái", "04": "Hoa", "05": "Khơ-me", "06": "Mường", "07": "Nùng",
    "08": "Hmông", "09": "Dao", "10": "Gia-rai", "11": "Ngái", "12": "Ê-đê", "13": "Ba-na",
    "14": "Xơ-đăng", "15": "Sán Chay", "16": "Cơ-ho", "17": "Chăm", "18": "Sán Dìu", "19": "Hrê",
    "20": "Mnông", "21": "Ra-glai", "22": "Xtiêng", "23": "Bru-Vân Kiều", "24": "Thổ", "25": "Giáy",
    "26": "Cơ-tu", "27": "Gié-Triêng", "28": "Mạ", "29": "Khơ-mú", "30": "Co", "31": "Tà-ôi",
    "32": "Chơ-ro", "33": "Kháng", "34": "Xinh-mun", "35": "Hà Nhì", "36": "Chu-ru", "37": "Lào",
    "38": "La Chí", "39": "La Ha", "40": "Phù Lá", "41": "La Hủ", "42": "Lự", "43": "Lô Lô",
    "44": "Chứt", "45": "Mảng", "46": "Pà Thẻn", "47": "Cơ Lao", "48": "Cống", "49": "Bố Y",
    "50": "Si La", "51": "Pu Péo", "52": "Brâu", "53": "Ơ-đu", "54": "Rơ-măm",
}  # fmt: skip

# Religions as the Government Committee for Religious Affairs names them; English pages show the names
# English writes for them (the Vietnamese name stays the msgid, under the context "tôn giáo").
RELIGIONS: dict[str, StrOrPromise] = {
    "00": pgettext_lazy("tôn giáo", "Không"),
    "01": pgettext_lazy("tôn giáo", "Phật giáo"),
    "02": pgettext_lazy("tôn giáo", "Công giáo"),
    "03": pgettext_lazy("tôn giáo", "Tin lành"),
    "04": pgettext_lazy("tôn giáo", "Cao Đài"),
    "05": pgettext_lazy("tôn giáo", "Phật giáo Hòa Hảo"),
    "06": pgettext_lazy("tôn giáo", "Hồi giáo"),
    "07": pgettext_lazy("tôn giáo", "Tôn giáo Baha'i"),
    "08": pgettext_lazy("tôn giáo", "Tịnh độ Cư sỹ Phật hội Việt Nam"),
    "09": pgettext_lazy("tôn giáo", "Đạo Tứ Ân Hiếu Nghĩa"),
    "10": pgettext_lazy("tôn giáo", "Bửu Sơn Kỳ Hương"),
    "11": pgettext_lazy("tôn giáo", "Minh Sư đạo"),
    "12": pgettext_lazy("tôn giáo", "Minh Lý đạo - Tam Tông Miếu"),
    "13": pgettext_lazy("tôn giáo", "Bà-la-môn giáo"),
    "14": pgettext_lazy("tôn giáo", "Mặc môn"),
    "15": pgettext_lazy("tôn giáo", "Phật giáo Hiếu Nghĩa Tà Lơn"),
    "16": pgettext_lazy("tôn giáo", "Cơ đốc Phục lâm"),
}

BLOOD_TYPES = ("A", "B", "AB", "O", "A-", "B-", "AB-", "O-")
