"""Scripted, recording and replay providers; schemas, prices and the offline tokenizer."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from factory.llm.errors import ReplayMissError, ScriptExhaustedError, StructuredOutputError
from factory.llm.pricing import ModelPrice, price_for, price_table, usage_cost
from factory.llm.recording import RecordingProvider, ReplayProvider
from factory.llm.schema import SchemaError, model_schema
from factory.llm.scripted import ScriptedProvider, malformed_call, scripted_turn
from factory.llm.tokens import TiktokenCounter
from factory.llm.types import Message, StopReason, ToolCall, Usage
from tests.llm.test_openai_responses import TOOL, Verdict

OPENING = [Message.system("You edit specs."), Message.user("Add a status field.")]


def test_scripted_turns_are_labelled_and_numbered_by_conversation():
    provider = ScriptedProvider(
        [scripted_turn(("field_add", {"entity": "company"}), ("spec_summary", {}), text="Go.")]
    )
    second_turn = [*OPENING, Message.assistant("earlier"), Message.user("and now")]

    result = provider.run_turn(messages=second_turn, tools=[TOOL])

    assert result.provider == "scripted"
    assert result.model == "scripted"
    assert [call.id for call in result.tool_calls] == ["call_2_1", "call_2_2"]
    assert result.stop_reason == StopReason.TOOL_USE
    assert provider.requests == [{"kind": "turn", "messages": second_turn, "tools": [TOOL]}]
    assert provider.remaining == 0


def test_scripted_provider_refuses_to_run_past_its_script():
    provider = ScriptedProvider([scripted_turn(text="Only one.")])
    provider.run_turn(messages=OPENING, tools=[])

    with pytest.raises(ScriptExhaustedError, match="The script has 1 entries and all were played"):
        provider.run_turn(messages=OPENING, tools=[])


def test_scripted_structured_answers_are_validated():
    provider = ScriptedProvider([{"verdict": "pass", "score": 3}, {"verdict": "nope", "score": 3}])

    assert provider.structured(messages=OPENING, output_type=Verdict).value == Verdict(
        verdict="pass", score=3
    )
    with pytest.raises(StructuredOutputError, match="not a valid Verdict: verdict: "):
        provider.structured(messages=OPENING, output_type=Verdict)


def test_scripted_usage_counted_with_a_token_counter():
    counter = TiktokenCounter()
    provider = ScriptedProvider(
        [scripted_turn(("field_add", {"entity": "company"}))], token_counter=counter
    )

    result = provider.run_turn(messages=OPENING, tools=[TOOL])

    # cl100k_base counts of the two messages plus the tool's schema, and of the one call.
    assert result.usage == Usage(input_tokens=60, output_tokens=14)
    assert result.usage.input_tokens == counter.count_request(OPENING, [TOOL])
    assert result.usage.output_tokens == counter.count_response("", result.tool_calls)


def test_offline_tokenizer_counts_with_a_real_vocabulary():
    counter = TiktokenCounter()

    # cl100k_base splits this into exactly these tokens; a toy tokenizer would not.
    assert counter.count_text("hello world") == 2
    assert counter.count_text("recruitment CRM") == 3


def test_recording_then_replay_gives_the_same_answers(tmp_path):
    path = tmp_path / "run.jsonl"
    live = ScriptedProvider(
        [
            scripted_turn(("field_add", {"entity": "company"}), usage=Usage(input_tokens=10)),
            {"verdict": "pass", "score": 1},
        ]
    )
    recorder = RecordingProvider(live, path)
    turn = recorder.run_turn(messages=OPENING, tools=[TOOL])
    answer = recorder.structured(messages=OPENING, output_type=Verdict)

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["turn", "structured"]
    assert lines[0]["provider"] == "scripted"
    assert lines[0]["request"]["tools"][0]["name"] == "field_add"

    replay = ReplayProvider.from_path(path)
    replayed_turn = replay.run_turn(messages=OPENING, tools=[TOOL])
    replayed_answer = replay.structured(messages=OPENING, output_type=Verdict)

    assert replayed_turn.provider == "replay"
    assert replayed_turn.model_copy(update={"provider": "scripted"}) == turn
    assert replayed_answer.value == answer.value
    assert replayed_answer.provider == "replay"
    assert replay.billable is False


def test_replay_fails_loudly_on_a_request_never_recorded(tmp_path):
    path = tmp_path / "run.jsonl"
    RecordingProvider(ScriptedProvider([scripted_turn(text="ok")]), path).run_turn(
        messages=OPENING, tools=[TOOL]
    )
    replay = ReplayProvider.from_path(path)

    changed = [Message.system("You edit specs."), Message.user("Add a stage.")]
    with pytest.raises(ReplayMissError, match=r"No answer in .*run\.jsonl for this turn request"):
        replay.run_turn(messages=changed, tools=[TOOL])
    # Same messages, other tools: a miss too.
    with pytest.raises(ReplayMissError):
        replay.run_turn(messages=OPENING, tools=[])
    # The recorded answer is used once: asking the same again is a miss.
    replay.run_turn(messages=OPENING, tools=[TOOL])
    with pytest.raises(ReplayMissError):
        replay.run_turn(messages=OPENING, tools=[TOOL])


def test_replay_without_a_recording_says_so(tmp_path):
    with pytest.raises(ReplayMissError, match="There is no recording at"):
        ReplayProvider.from_path(tmp_path / "missing.jsonl")


def test_malformed_call_helper_carries_the_error():
    call = malformed_call("field_add", "{oops")

    assert call == ToolCall(
        id="", name="field_add", arguments_error="the arguments are not valid JSON: {oops"
    )


def test_model_schema_inlines_references_and_drops_titles():
    from factory.agents.tools.arguments import FieldAddArgs

    schema = model_schema(FieldAddArgs)
    text = json.dumps(schema)

    assert "$ref" not in text
    assert "$defs" not in text
    assert '"title"' not in text
    assert schema["properties"]["field"]["properties"]["type"]["enum"][0] == "text"


def test_recursive_schemas_are_refused():
    from pydantic import BaseModel

    class Node(BaseModel):
        children: list[Node] = []

    with pytest.raises(SchemaError, match="Node refers to itself"):
        model_schema(Node)


def test_cost_uses_the_price_table_with_cached_input():
    table = price_table(
        {"gpt-5-mini": {"input": "0.25", "output": "2.00", "cached_input": "0.025"}, "m": [1, 2]}
    )
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, cached_input_tokens=400_000)

    assert price_for("gpt-5-mini-2025-08-07", table) == table["gpt-5-mini"]
    assert price_for("unknown", table) is None
    # 600k at 0.25 + 400k at 0.025 + 500k at 2.00, per million.
    assert usage_cost(usage, table["gpt-5-mini"]) == Decimal("1.160000")
    assert usage_cost(Usage(input_tokens=10), table["m"]) == Decimal("0.000010")
    assert table["m"] == ModelPrice(Decimal(1), Decimal(2))
