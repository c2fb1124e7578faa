"""Runs: what is frozen at creation, usage by role, and the Celery task."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factory.agents.models import AgentRun
from factory.agents.selectors import agent_runs_for, agent_runs_usage_by_role
from factory.agents.services import agent_run_create, agent_run_execute
from factory.agents.tasks import agent_run_execute_task
from factory.llm.scripted import ScriptedProvider, scripted_turn
from factory.llm.types import Usage

pytestmark = pytest.mark.django_db


def test_a_run_freezes_its_inputs(small_spec, budget):
    run = agent_run_create(
        role="screens",
        task="Tidy the lists.",
        spec=small_spec,
        prompt_context={"request": "r", "requirements": "R1. x"},
        budget=budget,
        context={"build": 7},
    )

    assert run.status == "pending"
    assert run.tools == [
        "spec_summary",
        "spec_entity",
        "spec_read",
        "entity_update",
        "admin_options_update",
    ]
    assert run.spec_before == run.spec_current == small_spec.to_jsonable()
    assert (run.max_turns, run.max_input_tokens, run.max_output_tokens, run.max_cost) == (
        10,
        100_000,
        10_000,
        None,
    )
    assert "- company (Company): name:text*, budget:decimal" in run.system_prompt
    assert list(agent_runs_for(context_key="build", value=7)) == [run]


def test_budgets_come_from_settings_by_default(settings, small_spec):
    settings.FACTORY_AGENT_MAX_TURNS = 12
    settings.FACTORY_AGENT_MAX_COST_USD = "0.50"

    run = agent_run_create(
        role="qa",
        task="Check.",
        spec=small_spec,
        prompt_context={"request": "r", "requirements": "R1. x", "changes": "-"},
    )

    assert run.max_turns == 12
    assert run.max_cost == Decimal("0.50")


def test_an_unknown_role_is_refused(small_spec):
    with pytest.raises(
        ValueError, match="'sales' is not an agent role; roles are analyst, architect"
    ):
        agent_run_create(role="sales", task="x", spec=small_spec)
    assert AgentRun.objects.count() == 0


def test_usage_by_role(small_spec, budget):
    runs = []
    for role, tokens in (("screens", 100), ("screens", 50), ("api_roles", 10)):
        run = agent_run_create(
            role=role,
            task="t",
            spec=small_spec,
            prompt_context={"request": "r", "requirements": "R1. x"},
            budget=budget,
        )
        provider = ScriptedProvider(
            [
                scripted_turn(
                    ("finish", {"summary": "Done."}),
                    usage=Usage(input_tokens=tokens, output_tokens=1),
                )
            ]
        )
        runs.append(agent_run_execute(run_id=run.pk, provider=provider, prices={}))

    usage = agent_runs_usage_by_role(runs=runs)

    assert usage == {
        "screens": {
            "runs": 2,
            "turns": 2,
            "input_tokens": 150,
            "output_tokens": 2,
            "cost": Decimal(0),
        },
        "api_roles": {
            "runs": 1,
            "turns": 1,
            "input_tokens": 10,
            "output_tokens": 1,
            "cost": Decimal(0),
        },
    }


def test_the_celery_task_runs_with_the_configured_provider(settings, small_spec, budget, tmp_path):
    from factory.llm.recording import RecordingProvider

    recorded = agent_run_create(
        role="screens",
        task="t",
        spec=small_spec,
        prompt_context={"request": "r", "requirements": "R1. x"},
        budget=budget,
    )
    path = tmp_path / "rec.jsonl"
    agent_run_execute(
        run_id=recorded.pk,
        provider=RecordingProvider(
            ScriptedProvider([scripted_turn(("finish", {"summary": "Done."}))]), path
        ),
        prices={},
    )
    settings.FACTORY_LLM_PROVIDER = "replay"
    settings.FACTORY_LLM_REPLAY_PATH = str(path)
    run = agent_run_create(
        role="screens",
        task="t",
        spec=small_spec,
        prompt_context={"request": "r", "requirements": "R1. x"},
        budget=budget,
    )

    status = agent_run_execute_task.delay(run.pk).get()

    run.refresh_from_db()
    assert status == "finished"
    assert run.provider == "replay"
    assert run.result == {"summary": "Done.", "open_points": []}
