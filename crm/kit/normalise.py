"""Normalisers for contact data, used by model ``clean``/``save`` and by CSV import."""

from __future__ import annotations

import re

_PHONE_NOISE = re.compile(r"[\s().\-/]")


def normalise_email(value: str | None) -> str | None:
    """Trimmed and lower-cased; empty becomes None (so unique columns accept many blanks)."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def normalise_phone(value: str | None) -> str:
    """Digits with an optional leading +: '+33 (0)6 12-34' → '+33061234'; '00' becomes '+'."""
    if not value:
        return ""
    value = _PHONE_NOISE.sub("", value.strip())
    if value.startswith("00"):
        value = "+" + value[2:]
    sign = "+" if value.startswith("+") else ""
    return sign + re.sub(r"\D", "", value)


def normalise_domain(value: str | None) -> str | None:
    """'https://www.Acme.com/about' → 'acme.com'; empty becomes None."""
    if not value:
        return None
    value = value.strip().lower()
    value = re.sub(r"^[a-z]+://", "", value)
    value = value.split("/", 1)[0].split(":", 1)[0]
    value = value.removeprefix("www.")
    return value or None
