"""The English translation: complete, compiled, and chosen by the visitor.

Source strings are Vietnamese (they are the gettext msgids); English lives in
src/dancu/locale/en/LC_MESSAGES/django.po and its compiled django.mo, both committed. See
docs/translations.md for how to refresh them after adding strings.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from dancu.accounts.models import User
from tests.conftest import People, Personas

LC_MESSAGES = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

# %(name)s style placeholders (blocktranslate variables become these) and the stable error codes that
# dancu appends to messages, such as [unit.unknown]: a translation must keep every one of them.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\[[a-z_]+(?:\.[a-z_]+)+\]")


@dataclass
class Entry:
    msgid: str = ""
    msgstr: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    plurals: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0


def parse_po(path: Path) -> list[Entry]:
    """A small reader for the .po format: enough to check it, with no dependency outside the stdlib."""
    entries: list[Entry] = []
    entry = Entry()
    target: str | None = None
    started = False

    def finish() -> None:
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = Entry(), False, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#~"):
            finish()
            entries.append(Entry(obsolete=True, line=number))
            continue
        if not line:
            finish()
            continue
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _sep, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        else:
            if keyword in {"msgctxt", "msgid"} and target is not None and target.startswith("msgstr"):
                finish()
            target = keyword
            started = True
            entry.line = entry.line or number
        text = ast.literal_eval(rest)
        assert isinstance(text, str)
        assert target is not None, f"{path}:{number}: text outside an entry"
        if target == "msgid":
            entry.msgid += text
        elif target == "msgstr":
            entry.msgstr += text
        elif target == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + text
        elif target == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + text
        elif (match := re.fullmatch(r"msgstr\[(\d+)\]", target)) is not None:
            index = int(match.group(1))
            entry.plurals[index] = entry.plurals.get(index, "") + text
        else:
            raise AssertionError(f"{path}:{number}: unexpected {target!r}")
    finish()
    return entries


def messages() -> list[Entry]:
    return [e for e in parse_po(PO_FILE) if e.msgid and not e.obsolete]


def test_the_catalog_holds_messages() -> None:
    entries = messages()
    assert len(entries) > 100
    assert {"Tra cứu", "Số định danh cá nhân", "Chủ hộ"} <= {e.msgid for e in entries}


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    header = next(e for e in parse_po(PO_FILE) if not e.msgid)
    assert "fuzzy" not in header.flags
    assert "Language: en\n" in header.msgstr
    untranslated = [
        e.msgid for e in messages() if not e.msgstr.strip() and not any(v.strip() for v in e.plurals.values())
    ]
    fuzzy = [e.msgid for e in messages() if "fuzzy" in e.flags]
    assert untranslated == [], "untranslated msgids in django.po"
    assert fuzzy == [], "fuzzy entries in django.po"


def test_no_obsolete_entries_linger() -> None:
    assert [e.line for e in parse_po(PO_FILE) if e.obsolete] == []


def test_translations_keep_placeholders_and_error_codes() -> None:
    for entry in messages():
        translations = [entry.msgstr] if entry.msgid_plural is None else list(entry.plurals.values())
        for translated in translations:
            assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(entry.msgid)), (
                entry.msgid
            )


def test_translations_are_not_copies_of_the_vietnamese() -> None:
    """msgmerge and careless edits can leave msgstr == msgid; only language-neutral strings may match."""
    vietnamese = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)
    copies = [e.msgid for e in messages() if e.msgstr == e.msgid and vietnamese.search(e.msgid)]
    assert copies == []


def test_the_compiled_catalog_matches_the_po_file() -> None:
    """django.mo is what runs: it must be recompiled whenever django.po changes."""
    with MO_FILE.open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    stale = []
    for entry in messages():
        if entry.msgid_plural is not None:
            got = (
                compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                if entry.msgctxt
                else (compiled.ngettext(entry.msgid, entry.msgid_plural, 1))
            )
            want = entry.plurals.get(0, "")
        else:
            got = (
                compiled.pgettext(entry.msgctxt, entry.msgid)
                if entry.msgctxt
                else compiled.gettext(entry.msgid)
            )
            want = entry.msgstr
        if got != want:
            stale.append(entry.msgid)
    assert stale == [], "django.mo is out of date: run compilemessages (docs/translations.md)"


@pytest.mark.parametrize(
    ("vietnamese", "english"),
    [
        ("Tra cứu", "Search"),
        ("Số định danh cá nhân", "Personal identification number"),
        ("Hộ", "Household"),
        ("Chủ hộ", "Head of household"),
        ("Thường trú", "Permanent residence"),
        ("Tạm trú", "Temporary residence"),
        ("Công an xã/phường", "Commune/ward police"),
        ("Cán bộ phúc tra cấp huyện/tỉnh", "District/provincial re-check officer"),
        ("Đăng nhập", "Sign in"),
    ],
)
def test_key_strings_translate_to_english(vietnamese: str, english: str) -> None:
    with translation.override("en"):
        assert translation.gettext(vietnamese) == english
    with translation.override("vi"):
        assert translation.gettext(vietnamese) == vietnamese


def test_placeholders_are_filled_in_english() -> None:
    with translation.override("en"):
        assert translation.gettext("Trang %(n)s") % {"n": 3} == "Page 3"


def test_model_choices_follow_the_active_language() -> None:
    with translation.override("en"):
        assert str(User.Role.SUPERVISOR.label) == "District/provincial re-check officer"
    with translation.override("vi"):
        assert str(User.Role.SUPERVISOR.label) == "Cán bộ phúc tra cấp huyện/tỉnh"


def page(client: Client, url: str = "/login/", **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_login_page_is_vietnamese_by_default(client: Client) -> None:
    html = page(client)
    assert '<html lang="vi">' in html
    assert "Đăng nhập cán bộ" in html
    assert "Tên đăng nhập" in html
    assert "Officer sign-in" not in html


def test_login_page_follows_the_browser_language(client: Client) -> None:
    html = page(client, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="en">' in html
    assert "Officer sign-in" in html
    assert "Username" in html
    assert "National Population Database" in html
    assert "Đăng nhập cán bộ" not in html


def test_the_language_switch_turns_the_site_english_and_back(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = page(client)
    assert '<html lang="en">' in html
    assert "Officer sign-in" in html
    # The switch offers the way back, labelled in Vietnamese.
    assert 'value="vi"' in html
    assert "Tiếng Việt" in html

    client.post("/i18n/setlang/", {"language": "vi", "next": "/login/"})
    html = page(client)
    assert '<html lang="vi">' in html
    assert "Đăng nhập cán bộ" in html


def test_the_cookie_outranks_the_browser_language(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = page(client, HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="vi">' in html


@pytest.mark.django_db
def test_a_failed_sign_in_is_reported_in_english(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post("/login/", {"username": "nobody", "password": "not-the-password"})
    assert response.status_code == 200
    assert "Incorrect username or password" in response.content.decode()


def test_officer_home_page_in_english(
    client: Client, personas: Personas, sign_in: Callable[[Client, User], Client]
) -> None:
    sign_in(client, personas.lan)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = page(client, "/")
    assert '<html lang="en">' in html
    for text in ("Search", "Add citizen", "Sign out", "Citizens in jurisdiction", "Quick search"):
        assert text in html
    assert "Data collection officer (commune police)" in html
    assert "Tra cứu nhanh" not in html


def test_citizen_record_in_english(
    client: Client, personas: Personas, people: People, sign_in: Callable[[Client, User], Client]
) -> None:
    sign_in(client, personas.lan)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = page(client, f"/citizens/{people.hung.pk}/")
    assert '<html lang="en">' in html
    for text in ("Personal identification number", "Date of birth", "Permanent residence", "Residence"):
        assert text in html
    assert "Male" in html
    assert "Số định danh cá nhân" not in html


# Django's own messages in Vietnamese: its catalogue misses some (their msgids changed after it was last
# updated), which src/dancu/locale/vi supplies.

VI_LC_MESSAGES = Path(settings.LOCALE_PATHS[0]) / "vi" / "LC_MESSAGES"


def test_the_vietnamese_supplement_is_translated_and_compiled() -> None:
    entries = [e for e in parse_po(VI_LC_MESSAGES / "django.po") if e.msgid]
    assert entries
    with (VI_LC_MESSAGES / "django.mo").open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    for entry in entries:
        want = entry.plurals.get(0) if entry.msgid_plural else entry.msgstr
        assert want, f"untranslated: {entry.msgid}"
        assert PLACEHOLDER.findall(want) == PLACEHOLDER.findall(entry.msgid), entry.msgid
        got = (
            compiled.ngettext(entry.msgid, entry.msgid_plural, 1)
            if entry.msgid_plural
            else compiled.gettext(entry.msgid)
        )
        assert got == want, f"the .mo is older than the .po: {entry.msgid}"


def test_a_waiting_time_and_a_null_character_are_reported_in_vietnamese() -> None:
    from datetime import timedelta

    from django import forms
    from django.core.exceptions import ValidationError
    from django.utils import timezone
    from django.utils.timesince import timesince

    now = timezone.now()
    with translation.override("vi"):
        assert timesince(now - timedelta(minutes=2), now) == "2\xa0phút"
        assert timesince(now - timedelta(days=3, hours=5), now) == "3\xa0ngày, 5\xa0giờ"
        with pytest.raises(ValidationError) as refused:
            forms.CharField().clean("Nguyễn\x00Văn")
        assert refused.value.messages == ["Không được chứa ký tự rỗng (NUL)."]
    with translation.override("en"):
        assert timesince(now - timedelta(minutes=2), now) == "2\xa0minutes"


def test_the_queue_says_how_long_a_form_has_waited_in_vietnamese(
    client: Client, personas: Personas, sign_in: Callable[[Client, User], Client]
) -> None:
    from tests.collection.forms_support import dc01

    dc01(personas.lan)
    sign_in(client, personas.lan)
    html = page(client, "/forms/")
    assert "0\xa0phút" in html
    assert "minute" not in html
