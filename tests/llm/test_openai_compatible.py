"""Contract tests of the OpenAI-compatible adapter (Chat Completions through base_url)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from factory.llm.errors import ProviderRequestError, StructuredOutputError
from factory.llm.openai_compatible import OpenAICompatibleProvider
from factory.llm.types import StopReason, ToolCall, Usage
from tests.llm.test_openai_responses import CONVERSATION, TOOL, Verdict

BASE_URL = "http://127.0.0.1:11434/v1"


def completion(
    *,
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    refusal: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "qwen2.5:14b",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": refusal,
                    "tool_calls": tool_calls,
                },
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


@pytest.fixture
def provider(vendor, no_wait) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        model="qwen2.5:14b", base_url=BASE_URL, http_client=vendor.http_client(), **no_wait
    )


def test_tool_call_round_trip(vendor, provider):
    vendor.reply(
        body=completion(
            content="Fixing the name.",
            tool_calls=[
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {
                        "name": "field_add",
                        "arguments": '{"entity": "company", "name": "status"}',
                    },
                }
            ],
            finish_reason="tool_calls",
            usage={"prompt_tokens": 800, "completion_tokens": 20, "total_tokens": 820},
        )
    )

    result = provider.run_turn(messages=CONVERSATION, tools=[TOOL])

    request = vendor.requests[0]
    assert str(request.url) == f"{BASE_URL}/chat/completions"
    assert vendor.body() == {
        "model": "qwen2.5:14b",
        "max_tokens": 4096,
        "messages": [
            {"role": "system", "content": "You edit specs."},
            {"role": "user", "content": "Add a status field to company."},
            {
                "role": "assistant",
                "content": "Adding it.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "field_add",
                            "arguments": '{"entity": "company", "name": "x"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Invalid name 'x'."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "field_add",
                    "description": "Add a field.",
                    "parameters": TOOL.parameters,
                },
            }
        ],
    }
    assert result.tool_calls == (
        ToolCall(id="call_2", name="field_add", arguments={"entity": "company", "name": "status"}),
    )
    assert result.stop_reason == StopReason.TOOL_USE
    assert result.usage == Usage(input_tokens=800, output_tokens=20)
    assert result.provider == "openai_compatible"


def test_missing_usage_counts_as_zero(vendor, provider):
    vendor.reply(body=completion(content="Done."))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert result.usage == Usage()
    assert result.stop_reason == StopReason.END_TURN


def test_tool_calls_with_a_stop_finish_reason_are_still_tool_use(vendor, provider):
    vendor.reply(
        body=completion(
            tool_calls=[
                {
                    "id": "c",
                    "type": "function",
                    "function": {"name": "spec_summary", "arguments": ""},
                }
            ],
            finish_reason="stop",
        )
    )

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL])

    assert result.stop_reason == StopReason.TOOL_USE
    assert result.tool_calls == (ToolCall(id="c", name="spec_summary", arguments={}),)


def test_structured_output_is_validated_on_our_side(vendor, provider):
    vendor.reply(body=completion(content='```json\n{"verdict": "pass", "score": 7}\n```'))

    result = provider.structured(messages=CONVERSATION[:2], output_type=Verdict)

    assert result.value == Verdict(verdict="pass", score=7)
    body = vendor.body()
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Verdict"
    system = body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You edit specs.\n\nAnswer with only a JSON object")
    assert (
        json.dumps(body["response_format"]["json_schema"]["schema"], separators=(",", ":"))
        in (system["content"])
    )


def test_structured_output_gets_one_repair_try(vendor, provider):
    vendor.reply(body=completion(content="Sure! The verdict is pass."))
    vendor.reply(body=completion(content='{"verdict": "pass", "score": 8}'))

    result = provider.structured(messages=CONVERSATION[:2], output_type=Verdict)

    assert result.value == Verdict(verdict="pass", score=8)
    assert result.repaired is True
    repair = vendor.body(1)["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! The verdict is pass."}
    assert repair[-1]["role"] == "user"
    assert repair[-1]["content"].startswith(
        "Your answer could not be used: the answer is not valid JSON"
    )


def test_structured_output_fails_loudly_after_the_repair_try(vendor, provider):
    vendor.reply(body=completion(content='{"verdict": "pass"}'))
    vendor.reply(body=completion(content='{"verdict": "pass"}'))

    with pytest.raises(StructuredOutputError) as raised:
        provider.structured(messages=CONVERSATION[:2], output_type=Verdict)

    assert raised.value.problems == ["score: Field required"]
    assert len(vendor.requests) == 2


def test_rate_limit_then_success(vendor, provider, sleeps):
    vendor.reply(429, {"error": {"message": "busy"}})
    vendor.reply(body=completion(content="Done."))

    assert provider.run_turn(messages=CONVERSATION[:2], tools=[]).text == "Done."
    assert len(vendor.requests) == 2
    assert sleeps == [1.0]


def test_connection_refused_is_retried(vendor, provider, sleeps):
    vendor.fail_connection()
    vendor.reply(body=completion(content="Done."))

    assert provider.run_turn(messages=CONVERSATION[:2], tools=[]).text == "Done."
    assert sleeps == [1.0]


def test_bad_request_is_not_retried(vendor, provider, sleeps):
    vendor.reply(400, {"error": {"message": "model 'qwen2.5:14b' not found"}})

    with pytest.raises(ProviderRequestError, match="not found"):
        provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert len(vendor.requests) == 1
    assert sleeps == []


def test_refusal_and_length_map_to_stop_reasons(vendor, provider):
    vendor.reply(body=completion(refusal="I won't do that."))
    vendor.reply(body=completion(content="Half an ans", finish_reason="length"))

    refused = provider.run_turn(messages=CONVERSATION[:2], tools=[])
    cut = provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert (refused.stop_reason, refused.refusal) == (StopReason.REFUSAL, "I won't do that.")
    assert cut.stop_reason == StopReason.MAX_TOKENS
