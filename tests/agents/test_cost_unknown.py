"""Models without a known price: their cost is unknown (recorded as $0 with a note) and the
money budget does not apply to them, while a priced model still stops on it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factory.agents.budgets import AgentBudget, run_cost_note
from factory.agents.services import agent_run_create, agent_run_execute
from factory.llm.pricing import price_table
from factory.llm.scripted import ScriptedProvider, scripted_turn
from factory.llm.types import Usage

pytestmark = pytest.mark.django_db

FINISH = ("finish", {"summary": "Looked at the spec."})
# Priced at gpt-5-mini's rates, two of these turns cost $1.25 each: over the default $2.00.
HEAVY = Usage(input_tokens=500_000, output_tokens=500_000)
PRICES = price_table({"gpt-5-mini": {"input": "0.50", "output": "2.00"}})


class CompatibleServer(ScriptedProvider):
    """A scripted stand-in for a model on an OpenAI-compatible server (Ollama...)."""

    name = "openai_compatible"


def default_budget_run(spec):
    budget = AgentBudget(max_input_tokens=10_000_000, max_output_tokens=10_000_000)
    assert budget.max_cost == Decimal("2.00")
    return agent_run_create(
        role="data_model",
        task="Look at the spec.",
        spec=spec,
        prompt_context={"request": "We sell software.", "requirements": "R1."},
        budget=budget,
    )


def script():
    return [
        scripted_turn(("spec_summary", {}), usage=HEAVY),
        scripted_turn(("spec_summary", {}), usage=HEAVY),
        scripted_turn(FINISH, usage=HEAVY),
    ]


def test_an_unpriced_model_on_a_compatible_server_finishes_under_the_default_budget(small_spec):
    run = default_budget_run(small_spec)
    provider = CompatibleServer(script(), model="llama3.1:8b", billable=True)

    run = agent_run_execute(run_id=run.pk, provider=provider, prices=PRICES)

    assert (run.status, run.turns_count, run.cost) == ("finished", 3, Decimal(0))
    assert (run.input_tokens, run.output_tokens) == (1_500_000, 1_500_000)
    assert run_cost_note(run) == (
        "Cost not known: model 'llama3.1:8b' on the OpenAI-compatible server has no price, "
        "so it counts as free ($0) and the money budget does not apply. Add it to "
        "FACTORY_LLM_PRICES to count its cost."
    )


def test_an_unpriced_model_of_a_paid_provider_runs_with_its_cost_unknown(small_spec):
    run = default_budget_run(small_spec)
    provider = ScriptedProvider(script(), model="mystery-model", billable=True)

    run = agent_run_execute(run_id=run.pk, provider=provider, prices=PRICES)

    assert (run.status, run.turns_count, run.cost) == ("finished", 3, Decimal(0))
    assert run_cost_note(run).startswith("Cost not known: no price is known for model")


def test_the_token_budget_still_stops_an_unpriced_model(small_spec):
    run = agent_run_create(
        role="data_model",
        task="Look at the spec.",
        spec=small_spec,
        prompt_context={"request": "We sell software.", "requirements": "R1."},
        budget=AgentBudget(max_input_tokens=600_000, max_output_tokens=10_000_000),
    )
    provider = CompatibleServer(script(), model="llama3.1:8b", billable=True)

    run = agent_run_execute(run_id=run.pk, provider=provider, prices={})

    assert (run.status, run.turns_count, run.cost) == ("budget", 2, Decimal(0))
    assert run.status_message.startswith("Stopped: the run used 1,000,000 input tokens")


def test_a_priced_model_on_a_compatible_server_still_stops_on_the_money_budget(small_spec):
    run = default_budget_run(small_spec)
    provider = CompatibleServer(script(), model="gpt-5-mini", billable=True)

    run = agent_run_execute(run_id=run.pk, provider=provider, prices=PRICES)

    assert (run.status, run.turns_count, run.cost) == ("budget", 2, Decimal("2.500000"))
    assert run.status_message.startswith("Stopped: the run cost $2.5000, over its budget of $2.00.")
    assert run_cost_note(run) == ""
