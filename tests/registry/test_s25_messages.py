"""A PIN or CMND already on a record does not say "issued to someone else": when a book is imported again
it is most often the same person, and the message says what to do then (session 25, the reviewers' round)."""

from __future__ import annotations

import pytest

from dancu.registry.rules import RULES


@pytest.mark.parametrize("code", ["pin.duplicate", "cmnd.duplicate"])
def test_a_number_already_on_a_record_says_what_to_do_if_it_is_the_same_person(code: str) -> None:
    rule = RULES[code]
    assert "người khác" not in rule.message_vi
    assert "công dân khác" not in rule.message_vi
    assert "someone else" not in rule.message_en
    assert "another citizen" not in rule.message_en
    assert "cùng một người" in rule.message_vi
    assert "(DC02)" in rule.message_vi
    assert "same person" in rule.message_en
    assert "(DC02)" in rule.message_en
