"""The agent loop with a scripted provider: repairs, stops, persistence, resume and replay."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from factory.agents.budgets import AgentBudget
from factory.agents.harness import AgentHarness
from factory.agents.models import AgentRun, AgentTurn
from factory.agents.selectors import agent_run_conversation, agent_run_spec
from factory.agents.services import agent_run_create, agent_run_execute, agent_run_replay
from factory.llm.errors import ProviderTransientError, ReplayMissError
from factory.llm.pricing import price_table
from factory.llm.recording import RecordingProvider, ReplayProvider
from factory.llm.scripted import ScriptedProvider, malformed_call, scripted_turn
from factory.llm.types import Message, StopReason, Usage

pytestmark = pytest.mark.django_db

GOOD_FIELD = {"id": "company_website", "name": "website", "label": "Website", "type": "url"}
BAD_FIELD = {**GOOD_FIELD, "name": "Website"}
FINISH = ("finish", {"summary": "Added the website field."})


def create_run(spec, budget, *, role="data_model", task="Add a website field to company."):
    return agent_run_create(
        role=role,
        task=task,
        spec=spec,
        prompt_context={
            "request": "We sell software.",
            "requirements": "R1. Companies have a website.",
        },
        budget=budget,
    )


def execute(run, script, **options):
    provider = options.pop("provider", None) or ScriptedProvider(script, **options)
    return agent_run_execute(
        run_id=run.pk, provider=provider, prices=options.get("prices", {})
    ), provider


def turns(run):
    return list(AgentTurn.objects.filter(run=run).order_by("index"))


def test_a_tool_error_goes_back_to_the_model_which_repairs_it(small_spec, budget):
    run = create_run(small_spec, budget)

    run, provider = execute(
        run,
        [
            scripted_turn(("field_add", {"entity": "company", "field": BAD_FIELD})),
            scripted_turn(("field_add", {"entity": "company", "field": GOOD_FIELD})),
            scripted_turn(FINISH),
        ],
    )

    assert run.status == "finished"
    assert run.status_message == "Finished in 3 turns."
    assert run.result == {"summary": "Added the website field.", "open_points": []}
    first, second, third = turns(run)
    assert first.replies == [
        {
            "role": "tool",
            "content": "Invalid arguments for field_add: field.name: 'Website' is not a valid name "
            "or id: use lowercase ASCII letters, digits and underscores, starting with a letter "
            "(at most 63 characters), for example 'website'.",
            "tool_calls": [],
            "tool_call_id": "call_1_1",
            "tool_name": "field_add",
            "is_error": True,
        }
    ]
    assert first.operations == []
    assert first.malformed is False
    # The model saw its error before it tried again.
    assert provider.requests[1]["messages"][-1] == Message.model_validate(first.replies[0])
    assert [op["tool"] for op in second.operations] == ["field_add"]
    assert third.replies[0]["content"] == "Report received. Finished."
    assert [op["tool"] for op in run.patch] == ["field_add"]
    assert [f.name for f in agent_run_spec(run=run).entity("company").fields] == [
        "name",
        "budget",
        "website",
    ]
    assert {turn.provider for turn in turns(run)} == {"scripted"}


def test_what_the_model_is_sent(small_spec, budget):
    run = create_run(small_spec, budget)

    _, provider = execute(run, [scripted_turn(FINISH)])

    request = provider.requests[0]
    system, user = request["messages"]
    assert system.role == "system"
    assert "# Role: data model specialist" in system.content
    assert "- company (Company): name:text*, budget:decimal" in system.content
    assert "R1. Companies have a website." in system.content
    assert user == Message.user("Add a website field to company.")
    assert [tool.name for tool in request["tools"]] == [
        "spec_summary",
        "spec_entity",
        "spec_read",
        "entity_add",
        "entity_update",
        "entity_rename",
        "entity_remove",
        "field_add",
        "field_update",
        "field_rename",
        "field_remove",
        "choice_list_add",
        "choice_list_update",
        "choice_list_rename",
        "choice_list_remove",
        "finish",
    ]
    assert run.prompt_name == "data_model"
    assert len(run.prompt_version) == 12


def test_budget_stop_on_input_tokens(small_spec):
    run = create_run(small_spec, AgentBudget(max_turns=10, max_input_tokens=1000, max_cost=None))
    read = scripted_turn(("spec_summary", {}), usage=Usage(input_tokens=600, output_tokens=10))

    run, provider = execute(
        run,
        [
            read,
            scripted_turn(("spec_entity", {"entity": "company"}), usage=Usage(input_tokens=600)),
            read,
        ],
    )

    assert run.status == "budget"
    assert run.status_message == (
        "Stopped: the run used 1,200 input tokens, over its budget of 1,000. Split the task, "
        "or raise FACTORY_AGENT_MAX_INPUT_TOKENS."
    )
    assert run.turns_count == 2
    assert AgentTurn.objects.filter(run=run).count() == 2
    assert provider.remaining == 1
    assert run.finished_at is not None


def test_budget_stop_on_money(small_spec):
    run = create_run(small_spec, AgentBudget(max_turns=10, max_cost=Decimal("0.01")))
    prices = price_table({"gpt-5-mini": {"input": "0.25", "output": "2.00"}})
    turn = scripted_turn(
        ("spec_summary", {}), usage=Usage(input_tokens=20_000, output_tokens=1_000)
    )

    provider = ScriptedProvider([turn, turn, turn], model="gpt-5-mini", billable=True)
    run, _ = execute(run, None, provider=provider, prices=prices)

    assert run.status == "budget"
    assert run.turns_count == 2
    assert run.cost == Decimal("0.014000")
    assert [t.cost for t in turns(run)] == [Decimal("0.007000"), Decimal("0.007000")]
    assert run.status_message.startswith("Stopped: the run cost $0.0140, over its budget of $0.01.")


def test_an_unpriced_model_runs_with_its_cost_unknown(small_spec):
    run = create_run(small_spec, AgentBudget(max_cost=Decimal("1")))
    provider = ScriptedProvider([scripted_turn(FINISH)], model="mystery-model", billable=True)

    run, _ = execute(run, None, provider=provider, prices={})

    assert (run.status, run.turns_count, run.cost) == ("finished", 1, Decimal(0))
    assert run.context["cost_note"].startswith("Cost not known: no price is known for model")


def test_max_turns_stop(small_spec):
    run = create_run(small_spec, AgentBudget(max_turns=2, max_cost=None))

    run, provider = execute(
        run,
        [
            scripted_turn(("spec_summary", {})),
            scripted_turn(("spec_entity", {"entity": "company"})),
            scripted_turn(FINISH),
        ],
    )

    assert run.status == "max_turns"
    assert run.status_message == (
        "Stopped after 2 turns, the run's limit, before the task was finished. Split the task, "
        "or raise FACTORY_AGENT_MAX_TURNS."
    )
    assert run.turns_count == 2
    assert provider.remaining == 1


def test_stuck_on_the_same_call_repeated(small_spec, budget):
    run = create_run(small_spec, budget)
    same = scripted_turn(("spec_read", {"path": "entities/deal"}))

    run, provider = execute(run, [same, same, same, same, same])

    assert run.status == "stuck"
    assert run.status_message == (
        "Stopped: the model made the same call (spec_read) 3 turns in a row without progress."
    )
    assert run.turns_count == 3
    assert provider.remaining == 2


def test_stuck_after_three_malformed_answers(small_spec, budget):
    run = create_run(small_spec, budget)

    run, _ = execute(
        run,
        [
            scripted_turn(text="I will add the field now."),
            scripted_turn(malformed_call("field_add", '{"entity": "comp')),
            scripted_turn(("shell", {"command": "ls"})),
            scripted_turn(FINISH),
        ],
    )

    assert run.status == "stuck"
    assert run.status_message == (
        "Stopped: the model's last 3 answers were malformed (no tool call, unreadable arguments "
        "or unknown tools). Check the prompt and the model."
    )
    first, second, third = turns(run)
    assert [turn.malformed for turn in (first, second, third)] == [True, True, True]
    assert [(r["role"], r["is_error"], r["content"]) for r in first.replies] == [
        (
            "user",
            False,
            "You answered without calling a tool. You act only through the tools: make the next "
            "change, or call finish with your report when the task is done.",
        )
    ]
    assert [(r["tool_call_id"], r["is_error"], r["content"]) for r in second.replies] == [
        (
            "call_2_1",
            True,
            'Your call to field_add could not be read: the arguments are not valid JSON: {"entity":'
            " \"comp. Send the arguments as one JSON object that follows the tool's schema.",
        )
    ]
    assert [(r["tool_call_id"], r["is_error"], r["content"]) for r in third.replies] == [
        (
            "call_3_1",
            True,
            "There is no tool 'shell' here. Your tools: spec_summary, spec_entity, spec_read, "
            "entity_add, entity_update, entity_rename, entity_remove, field_add, field_update, "
            "field_rename, field_remove, choice_list_add, choice_list_update, choice_list_rename, "
            "choice_list_remove, finish.",
        )
    ]
    assert run.patch == []
    assert agent_run_spec(run=run) == small_spec


def test_malformed_streak_is_broken_by_a_good_turn(small_spec, budget):
    run = create_run(small_spec, budget)
    chatter = scripted_turn(text="Thinking...")

    run, _ = execute(
        run,
        [
            chatter,
            chatter,
            scripted_turn(("spec_summary", {})),
            chatter,
            chatter,
            scripted_turn(FINISH),
        ],
    )

    assert run.status == "finished"
    assert run.turns_count == 6


def test_finish_with_an_invalid_report_can_be_fixed(small_spec, budget):
    run = create_run(small_spec, budget)

    run, _ = execute(run, [scripted_turn(("finish", {"summary": ""})), scripted_turn(FINISH)])

    assert run.status == "finished"
    first = turns(run)[0]
    assert [(r["is_error"], r["content"]) for r in first.replies] == [
        (
            True,
            "The report is invalid: summary: String should have at least 3 characters. Call "
            "finish again with a corrected report.",
        )
    ]
    assert run.result == {"summary": "Added the website field.", "open_points": []}


def test_finish_is_refused_when_another_call_of_the_turn_failed(small_spec, budget):
    run = create_run(small_spec, budget)

    run, _ = execute(
        run,
        [
            scripted_turn(("field_add", {"entity": "company", "field": BAD_FIELD}), FINISH),
            scripted_turn(("field_add", {"entity": "company", "field": GOOD_FIELD}), FINISH),
        ],
    )

    first, second = turns(run)
    assert first.replies[1]["content"] == (
        "Not finished: 1 other call(s) in this turn failed. Fix them, then call finish again."
    )
    assert run.status == "finished"
    assert [op["tool"] for op in second.operations] == ["field_add"]


def test_a_destructive_edit_stays_pending_and_the_run_records_it(small_spec, budget):
    run = create_run(small_spec, budget, task="Tidy the company entity.")

    run, _ = execute(
        run,
        [
            scripted_turn(("field_remove", {"entity": "company", "field": "budget"})),
            scripted_turn(FINISH),
        ],
    )

    assert run.status == "finished"
    assert run.patch == []
    assert run.pending == [
        {
            "tool": "field_remove",
            "arguments": {"entity": "company", "field": "budget"},
            "destructive": "removes field company.budget and its stored values",
        }
    ]
    assert agent_run_spec(run=run) == small_spec


def test_a_refusal_stops_the_run(small_spec, budget):
    run = create_run(small_spec, budget)

    run, _ = execute(
        run,
        [
            scripted_turn(text="I can't help with that.", stop_reason=StopReason.REFUSAL),
            scripted_turn(FINISH),
        ],
    )

    assert run.status == "refused"
    assert (
        run.status_message
        == "The model refused: I can't help with that. Rephrase the task or check the request."
    )


def test_a_failed_provider_leaves_a_run_that_resumes(small_spec, budget):
    run = create_run(small_spec, budget)

    run, _ = execute(
        run,
        [
            scripted_turn(("field_add", {"entity": "company", "field": GOOD_FIELD})),
            ProviderTransientError("OpenAI answered 503: overloaded", status_code=503),
        ],
    )

    assert run.status == "failed"
    assert (
        run.status_message
        == "The model provider failed: OpenAI answered 503: overloaded The run can be resumed."
    )
    assert run.turns_count == 1

    run, provider = execute(run, [scripted_turn(FINISH)])

    assert run.status == "finished"
    assert [turn.index for turn in turns(run)] == [0, 1]
    assert len(provider.requests[0]["messages"]) == 4  # system, task, turn 0, its tool result
    assert [op["tool"] for op in run.patch] == ["field_add"]


class SimulatedCrash(BaseException):
    """Not an Exception: like a killed process, nothing in the harness catches it."""


def crash(messages, tools):
    raise SimulatedCrash


SCRIPT = [
    scripted_turn(("field_add", {"entity": "company", "field": BAD_FIELD})),
    scripted_turn(("field_add", {"entity": "company", "field": GOOD_FIELD})),
    scripted_turn(
        ("field_update", {"entity": "company", "field": "website", "help_text": "Home page"})
    ),
    scripted_turn(FINISH),
]


def test_a_run_that_dies_resumes_from_its_last_turn(small_spec, budget):
    reference = create_run(small_spec, budget)
    reference, reference_provider = execute(reference, SCRIPT)
    run = create_run(small_spec, budget)

    with pytest.raises(SimulatedCrash):
        execute(run, [*SCRIPT[:2], crash])

    run.refresh_from_db()
    assert (run.status, run.turns_count) == ("running", 2)
    resumed, provider = execute(run, SCRIPT[2:])

    assert resumed.status == "finished"
    assert [turn.index for turn in turns(resumed)] == [0, 1, 2, 3]
    # The resumed run sent the model exactly what the uninterrupted one did.
    assert provider.requests[0]["messages"] == reference_provider.requests[2]["messages"]
    assert resumed.patch == reference.patch
    assert resumed.spec_current == reference.spec_current


def test_a_new_harness_on_a_persisted_run_continues_it(small_spec, budget):
    run = create_run(small_spec, budget)
    with pytest.raises(SimulatedCrash):
        execute(run, [SCRIPT[1], crash])

    fresh = AgentRun.objects.get(pk=run.pk)
    provider = ScriptedProvider([SCRIPT[3]])
    result = AgentHarness(run=fresh, provider=provider).execute()

    assert result.status == "finished"
    assert agent_run_conversation(run=result)[:4] == provider.requests[0]["messages"]


def test_executing_a_finished_run_does_nothing(small_spec, budget):
    run = create_run(small_spec, budget)
    run, _ = execute(run, [scripted_turn(FINISH)])

    again, provider = execute(run, [scripted_turn(FINISH)])

    assert again.status == "finished"
    assert provider.requests == []
    assert AgentTurn.objects.filter(run=run).count() == 1


def test_replay_of_a_recorded_run_gives_the_same_patch(small_spec, budget, tmp_path):
    path = tmp_path / "run.jsonl"
    recorded = create_run(small_spec, budget)
    recorded, _ = execute(
        recorded, None, provider=RecordingProvider(ScriptedProvider(SCRIPT), path)
    )

    replayed = create_run(small_spec, budget)
    replayed, _ = execute(replayed, None, provider=ReplayProvider.from_path(path))

    assert replayed.status == "finished"
    assert replayed.patch == recorded.patch
    assert replayed.spec_current == recorded.spec_current
    assert replayed.result == recorded.result
    assert {turn.provider for turn in turns(replayed)} == {"replay"}
    assert len(path.read_text().splitlines()) == 4


def test_any_persisted_run_replays_from_the_database(small_spec, budget):
    original = create_run(small_spec, budget)
    original, _ = execute(original, SCRIPT)

    replay = agent_run_replay(run_id=original.pk)

    assert replay.pk != original.pk
    assert replay.replay_of_id == original.pk
    assert replay.status == "finished"
    assert replay.patch == original.patch
    assert replay.spec_current == original.spec_current
    assert {turn.provider for turn in turns(replay)} == {"replay"}
    assert [t.tool_calls for t in turns(replay)] == [t.tool_calls for t in turns(original)]


def test_replay_fails_loudly_when_the_run_goes_elsewhere(small_spec, budget, tmp_path):
    path = tmp_path / "run.jsonl"
    recorded = create_run(small_spec, budget)
    execute(recorded, None, provider=RecordingProvider(ScriptedProvider(SCRIPT), path))
    other = create_run(small_spec, budget, task="Add a phone field to company.")

    with pytest.raises(ReplayMissError, match="No answer in"):
        execute(other, None, provider=ReplayProvider.from_path(path))

    other.refresh_from_db()
    assert other.status == "failed"
    assert other.turns_count == 0


def test_the_analyst_answers_in_one_structured_turn(small_spec, budget):
    from factory.agents.scenarios.recruitment import ANALYST_REPORT

    run = agent_run_create(
        role="analyst",
        task="Analyse the request.",
        spec=small_spec,
        prompt_context={"request": "A CRM."},
        budget=budget,
    )

    run, provider = execute(run, [ANALYST_REPORT])

    assert run.status == "finished"
    assert run.result == ANALYST_REPORT.model_dump(mode="json")
    (turn,) = turns(run)
    assert json.loads(turn.text) == run.result
    assert turn.provider == "scripted"
    assert provider.requests[0]["kind"] == "structured"

    replay = agent_run_replay(run_id=run.pk)
    assert (replay.status, replay.result) == ("finished", run.result)


def test_an_analyst_answer_that_never_validates_stops_the_run(small_spec, budget):
    run = agent_run_create(
        role="analyst",
        task="Analyse.",
        spec=small_spec,
        prompt_context={"request": "A CRM."},
        budget=budget,
    )

    run, _ = execute(run, [{"summary": "x"}])

    assert run.status == "stuck"
    assert run.status_message == (
        "The model's answer could not be used: The scripted answer is not a valid AnalystReport: "
        "summary: String should have at least 3 characters; requirements: Field required"
    )
    assert run.turns_count == 0
    assert run.result is None


def test_a_turn_recorded_elsewhere_stops_this_process(small_spec, budget):
    run = create_run(small_spec, budget)

    def someone_else_records_first(messages, tools):
        AgentRun.objects.filter(pk=run.pk).update(turns_count=1)
        return scripted_turn(("spec_summary", {}))

    result, _ = execute(run, [someone_else_records_first])

    assert (result.status, result.turns_count) == ("running", 1)
    assert AgentTurn.objects.filter(run=run).count() == 0
    assert result.patch == []
