"""Column sizes a field gets when its spec leaves them open: the one definition of them.

The validator checks defaults against these sizes, the compiler renders them and the spec
diff compares effective sizes (so "no max_length → 255" is no change and "→ 100" a
narrowing): all three import them from here. They are the sizes Django and the kit give
their fields when none is written (EmailField 254, URLField 200, the kit's choice field
64); a test keeps them equal. Plain data: no Django import.
"""

from __future__ import annotations

from factory.spec.models import FieldSpec, FieldType

# max_length of text-like fields whose spec sets none.
DEFAULT_MAX_LENGTH: dict[FieldType, int] = {
    FieldType.TEXT: 255,
    FieldType.EMAIL: 254,
    FieldType.PHONE: 32,
    FieldType.URL: 200,
    FieldType.CHOICE: 64,
}
# max_digits and decimal_places of decimal and money fields whose spec sets none.
DEFAULT_MAX_DIGITS = 14
DEFAULT_DECIMAL_PLACES = 2


def effective_digits(field: FieldSpec) -> tuple[int, int]:
    """(max digits, decimal places) a decimal or money field is stored with."""
    return (
        field.max_digits or DEFAULT_MAX_DIGITS,
        field.decimal_places if field.decimal_places is not None else DEFAULT_DECIMAL_PLACES,
    )
