"""The sizes a field gets when its spec leaves them open are those Django and the kit use."""

from __future__ import annotations

from django.db import models

from crm.kit.fields import ChoiceListField
from factory.spec.models import FieldSpec, FieldType
from factory.spec.sizes import (
    DEFAULT_DECIMAL_PLACES,
    DEFAULT_MAX_DIGITS,
    DEFAULT_MAX_LENGTH,
    effective_digits,
)


def test_open_sizes_are_the_ones_django_and_the_kit_give_their_fields():
    assert DEFAULT_MAX_LENGTH[FieldType.EMAIL] == models.EmailField().max_length
    assert DEFAULT_MAX_LENGTH[FieldType.URL] == models.URLField().max_length
    assert DEFAULT_MAX_LENGTH[FieldType.CHOICE] == ChoiceListField(choice_list="x").max_length
    assert DEFAULT_MAX_LENGTH == {"text": 255, "email": 254, "phone": 32, "url": 200, "choice": 64}


def test_effective_digits_fill_in_what_the_spec_leaves_open():
    def money(**options: object) -> FieldSpec:
        return FieldSpec(id="x", name="x", label="x", type="money", **options)

    assert (DEFAULT_MAX_DIGITS, DEFAULT_DECIMAL_PLACES) == (14, 2)
    assert effective_digits(money()) == (14, 2)
    assert effective_digits(money(max_digits=8)) == (8, 2)
    assert effective_digits(money(decimal_places=0)) == (14, 0)


def test_the_validator_the_compiler_and_the_diff_share_one_definition():
    from factory.compiler import context
    from factory.evolution import diff
    from factory.spec import validation

    assert validation.DEFAULT_MAX_LENGTH is context.DEFAULT_MAX_LENGTH is diff.DEFAULT_MAX_LENGTH
    assert diff.DEFAULT_DIGITS[FieldType.MONEY] == (DEFAULT_MAX_DIGITS, DEFAULT_DECIMAL_PLACES)
