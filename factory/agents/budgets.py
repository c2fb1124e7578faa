"""Budgets per run: turns, input tokens, output tokens and money.

A run's limits are copied onto the run when it is created (from settings unless the
caller gives others), so a resumed run keeps the budget it started with. ``budget_stop``
says, before each turn, whether the run may take another one, and if not, why, in a
sentence that names the limit and the setting that raises it. A model without a known
price has an unknown cost: ``cost_unknown_note`` says so, the run records $0 with that
note, and the money budget does not apply to it (the turn and token budgets still do).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from factory.agents.models import AgentRun
    from factory.llm.base import ModelProvider
    from factory.llm.pricing import ModelPrice

COST_NOTE_KEY = "cost_note"


@dataclass(frozen=True)
class AgentBudget:
    max_turns: int = 40
    max_input_tokens: int = 600_000
    max_output_tokens: int = 60_000
    max_cost: Decimal | None = Decimal("2.00")  # USD; None: no money cap

    @classmethod
    def from_settings(cls) -> AgentBudget:
        from django.conf import settings

        cost = Decimal(str(getattr(settings, "FACTORY_AGENT_MAX_COST_USD", "2.00") or 0))
        return cls(
            max_turns=int(getattr(settings, "FACTORY_AGENT_MAX_TURNS", 40)),
            max_input_tokens=int(getattr(settings, "FACTORY_AGENT_MAX_INPUT_TOKENS", 600_000)),
            max_output_tokens=int(getattr(settings, "FACTORY_AGENT_MAX_OUTPUT_TOKENS", 60_000)),
            max_cost=cost if cost > 0 else None,
        )


def budget_stop(run: AgentRun) -> tuple[str, str] | None:
    """(status, message) when the run may not take another turn, else None."""
    if run.turns_count >= run.max_turns:
        return (
            "max_turns",
            f"Stopped after {run.turns_count} turns, the run's limit, before the task was "
            "finished. Split the task, or raise FACTORY_AGENT_MAX_TURNS.",
        )
    if run.input_tokens >= run.max_input_tokens:
        return (
            "budget",
            f"Stopped: the run used {run.input_tokens:,} input tokens, over its budget of "
            f"{run.max_input_tokens:,}. Split the task, or raise FACTORY_AGENT_MAX_INPUT_TOKENS.",
        )
    if run.output_tokens >= run.max_output_tokens:
        return (
            "budget",
            f"Stopped: the run used {run.output_tokens:,} output tokens, over its budget of "
            f"{run.max_output_tokens:,}. Split the task, or raise "
            "FACTORY_AGENT_MAX_OUTPUT_TOKENS.",
        )
    if run.max_cost is not None and run.cost >= run.max_cost:
        return (
            "budget",
            f"Stopped: the run cost ${run.cost:.4f}, over its budget of ${run.max_cost:.2f}. "
            "Split the task, use a cheaper model, or raise FACTORY_AGENT_MAX_COST_USD.",
        )
    return None


def cost_unknown_note(*, provider: ModelProvider, prices: Mapping[str, ModelPrice]) -> str:
    """The note a run records when its model's cost is not known, else "".

    A self-hosted OpenAI-compatible server usually costs nothing per token, so its models
    count as free unless the price table names them.
    """
    from factory.llm.pricing import price_for

    if not provider.billable or price_for(provider.model, prices) is not None:
        return ""
    if provider.name == "openai_compatible":
        return (
            f"Cost not known: model {provider.model!r} on the OpenAI-compatible server has no "
            "price, so it counts as free ($0) and the money budget does not apply. Add it to "
            "FACTORY_LLM_PRICES to count its cost."
        )
    return (
        f"Cost not known: no price is known for model {provider.model!r}, so the run records "
        "$0 and the money budget does not apply (turns and tokens are still limited). Add it "
        "to FACTORY_LLM_PRICES (USD per million input and output tokens) to count its cost."
    )


def run_cost_note_record(*, run: AgentRun, note: str) -> None:
    """Keep the note on the run (in its context), where the console and reports read it."""
    from factory.agents.models import AgentRun

    if not note or run.context.get(COST_NOTE_KEY) == note:
        return
    run.context = {**run.context, COST_NOTE_KEY: note}
    AgentRun.objects.filter(pk=run.pk).update(context=run.context)


def run_cost_note(run: AgentRun) -> str:
    """The run's note when its cost is not known, else ""."""
    return str((run.context or {}).get(COST_NOTE_KEY, ""))
