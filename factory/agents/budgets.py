"""Budgets per run: turns, input tokens, output tokens and money.

A run's limits are copied onto the run when it is created (from settings unless the
caller gives others), so a resumed run keeps the budget it started with. ``budget_stop``
says, before each turn, whether the run may take another one, and if not, why, in a
sentence that names the limit and the setting that raises it. A model without a known
price has an unknown cost: ``cost_unknown_note`` says so, the run stores 0 with that note
(the stored figure is not shown as its cost), and the money budget does not apply to it
(the turn and token budgets still do).

Money shown to builders (console, reports, API) goes through ``CostShown`` and its one
wording, ``cost_text``: a known cost in dollars, "cost unknown (model X has no price)" when
a model has no price, "replay — no model called" when no model answered. The stored $0 of
an unpriced or replayed run is never shown as a model's cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from factory.agents.models import AgentRun, AgentTurn
    from factory.llm.base import ModelProvider
    from factory.llm.pricing import ModelPrice

COST_NOTE_KEY = "cost_note"
UNPRICED_MODEL_KEY = "cost_unpriced_model"
NO_MODEL_KEY = "cost_no_model"


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

    A self-hosted OpenAI-compatible server usually costs nothing per token, yet only the
    price table can say so: until it names the model, its cost is unknown, not $0.
    """
    from factory.llm.pricing import price_for

    if not provider.billable or price_for(provider.model, prices) is not None:
        return ""
    if provider.name == "openai_compatible":
        return (
            f"Cost not known: model {provider.model!r} on the OpenAI-compatible server has no "
            "price, so its cost is not counted and the money budget does not apply. Add it to "
            "FACTORY_LLM_PRICES (0 for a free local model) to count its cost."
        )
    return (
        f"Cost not known: no price is known for model {provider.model!r}, so its cost is not "
        "counted and the money budget does not apply (turns and tokens are still limited). Add "
        "it to FACTORY_LLM_PRICES (USD per million input and output tokens) to count its cost."
    )


def run_cost_basis_record(
    *, run: AgentRun, provider: ModelProvider, prices: Mapping[str, ModelPrice]
) -> None:
    """Keep on the run (in its context), where the console and reports read it, why its
    cost may not be a model's: the unpriced model and the note, or the provider that
    answered without calling a model (replay, scripted)."""
    from factory.agents.models import AgentRun

    note = cost_unknown_note(provider=provider, prices=prices)
    if note:
        basis = {COST_NOTE_KEY: note, UNPRICED_MODEL_KEY: provider.model}
    elif not provider.billable:
        basis = {NO_MODEL_KEY: provider.name}
    else:
        return
    if all(run.context.get(key) == value for key, value in basis.items()):
        return
    run.context = {**run.context, **basis}
    AgentRun.objects.filter(pk=run.pk).update(context=run.context)


def run_cost_note(run: AgentRun) -> str:
    """The run's note when its cost is not known, else ""."""
    return str((run.context or {}).get(COST_NOTE_KEY, ""))


@dataclass(frozen=True)
class CostShown:
    """Money as builders see it: ``known``, the sum of the costs that are known (USD);
    ``unpriced``, the models with no price, whose turns cost an unknown amount;
    ``no_model``, the providers that answered without calling a model (they cost nothing).
    """

    known: Decimal = Decimal(0)
    unpriced: tuple[str, ...] = ()
    no_model: tuple[str, ...] = ()

    @property
    def amount(self) -> Decimal | None:
        """The cost in USD, or None when part of it is unknown."""
        return None if self.unpriced else self.known

    @property
    def note(self) -> str:
        """Why the amount is not (only) a model's cost, or "" when it is."""
        if self.unpriced:
            names = ", ".join(self.unpriced)
            has = "model {} has" if len(self.unpriced) == 1 else "models {} have"
            return f"cost unknown ({has.format(names)} no price)"
        if self.no_model:
            return f"{', '.join(self.no_model)} — no model called"
        return ""

    def __add__(self, other: CostShown) -> CostShown:
        return CostShown(
            known=self.known + other.known,
            unpriced=tuple(sorted({*self.unpriced, *other.unpriced})),
            no_model=tuple(sorted({*self.no_model, *other.no_model})),
        )

    def __str__(self) -> str:
        return cost_text(self)


def cost_text(cost: CostShown) -> str:
    """The one wording of money for builders: "$0.012500", "cost unknown (model x has no
    price)", "$0.012500 + cost unknown (...)", or "replay — no model called"."""
    if cost.unpriced:
        return f"${cost.known:.6f} + {cost.note}" if cost.known else cost.note
    if cost.no_model and not cost.known:
        return cost.note
    return f"${cost.known:.6f}"


def run_cost_shown(run: AgentRun) -> CostShown:
    """The run's cost as builders see it."""
    context = run.context or {}
    if context.get(COST_NOTE_KEY):
        # Runs recorded before the model was kept beside the note: their last model.
        model = str(context.get(UNPRICED_MODEL_KEY) or run.model or "?")
        return CostShown(known=run.cost, unpriced=(model,))
    if context.get(NO_MODEL_KEY):
        return CostShown(known=run.cost, no_model=(str(context[NO_MODEL_KEY]),))
    return CostShown(known=run.cost)


def turn_cost_shown(turn: AgentTurn) -> CostShown:
    """One turn's cost: a turn that recorded $0 in an unpriced or replayed run shares the
    run's reason; any other turn's cost is known."""
    run = run_cost_shown(turn.run)
    if turn.cost or not (run.unpriced or run.no_model):
        return CostShown(known=turn.cost)
    return CostShown(unpriced=run.unpriced, no_model=run.no_model)


def runs_cost_shown(runs: Iterable[AgentRun]) -> CostShown:
    """The cost of several runs together (a request, an eval try)."""
    return sum((run_cost_shown(run) for run in runs), CostShown())
