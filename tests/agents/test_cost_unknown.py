"""Models without a known price: their cost is unknown (recorded as $0 with a note) and the
money budget does not apply to them, while a priced model still stops on it. What builders
are shown: "cost unknown (model X has no price)", never $0; a priced model's exact cost;
"replay — no model called" (or scripted) when no model answered."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factory.agents.budgets import (
    AgentBudget,
    CostShown,
    cost_text,
    run_cost_note,
    run_cost_shown,
    turn_cost_shown,
)
from factory.agents.services import agent_run_create, agent_run_execute, agent_run_replay
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
        "so its cost is not counted and the money budget does not apply. Add it to "
        "FACTORY_LLM_PRICES (0 for a free local model) to count its cost."
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


# What builders are shown: one wording for every display (console, eval, API) -------------


def test_an_unpriced_run_and_its_turns_show_cost_unknown_never_0(small_spec):
    run = default_budget_run(small_spec)
    provider = ScriptedProvider(script(), model="mystery-model", billable=True)

    run = agent_run_execute(run_id=run.pk, provider=provider, prices=PRICES)

    shown = run_cost_shown(run)
    assert (shown.amount, shown.note) == (None, "cost unknown (model mystery-model has no price)")
    assert str(shown) == "cost unknown (model mystery-model has no price)"
    assert [str(turn_cost_shown(turn)) for turn in run.turns.order_by("index")] == [
        "cost unknown (model mystery-model has no price)"
    ] * 3


def test_a_priced_run_and_its_turns_show_their_exact_cost(small_spec):
    run = default_budget_run(small_spec)
    light = Usage(input_tokens=1_000, output_tokens=500)  # $0.0005 + $0.0010 per turn
    provider = ScriptedProvider(
        [scripted_turn(FINISH, usage=light)], model="gpt-5-mini", billable=True
    )

    run = agent_run_execute(run_id=run.pk, provider=provider, prices=PRICES)

    shown = run_cost_shown(run)
    assert (shown.amount, shown.note, str(shown)) == (Decimal("0.001500"), "", "$0.001500")
    assert [str(turn_cost_shown(turn)) for turn in run.turns.all()] == ["$0.001500"]


def test_scripted_and_replayed_runs_say_no_model_was_called(small_spec):
    run = default_budget_run(small_spec)
    scripted = agent_run_execute(
        run_id=run.pk, provider=ScriptedProvider(script(), model="gpt-5-mini"), prices=PRICES
    )

    replayed = agent_run_replay(run_id=scripted.pk)

    assert replayed.status == "finished"
    assert [
        (str(run_cost_shown(item)), run_cost_shown(item).amount) for item in (scripted, replayed)
    ] == [
        ("scripted — no model called", Decimal(0)),
        ("replay — no model called", Decimal(0)),
    ]
    assert {str(turn_cost_shown(turn)) for turn in replayed.turns.all()} == {
        "replay — no model called"
    }
    assert run_cost_note(replayed) == ""


def test_the_cost_of_several_runs_keeps_what_is_known_and_names_what_is_not():
    priced = CostShown(known=Decimal("0.001500"))
    unknown = CostShown(unpriced=("mystery-model",))
    local = CostShown(unpriced=("llama3.1:8b",))
    replay = CostShown(no_model=("replay",))

    assert cost_text(priced + replay) == "$0.001500"
    assert cost_text(replay + CostShown()) == "replay — no model called"
    assert cost_text(priced + unknown) == (
        "$0.001500 + cost unknown (model mystery-model has no price)"
    )
    total = unknown + replay + local + unknown
    assert (total.amount, cost_text(total)) == (
        None,
        "cost unknown (models llama3.1:8b, mystery-model have no price)",
    )
    assert cost_text(CostShown()) == "$0.000000"


def test_a_run_recorded_before_the_model_was_kept_names_its_last_model(small_spec):
    run = default_budget_run(small_spec)
    run.model = "old-model"
    run.context = {"cost_note": "Cost not known: no price is known for model 'old-model'."}

    assert str(run_cost_shown(run)) == "cost unknown (model old-model has no price)"
