"""The Vietnamese message of a value outside a list of choices is Vietnamese throughout (review of session
23): an auditor who asked for the access log as a PDF read "Phải là một trong các giá trị: 'csv' or
'xlsx'", pydantic's English "or" in the middle of the Vietnamese sentence."""

from __future__ import annotations

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def test_the_choices_of_a_refused_file_format_are_joined_in_vietnamese(personas: Personas) -> None:
    _token, secret = api_token_create(user=personas.an, name="kiểm toán")
    auditor = Client(headers={"Authorization": f"Bearer {secret}"})

    response = auditor.get("/api/v1/audit/access/export.pdf")

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("file_format", "schema.literal_error")
    assert error["message_vi"] == "Giá trị không hợp lệ: Phải là một trong các giá trị: 'csv' hoặc 'xlsx'"
    assert error["message_en"] == "Invalid value: Input should be 'csv' or 'xlsx'"


def test_only_the_last_or_of_a_longer_list_is_pydantics_word() -> None:
    from dancu.config.api import _schema_message_vi

    assert _schema_message_vi("literal_error", {"expected": "'view', 'search' or 'export'"}) == (
        "Giá trị không hợp lệ: Phải là một trong các giá trị: 'view', 'search' hoặc 'export'"
    )
    assert _schema_message_vi("enum", {"expected": "'web'"}) == (
        "Giá trị không hợp lệ: Phải là một trong các giá trị: 'web'"
    )
