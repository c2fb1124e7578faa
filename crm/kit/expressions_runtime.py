"""Small helpers called by code compiled from spec expressions (computed fields, automations).

Compiled expressions stay plain Python; they call these helpers only where plain operators
would crash or mislead on empty values: a division by zero or by an empty value gives an
empty result, a comparison with an empty value is false, date arithmetic on an empty date
stays empty, and rounding is half-up as people expect. Standard library only; no Django.
"""

from __future__ import annotations

import datetime
import operator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_COMPARISONS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _as_date(value: Any) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _is_date(value: Any) -> bool:
    return isinstance(value, datetime.date)


def divide(dividend: Any, divisor: Any) -> Decimal | None:
    """dividend / divisor as a Decimal; empty when either is empty or the divisor is zero."""
    if dividend is None or divisor is None or divisor == 0:
        return None
    return Decimal(dividend) / Decimal(divisor)


def compare(left: Any, operator_symbol: str, right: Any) -> bool:
    """left <op> right, false when either side is empty (like SQL)."""
    if left is None or right is None:
        return False
    if _is_date(left) and _is_date(right):
        left, right = _as_date(left), _as_date(right)
    return bool(_COMPARISONS[operator_symbol](left, right))


def add_days(day: Any, days: Any) -> datetime.date | None:
    """A date moved by whole days; empty when the date is empty or the result is no date."""
    if day is None:
        return None
    try:
        return _as_date(day) + datetime.timedelta(days=int(days or 0))
    except (OverflowError, ValueError):
        return None


def days_between(start: Any, end: Any) -> int | None:
    """Whole days from start to end (negative when end is earlier); empty if either is."""
    if start is None or end is None:
        return None
    return (_as_date(end) - _as_date(start)).days


def add(left: Any, right: Any) -> Any:
    """left + right when the types are only known at run time (numbers, dates + days)."""
    if _is_date(left) and not _is_date(right):
        return add_days(left, right)
    if _is_date(right) and not _is_date(left):
        return add_days(right, left)
    if isinstance(left, str) or isinstance(right, str):
        return f"{left or ''}{right or ''}"
    return (left or 0) + (right or 0)


def subtract(left: Any, right: Any) -> Any:
    """left - right when the types are only known at run time (numbers, dates, days)."""
    if _is_date(left) and _is_date(right):
        return days_between(right, left)
    if _is_date(left):
        return add_days(left, -(right or 0))
    return (left or 0) - (right or 0)


def round_half_up(value: Any, places: Any = 0) -> Decimal | int:
    """value rounded half away from zero; an integer when places is 0."""
    places = int(places or 0)
    number = Decimal(value or 0)
    try:
        rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than Decimal keeps: nothing left to round
        rounded = number
    return int(rounded) if places == 0 else rounded
