"""Data migrations of the registry, run on records written the way older code wrote them."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from dancu.registry.models import Citizen, Residence
from tests.conftest import make_citizen

pytestmark = pytest.mark.django_db


def test_records_spelled_with_look_alikes_get_the_search_keys_they_now_fold_to() -> None:
    rekey = importlib.import_module("dancu.registry.migrations.0007_rekey_lookalike_letters").rekey
    eth = make_citizen(full_name="Đặng Thị Đào", address="Số 3 ngõ Đình")
    apostrophe = make_citizen(full_name="H'Hen Niê", birth_date="1992")
    plain = make_citizen(full_name="Nguyễn Văn Hùng")
    # As the code before the migration stored them: the name as typed, the key with the eth kept.
    Citizen.objects.filter(pk=eth.pk).update(
        full_name="\u00d0\u1eb7ng Th\u1ecb \u00d0\u00e0o", name_key="\u00f0ang thi \u00f0ao"
    )
    Citizen.objects.filter(pk=apostrophe.pk).update(
        full_name="H\u2019Hen Ni\u00ea", name_key="h\u2019hen nie"
    )
    Residence.objects.filter(citizen=eth).update(
        address_detail="S\u1ed1 3 ng\u00f5 \u00d0\u00ecnh", address_key="so 3 ngo \u00f0inh"
    )

    rekey(apps, None)

    keys = dict(
        Citizen.objects.filter(pk__in=[eth.pk, apostrophe.pk, plain.pk]).values_list("pk", "name_key")
    )
    assert keys == {eth.pk: "dang thi dao", apostrophe.pk: "h'hen nie", plain.pk: "nguyen van hung"}
    assert set(Residence.objects.filter(citizen=eth).values_list("address_key", flat=True)) == {
        "so 3 ngo dinh"
    }
    # The names are personal data: only a correction with its reason changes them.
    assert Citizen.objects.get(pk=eth.pk).full_name == "\u00d0\u1eb7ng Th\u1ecb \u00d0\u00e0o"


def test_hyphenated_names_get_the_key_that_reads_the_hyphen_as_a_space() -> None:
    migration = importlib.import_module("dancu.registry.migrations.0009_rekey_hyphenated_names")
    hyphen = make_citizen(full_name="Y-Moan Ênuôl", birth_date="1994")
    unicode_hyphen = make_citizen(full_name="Y-Sơn Niê", birth_date="1995")
    plain = make_citizen(full_name="Nguyễn Văn Hùng")
    # As the code before the migration stored them: the key kept the hyphen.
    Citizen.objects.filter(pk=hyphen.pk).update(name_key="y-moan enuol")
    Citizen.objects.filter(pk=unicode_hyphen.pk).update(full_name="Y\u2010Sơn Niê", name_key="y-son nie")

    migration.rekey(apps, None)

    keys = dict(
        Citizen.objects.filter(pk__in=[hyphen.pk, unicode_hyphen.pk, plain.pk]).values_list("pk", "name_key")
    )
    assert keys == {hyphen.pk: "y moan enuol", unicode_hyphen.pk: "y son nie", plain.pk: "nguyen van hung"}
    assert Citizen.objects.get(pk=unicode_hyphen.pk).full_name == "Y\u2010Sơn Niê"

    # The reverse gives the keys of the code before it, for a rollback.
    migration.restore(apps, None)

    assert Citizen.objects.get(pk=hyphen.pk).name_key == "y-moan enuol"
    assert Citizen.objects.get(pk=plain.pk).name_key == "nguyen van hung"
