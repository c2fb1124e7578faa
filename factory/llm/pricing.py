"""Money: what a turn cost, from a price table in USD per million tokens.

The table comes from settings (``FACTORY_LLM_PRICES``); a dated model name falls back to
its undated prefix ("gpt-5-mini-2025-08-07" is priced as "gpt-5-mini"). Cached input is
priced apart when the table says so. Amounts are Decimals, never floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from factory.llm.types import Usage

MILLION = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class ModelPrice:
    input_per_million: Decimal
    output_per_million: Decimal
    cached_input_per_million: Decimal | None = None

    @classmethod
    def parse(cls, raw: Any) -> ModelPrice:
        """From ``{"input": 1.25, "output": 10, "cached_input": 0.125}`` or ``[in, out]``."""
        if isinstance(raw, ModelPrice):
            return raw
        if isinstance(raw, Mapping):
            cached = raw.get("cached_input")
            return cls(
                Decimal(str(raw["input"])),
                Decimal(str(raw["output"])),
                None if cached is None else Decimal(str(cached)),
            )
        values = [Decimal(str(value)) for value in raw]
        return cls(*values)


def price_table(raw: Mapping[str, Any]) -> dict[str, ModelPrice]:
    return {model: ModelPrice.parse(value) for model, value in raw.items()}


def price_for(model: str, table: Mapping[str, ModelPrice]) -> ModelPrice | None:
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name + "-")]
    return table[max(prefixes, key=len)] if prefixes else None


def usage_cost(usage: Usage, price: ModelPrice) -> Decimal:
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    cached_price = (
        price.cached_input_per_million
        if price.cached_input_per_million is not None
        else price.input_per_million
    )
    total = (
        Decimal(usage.input_tokens - cached) * price.input_per_million
        + Decimal(cached) * cached_price
        + Decimal(usage.output_tokens) * price.output_per_million
    ) / MILLION
    return total.quantize(COST_QUANTUM)
